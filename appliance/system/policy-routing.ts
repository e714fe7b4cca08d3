// Policy routing for the gateway, declaratively (the Tailscale linuxfw way: `apply` converges,
// `remove` cleans up what any earlier run left):
//
//   priority T-1  fwmark M lookup main suppress_prefixlength 0   LAN and local routes still win
//   priority T    fwmark M lookup T                              overlay devices → Warren's table
//   priority T+1  iif lo to <resolver> lookup T                  the appliance's own DNS, via the exit
//   priority T+1  iif lo from <overlay address> lookup T         its own packets from an overlay address
//   table T       default dev <tun>                              (gone with the TUN)
//
// When the TUN is gone (Warren down or crashed), table T is empty and marked packets fall
// through to the main table, where the kill switch (nft.ts) drops them in the forward chain.

import type { Runner } from './runner.ts';

export interface PolicyRouting {
  table: number;
  mark: number;
  /** Resolvers the appliance itself asks (dnsmasq's upstreams): only through the overlay. */
  resolvers: readonly string[];
  /** This appliance's overlay IPv4 addresses: what it sends from them goes into the overlay. */
  self: readonly string[];
  /** Devices of 2–3 hops: their marks go to table `circuitTable` (default dev <circuit TUN>). */
  circuitMarks?: readonly number[];
}

/** The circuit TUN's routing table: Warren's table + 2. */
export const circuitTable = (p: PolicyRouting): number => p.table + 2;

function priorities(p: PolicyRouting): number[] {
  return [p.table - 1, p.table, p.table + 1];
}

/** Deletes every IPv4 rule at Warren's priorities (repeatedly: a crash may have left duplicates). */
function deleteRules(run: Runner, p: PolicyRouting): void {
  for (const prio of priorities(p)) {
    for (let i = 0; i < 64; i++) {
      if (run(['ip', '-4', 'rule', 'del', 'priority', String(prio)], { allowFail: true }).code !== 0) break;
    }
  }
}

/** The rules (they do not depend on the TUN existing) and IP forwarding. */
export function applyRules(run: Runner, p: PolicyRouting): void {
  deleteRules(run, p);
  const mark = `0x${p.mark.toString(16)}`;
  run(['ip', '-4', 'rule', 'add', 'priority', String(p.table - 1), 'fwmark', mark, 'lookup', 'main', 'suppress_prefixlength', '0']);
  run(['ip', '-4', 'rule', 'add', 'priority', String(p.table), 'fwmark', mark, 'lookup', String(p.table)]);
  for (const m of p.circuitMarks ?? []) {
    const cm = `0x${m.toString(16)}`;
    run(['ip', '-4', 'rule', 'add', 'priority', String(p.table - 1), 'fwmark', cm, 'lookup', 'main', 'suppress_prefixlength', '0']);
    run(['ip', '-4', 'rule', 'add', 'priority', String(p.table), 'fwmark', cm, 'lookup', String(circuitTable(p))]);
  }
  for (const r of p.resolvers) run(['ip', '-4', 'rule', 'add', 'priority', String(p.table + 1), 'iif', 'lo', 'to', `${r}/32`, 'lookup', String(p.table)]);
  for (const a of p.self) run(['ip', '-4', 'rule', 'add', 'priority', String(p.table + 1), 'iif', 'lo', 'from', `${a}/32`, 'lookup', String(p.table)]);
  run(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
}

/** Once the TUN is up: Warren's table routes everything to it; replies from the exit arrive on it
 * from internet addresses, which strict reverse-path filtering would drop (loose is enough). */
export function applyTunRoutes(run: Runner, p: PolicyRouting, tun: string): void {
  run(['ip', '-4', 'route', 'replace', 'default', 'dev', tun, 'table', String(p.table)]);
  run(['sysctl', '-qw', `net.ipv4.conf.${tun}.rp_filter=2`]);
}

/** Once the circuit TUN is up: devices of 2–3 hops route into it (replies come from internet addresses). */
export function applyCircuitRoutes(run: Runner, p: PolicyRouting, circuitTun: string): void {
  run(['ip', '-4', 'route', 'replace', 'default', 'dev', circuitTun, 'table', String(circuitTable(p))]);
  run(['sysctl', '-qw', `net.ipv4.conf.${circuitTun}.rp_filter=2`]);
}

export function removeRouting(run: Runner, p: PolicyRouting): void {
  deleteRules(run, p);
  run(['ip', '-4', 'route', 'flush', 'table', String(p.table)], { allowFail: true });
  run(['ip', '-4', 'route', 'flush', 'table', String(circuitTable(p))], { allowFail: true });
}

/** Warren's rules as `ip rule` lists them now (for tests and `warren doctor`). */
export function listRules(run: Runner, p: PolicyRouting): string[] {
  const out = run(['ip', '-4', 'rule', 'list'], { allowFail: true }).stdout;
  const ours = new Set(priorities(p).map(String));
  return out.split('\n').filter((l) => ours.has(l.split(':')[0]?.trim() ?? ''));
}
