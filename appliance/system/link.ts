// The TUN interface's kernel side, declaratively: MTU, up, addresses, and routes for the
// peers' allowed IPs. `ip ... replace` makes each step idempotent, so applying twice (or after
// a crash left things behind) converges on the same state. Closing the TUN fd removes the
// interface and with it every address and route added here.

import type { Runner } from './runner.ts';
import { formatIp, formatPrefix, networkOf, type Prefix } from '../dataplane/packet/addr.ts';

export interface LinkState {
  name: string;
  mtu: number;
  addresses: Prefix[];
  routes: Prefix[];
}

export { networkOf } from '../dataplane/packet/addr.ts';

/** True when an interface address's own subnet already routes `route` to the link. */
function covered(route: Prefix, addrs: Prefix[]): boolean {
  return addrs.some(
    (a) => a.family === route.family && a.bits <= route.bits &&
      formatPrefix(networkOf({ ...route, bits: a.bits })) === formatPrefix(networkOf(a)),
  );
}

export function applyLink(run: Runner, s: LinkState): string[] {
  const skipped: string[] = [];
  run(['ip', 'link', 'set', 'dev', s.name, 'mtu', String(s.mtu), 'up']);
  for (const a of s.addresses) {
    run(['ip', a.family === 6 ? '-6' : '-4', 'addr', 'replace', formatPrefix(a), 'dev', s.name, ...(a.family === 6 ? ['nodad'] : [])]);
  }
  for (const r of s.routes) {
    if (r.bits === 0) {
      // A default route through the overlay is the gateway's job (policy routing), not this link's.
      skipped.push(`${formatIp(r.bytes)}/0`);
      continue;
    }
    if (covered(r, s.addresses)) continue; // the interface address's own subnet route covers it
    run(['ip', r.family === 6 ? '-6' : '-4', 'route', 'replace', formatPrefix(networkOf(r)), 'dev', s.name]);
  }
  return skipped;
}

/** The circuit TUN's name: the tunnel's, with a "c" (within the kernel's 15 characters). */
export function circuitTunName(tun: string): string {
  return `${tun.slice(0, 14)}c`;
}

/** Warren's own interfaces (the tunnel and its circuit TUN): never endpoints, subnets or beacon sources. */
export function isWarrenInterface(name: string, tun: string): boolean {
  return name === tun || name === circuitTunName(tun);
}
