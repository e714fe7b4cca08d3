// Site-to-site: the LANs members share, as this appliance takes them in. A shared LAN that
// overlaps one of this appliance's own networks (two homes on 192.168.1.0/24, the usual case)
// or one another member already shares is not routed: it would hijack local traffic.

import { formatPrefix, networkOf, type Prefix } from '../dataplane/packet/addr.ts';
import type { Runner } from '../system/runner.ts';

/** True when the two networks share any address. */
export function overlaps(a: Prefix, b: Prefix): boolean {
  if (a.family !== b.family) return false;
  const bits = Math.min(a.bits, b.bits);
  return formatPrefix(networkOf({ ...a, bits })) === formatPrefix(networkOf({ ...b, bits }));
}

/** The offered networks that clash with nothing local or already taken, and those refused. */
export function acceptSubnets(offered: readonly Prefix[], local: readonly Prefix[], taken: readonly Prefix[]): { accepted: Prefix[]; refused: Prefix[] } {
  const accepted: Prefix[] = [];
  const refused: Prefix[] = [];
  for (const o of offered.map(networkOf)) {
    if (o.bits === 0 || [...local, ...taken, ...accepted].some((x) => overlaps(x, o))) refused.push(o);
    else accepted.push(o);
  }
  return { accepted, refused };
}

/** Kernel routes for members' shared LANs through the TUN, replacing the previous set. */
export function syncSubnetRoutes(run: Runner, tun: string, before: readonly Prefix[], after: readonly Prefix[]): void {
  const keep = new Set(after.map(formatPrefix));
  for (const p of before) if (!keep.has(formatPrefix(p))) run(['ip', p.family === 6 ? '-6' : '-4', 'route', 'del', formatPrefix(p), 'dev', tun], { allowFail: true });
  for (const p of after) run(['ip', p.family === 6 ? '-6' : '-4', 'route', 'replace', formatPrefix(p), 'dev', tun]);
}
