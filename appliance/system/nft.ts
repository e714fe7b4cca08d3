// Warren's own nftables table, `inet warren` (never anyone else's rules), as one ruleset text
// applied in one transaction: the gateway's device policy, kill switch, DNS redirect and NAT,
// and the exit's policy and NAT. Pure: `gatewayRuleset` builds text, `applyRuleset` hands it to
// `nft -f -` through the runner.
//
// The kill switch is the forward chain's last LAN rule: anything from the LAN that is not an
// overlay device's packet into Warren's TUN, or a direct device's packet to the WAN, is dropped.
// It matches interface names, not indexes, so it holds while the TUN does not exist (Warren
// starting, restarting, crashed): the packets of overlay devices then go nowhere. The table
// stays in the kernel until `warren down` removes it (or keeps only the kill switch).

import { DEFAULT_PORTS, EXIT_CT_MARK, exitPortRange } from '../dataplane/exit-ports.ts';
import { deviceExits } from '../config/gateway.ts';
import type { Runner } from './runner.ts';
import { hopsOf, type DevicePolicy, type GatewayDevice, type Hops } from '../config/gateway.ts';
import { addrText } from '../circuit/rewrite.ts';
import { localCircuitAddr } from '../circuit/engine.ts';
import { formatIp, formatPrefix, type Prefix } from '../dataplane/packet/addr.ts';
import { networkOf } from './link.ts';
import { MEMBERS_CLASS } from './shaping.ts';
import type { ForwardElement } from '../gateway/port-forwards.ts';

export const TABLE = 'warren';
/** Added to the gateway mark for direct devices' packets (their replies are NATed to the WAN). */
export const DIRECT_MARK_OFFSET = 1;
/** Added to the gateway mark for devices of 2 and 3 hops (their packets go into the circuit TUN). */
export function circuitMark(mark: number, hops: 2 | 3): number {
  return mark + hops;
}

export interface GatewayRules {
  tun: string;
  /** This appliance's overlay addresses: never the source of a packet leaving by the WAN. */
  self: readonly Prefix[];
  lan: string;
  wan: string;
  /** Overlay devices' packets carry it; an ip rule sends them to Warren's table. */
  mark: number;
  defaultPolicy: DevicePolicy;
  devices: readonly GatewayDevice[];
  /** Redirect overlay devices' DNS (53/udp, 53/tcp) to the appliance, whatever resolver they ask. */
  redirectDns: boolean;
  /** Onion circuits (circuit/engine.ts): the circuit TUN, and the hop count of devices without their own. */
  circuitTun?: string;
  hops?: Hops;
}

export interface ExitRules {
  tun: string;
  wan: string;
  /** This appliance's overlay addresses: the only local addresses members reach through the TUN. */
  self: readonly Prefix[];
  /** Destinations members may not reach through this exit. */
  deny: readonly Prefix[];
  blockSmtp: boolean;
  rateMbit: number;
  /** The circuit TUN: circuits' packets leave by the WAN under the same policy as members'. */
  circuitTun?: string;
  /** The uplink is shaped (system/shaping.ts): members' packets go in the lower class. */
  shaped?: boolean;
  /** Each member's cap each way (Mbit/s) and on its open connections; 0 = none. */
  memberRateMbit?: number;
  memberConnections?: number;
}

export interface Ruleset {
  gateway: GatewayRules | null;
  exit: ExitRules | null;
  /** LANs this member shares (site-to-site): members may open connections into them. */
  sites?: { tun: string; networks: readonly Prefix[] };
  /** Only the kill switch (what `warren down` keeps when kill_switch = "always"). */
  killSwitchOnly?: boolean;
  /**
   * Inbound ports (gateway/port-forwards.ts): on an exit, its WAN ports to members' overlay
   * addresses; on an appliance, ports of its overlay address to LAN devices.
   */
  forwards?: { exit: readonly ForwardElement[]; home: readonly ForwardElement[] };
}

/** nft quotes names; ours are checked interface names, so this only guards against surprises. */
function q(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new RangeError(`not an interface name: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

const hex = (n: number): string => `0x${n.toString(16)}`;
const kbytesPerSecond = (mbit: number): number => Math.max(1, Math.round((mbit * 1_000_000) / 8 / 1024));

function set(name: string, type: string, elements: readonly string[], interval = false): string {
  const flags = interval ? ' flags interval;' : '';
  const els = elements.length > 0 ? ` elements = { ${[...new Set(elements)].join(', ')} }` : '';
  return `  set ${name} { type ${type};${flags}${els} }`;
}

/** An nft map `port : address . port` of one protocol's forwards. */
function forwardMap(name: string, list: readonly ForwardElement[], proto: 'tcp' | 'udp'): string {
  const els = list.filter((f) => f.proto === proto).map((f) => `${f.port} : ${f.to} . ${f.toPort}`);
  return `  map ${name} { type inet_service : ipv4_addr . inet_service;${els.length > 0 ? ` elements = { ${els.join(', ')} }` : ''} }`;
}

function devicesBy(devices: readonly GatewayDevice[], policy: DevicePolicy, by: 'mac' | 'ip', exit: string | null = null): string[] {
  return devices.filter((d) => d.policy === policy && d[by] !== null && (policy !== 'overlay' || d.exit === exit)).map((d) => d[by] as string);
}

function gatewayParts(g: GatewayRules, killSwitchOnly: boolean, forwards: readonly ForwardElement[]) {
  const lan = q(g.lan);
  const wan = q(g.wan);
  const tun = q(g.tun);
  const overlay = hex(g.mark);
  const direct = hex(g.mark + DIRECT_MARK_OFFSET);
  // Devices with an exit of their own: exit k's connections carry connection mark EXIT_CT_MARK + k
  // and source ports in range k (dataplane/exit-ports.ts); the others' ports stay below them.
  const exits = deviceExits(g.devices);
  const exitSets = exits.flatMap((key, k) => [set(`exit${k}_mac`, 'ether_addr', devicesBy(g.devices, 'overlay', 'mac', key)), set(`exit${k}_ip`, 'ipv4_addr', devicesBy(g.devices, 'overlay', 'ip', key))]);
  const sets = [
    ...exitSets,
    set('block_mac', 'ether_addr', devicesBy(g.devices, 'block', 'mac')),
    set('block_ip', 'ipv4_addr', devicesBy(g.devices, 'block', 'ip')),
    set('overlay_mac', 'ether_addr', devicesBy(g.devices, 'overlay', 'mac')),
    set('overlay_ip', 'ipv4_addr', devicesBy(g.devices, 'overlay', 'ip')),
    set('direct_mac', 'ether_addr', devicesBy(g.devices, 'direct', 'mac')),
    set('direct_ip', 'ipv4_addr', devicesBy(g.devices, 'direct', 'ip')),
    ...(killSwitchOnly ? [] : [forwardMap('fwd_lan_tcp', forwards, 'tcp'), forwardMap('fwd_lan_udp', forwards, 'udp')]),
  ];
  // Devices of 2 or 3 hops (onion circuits) go into the circuit TUN, marked by hop count.
  const circ = g.circuitTun ? q(g.circuitTun) : null;
  const defaults = { hops: g.hops ?? 1, defaultPolicy: g.defaultPolicy };
  const byHops = (h: 2 | 3, by: 'mac' | 'ip') => g.devices.filter((d) => hopsOf(d, defaults) === h && d[by] !== null).map((d) => d[by] as string);
  const circuitSets = circ ? ([2, 3] as const).flatMap((h) => [set(`hops${h}_mac`, 'ether_addr', byHops(h, 'mac')), set(`hops${h}_ip`, 'ipv4_addr', byHops(h, 'ip'))]) : [];
  sets.push(...circuitSets);
  const defaultHops = g.defaultPolicy === 'overlay' && circ ? defaults.hops : 1;
  const fallback = g.defaultPolicy === 'block' ? 'drop' : `meta mark set ${g.defaultPolicy === 'direct' ? direct : defaultHops > 1 ? hex(circuitMark(g.mark, defaultHops as 2 | 3)) : overlay}`;
  // Classify each packet from the LAN once, before routing: blocked ones go no further, the
  // others carry the mark policy routing and the forward chain act on. Explicit entries first.
  const classify = [
    `    iifname ${lan} ether saddr @block_mac drop`,
    `    iifname ${lan} ip saddr @block_ip drop`,
    ...(circ ? ([2, 3] as const).flatMap((h) => [
      `    iifname ${lan} ether saddr @hops${h}_mac meta mark set ${hex(circuitMark(g.mark, h))} accept`,
      `    iifname ${lan} ip saddr @hops${h}_ip meta mark set ${hex(circuitMark(g.mark, h))} accept`,
    ]) : []),
    ...exits.flatMap((_, k) => [
      `    iifname ${lan} ether saddr @exit${k}_mac meta mark set ${overlay} ct mark set ${hex(EXIT_CT_MARK + k)} accept`,
      `    iifname ${lan} ip saddr @exit${k}_ip meta mark set ${overlay} ct mark set ${hex(EXIT_CT_MARK + k)} accept`,
    ]),
    `    iifname ${lan} ether saddr @overlay_mac meta mark set ${overlay} accept`,
    `    iifname ${lan} ip saddr @overlay_ip meta mark set ${overlay} accept`,
    `    iifname ${lan} ether saddr @direct_mac meta mark set ${direct} accept`,
    `    iifname ${lan} ip saddr @direct_ip meta mark set ${direct} accept`,
    `    iifname ${lan} ${fallback}`,
  ];
  // LAN → out: the allowed paths, then the kill switch; then what comes in from members.
  const allowed = killSwitchOnly
    ? [`    iifname ${lan} meta mark ${direct} oifname ${wan} accept`]
    : [
        // TCP's MSS fits the TUN's MTU (smaller than the LAN's): no reliance on ICMP getting through.
        `    iifname ${lan} oifname ${tun} tcp flags syn tcp option maxseg size set rt mtu`,
        `    iifname ${lan} oifname ${tun} meta mark ${overlay} meta nfproto ipv4 accept`,
        `    iifname ${lan} meta mark ${direct} oifname ${wan} accept`,
        // A device answering a member that reached it through a shared LAN (site-to-site).
        `    iifname ${lan} oifname ${tun} ct state established,related accept`,
        ...(circ ? [
          `    iifname ${lan} oifname ${circ} tcp flags syn tcp option maxseg size set rt mtu`,
          `    iifname ${lan} oifname ${circ} meta mark { ${hex(circuitMark(g.mark, 2))}, ${hex(circuitMark(g.mark, 3))} } meta nfproto ipv4 accept`,
        ] : []),
      ];
  // The kill switch: everything else from the LAN — an overlay device's packet that found no
  // TUN, its IPv6, DNS-over-TLS to the WAN — is dropped, whether or not Warren runs.
  const killSwitch = `    iifname ${lan} drop`;
  // Inbound ports (gateway/port-forwards.ts): what the exit forwards to this appliance's overlay
  // address goes on to the LAN device the maps name; nothing else from members enters the LAN.
  const fromMembers = killSwitchOnly
    ? []
    : [
        `    iifname ${tun} oifname ${lan} ct state established,related accept`,
        `    iifname ${tun} oifname ${lan} ct status dnat accept`,
        `    iifname ${tun} oifname ${lan} drop`,
        ...(circ ? [`    iifname ${circ} oifname ${lan} ct state established,related accept`, `    iifname ${circ} oifname ${lan} drop`] : []),
      ];
  const dnat = killSwitchOnly
    ? []
    : [
        ...(g.redirectDns ? [`    iifname ${lan} meta mark ${overlay} meta nfproto ipv4 udp dport 53 redirect to :53`, `    iifname ${lan} meta mark ${overlay} meta nfproto ipv4 tcp dport 53 redirect to :53`] : []),
        `    iifname ${tun} ip daddr @self4 dnat ip to tcp dport map @fwd_lan_tcp`,
        `    iifname ${tun} ip daddr @self4 dnat ip to udp dport map @fwd_lan_udp`,
      ];
  // Direct devices keep working when only the kill switch is kept.
  // Overlay devices appear as this appliance's overlay address. SNAT to the fixed address, not
  // masquerade: masquerade forgets its connections when the TUN goes away, so a Warren restart
  // would reset every open TCP connection; with SNAT they wait behind the kill switch and resume.
  const self4 = g.self.find((p) => p.family === 4);
  const toTun = self4 ? `snat ip to ${formatIp(self4.bytes)}` : 'masquerade';
  // TCP and UDP in a port range (nft maps ports only after a transport match); ICMP and the
  // rest keep the default exit.
  const ranged = (ports: { first: number; last: number }) => `meta l4proto { tcp, udp } ${self4 ? `snat ip to ${formatIp(self4.bytes)}:${ports.first}-${ports.last}` : `masquerade to :${ports.first}-${ports.last}`}`;
  const perExit = exits.map((_, k) => `    oifname ${tun} meta mark ${overlay} ct mark ${hex(EXIT_CT_MARK + k)} meta nfproto ipv4 ${ranged(exitPortRange(k))}`);
  const snat = killSwitchOnly
    ? [`    oifname ${wan} meta mark ${direct} masquerade`]
    : [
        ...perExit,
        ...(exits.length > 0 ? [`    oifname ${tun} meta mark ${overlay} meta nfproto ipv4 ${ranged(DEFAULT_PORTS)}`] : []),
        `    oifname ${tun} meta mark ${overlay} meta nfproto ipv4 ${toTun}`,
        // Every circuit device appears as one address per hop count; the circuit's exit replaces it.
        ...(circ ? ([2, 3] as const).map((h) => `    oifname ${circ} meta mark ${hex(circuitMark(g.mark, h))} meta nfproto ipv4 snat ip to ${addrText(localCircuitAddr(h))}`) : []),
        `    oifname ${wan} meta mark ${direct} masquerade`,
      ];
  // The appliance's own DNS (dnsmasq's upstream queries) goes through the exit or not at all,
  // and nothing it sends from an overlay address (a reset for a flow whose NAT entry died with
  // the TUN, say) leaves by the WAN: that would name the LAN's destinations to the ISP.
  const output = [
    `    oifname ${wan} meta l4proto { tcp, udp } th dport 53 drop`,
    `    oifname ${wan} meta nfproto ipv4 ip saddr @self4 drop`,
    `    oifname ${wan} meta nfproto ipv6 ip6 saddr @self6 drop`,
  ];
  return { sets, classify, allowed, killSwitch, fromMembers, dnat, snat, output };
}

/** True when `outer` contains `inner` (same family, shorter or equal prefix, same network bits). */
function contains(outer: Prefix, inner: Prefix): boolean {
  return outer.family === inner.family && outer.bits <= inner.bits && formatPrefix(networkOf({ ...inner, bits: outer.bits })) === formatPrefix(networkOf(outer));
}

/** The prefixes as nft interval elements: networks only, none inside another (nft refuses overlaps). */
export function disjoint(list: readonly Prefix[]): string[] {
  const nets = list.map(networkOf);
  const kept = nets.filter((p, i) => !nets.some((o, j) => j !== i && contains(o, p) && (o.bits < p.bits || j < i)));
  return [...new Set(kept.map(formatPrefix))];
}

function exitParts(e: ExitRules, forwards: readonly ForwardElement[]) {
  // Members' packets (the TUN) and circuits' (the circuit TUN) leave under one policy.
  const tun = e.circuitTun ? `{ ${q(e.tun)}, ${q(e.circuitTun)} }` : q(e.tun);
  const wan = q(e.wan);
  const v4 = disjoint(e.deny.filter((p) => p.family === 4));
  const v6 = disjoint(e.deny.filter((p) => p.family === 6));
  const sets = [
    set('exit_deny4', 'ipv4_addr', v4, true),
    set('exit_deny6', 'ipv6_addr', v6, true),
    forwardMap('fwd_wan_tcp', forwards, 'tcp'),
    forwardMap('fwd_wan_udp', forwards, 'udp'),
  ];
  // Fair sharing: each member (by its overlay address, before NAT) has its own policer each way
  // and a cap on its open connections; what one member takes, the others still have.
  const rate = e.memberRateMbit ?? 0;
  const conns = e.memberConnections ?? 0;
  const perMember = (dir: 'saddr' | 'daddr') => `update @member_${dir === 'saddr' ? 'up' : 'down'} { ip ${dir} limit rate over ${kbytesPerSecond(rate)} kbytes/second burst ${Math.max(16, Math.round(kbytesPerSecond(rate) / 10))} kbytes } drop`;
  if (rate > 0) sets.push('  set member_up { type ipv4_addr; flags dynamic,timeout; timeout 60s; size 65536; }', '  set member_down { type ipv4_addr; flags dynamic,timeout; timeout 60s; size 65536; }');
  if (conns > 0) sets.push('  set member_conns { type ipv4_addr; flags dynamic; size 65536; }');
  const fair = [
    ...(rate > 0 ? [`    iifname ${tun} oifname ${wan} ${perMember('saddr')}`] : []),
    ...(conns > 0 ? [`    iifname ${tun} oifname ${wan} ct state new add @member_conns { ip saddr ct count over ${conns} } drop`] : []),
  ];
  // Inbound ports members hold (gateway/port-forwards.ts) lead from the WAN to their overlay
  // addresses; from the WAN into the TUN nothing else passes but the replies of members' own
  // connections (a host beside the exit cannot reach members' addresses through it).
  const dnat = [`    iifname ${wan} dnat ip to tcp dport map @fwd_wan_tcp`, `    iifname ${wan} dnat ip to udp dport map @fwd_wan_udp`];
  const inbound = [
    ...(rate > 0 ? [`    iifname ${wan} oifname ${tun} ${perMember('daddr')}`] : []),
    `    iifname ${wan} oifname ${tun} ct state established,related accept`,
    `    iifname ${wan} oifname ${tun} tcp flags syn tcp option maxseg size set rt mtu`,
    `    iifname ${wan} oifname ${tun} ct status dnat accept`,
    `    iifname ${wan} oifname ${tun} drop`,
  ];
  const forward = [
    ...fair,
    // Replies of an inbound port's connections, whoever opened them from the WAN.
    `    iifname ${tun} oifname ${wan} ct status dnat accept`,
    `    iifname ${tun} ip daddr @exit_deny4 drop`,
    `    iifname ${tun} ip6 daddr @exit_deny6 drop`,
    ...(e.blockSmtp ? [`    iifname ${tun} tcp dport 25 drop`] : []),
    // A policer on what members send out (all members together); its burst is a tenth of a
    // second's worth. Measured: a 20 Mbit/s cap let 24.0–24.5 Mbit/s of TCP payload through.
    ...(e.shaped ? [`    iifname ${tun} oifname ${wan} meta priority set ${MEMBERS_CLASS}`] : []),
    ...(e.rateMbit > 0 ? [`    iifname ${tun} oifname ${wan} limit rate over ${kbytesPerSecond(e.rateMbit)} kbytes/second burst ${Math.max(16, Math.round(kbytesPerSecond(e.rateMbit) / 10))} kbytes drop`] : []),
    `    iifname ${tun} oifname ${wan} accept`,
    `    iifname ${tun} drop`,
    ...inbound,
  ];
  // Members reach this appliance only at its overlay addresses: not its LAN or admin address.
  const input = [`    iifname ${tun} meta nfproto ipv4 ip daddr != @self4 drop`, `    iifname ${tun} meta nfproto ipv6 ip6 daddr != @self6 drop`];
  const snat = [`    iifname ${tun} oifname ${wan} masquerade`];
  return { sets, forward, input, snat, dnat };
}

function chain(name: string, hook: string, lines: string[], type = 'filter'): string {
  return `  chain ${name} {\n    type ${type} hook ${hook}; policy accept;\n${lines.join('\n')}\n  }`;
}

/** The whole `inet warren` table. */
export function buildRuleset(r: Ruleset): string {
  const g = r.gateway ? gatewayParts(r.gateway, r.killSwitchOnly === true, r.forwards?.home ?? []) : null;
  const e = r.exit && !r.killSwitchOnly ? exitParts(r.exit, r.forwards?.exit ?? []) : null;
  const self = r.gateway?.self ?? r.exit?.self ?? [];
  const addr = (p: Prefix) => formatPrefix(p).replace(/\/\d+$/, '');
  const body: string[] = [
    set('self4', 'ipv4_addr', self.filter((p) => p.family === 4).map(addr)),
    set('self6', 'ipv6_addr', self.filter((p) => p.family === 6).map(addr)),
    ...(g?.sets ?? []),
    ...(e?.sets ?? []),
  ];
  if (g) body.push(chain('mangle_prerouting', 'prerouting priority mangle', g.classify));
  const dnat = [...(g?.dnat ?? []), ...(e?.dnat ?? [])];
  if (dnat.length) body.push(chain('nat_prerouting', 'prerouting priority dstnat', dnat, 'nat'));
  const sites = r.sites && r.sites.networks.length > 0 && !r.killSwitchOnly ? r.sites : null;
  if (sites) {
    body.push(set('site4', 'ipv4_addr', disjoint(sites.networks.filter((p) => p.family === 4)), true));
    body.push(set('site6', 'ipv6_addr', disjoint(sites.networks.filter((p) => p.family === 6)), true));
  }
  // Shared LANs come before the gateway's and the exit's limits on members: the owner opened them.
  const siteRules = sites ? [`    iifname ${q(sites.tun)} ip daddr @site4 accept`, `    iifname ${q(sites.tun)} ip6 daddr @site6 accept`] : [];
  const forward = [...(g ? [...g.allowed, g.killSwitch] : []), ...siteRules, ...(g?.fromMembers ?? []), ...(e?.forward ?? [])];
  if (forward.length) body.push(chain('filter_forward', 'forward priority filter', forward));
  if (e) body.push(chain('filter_input', 'input priority filter', e.input));
  if (g && !r.killSwitchOnly) body.push(chain('filter_output', 'output priority filter', g.output));
  const snat = [...(g?.snat ?? []), ...(e?.snat ?? [])];
  if (snat.length) body.push(chain('nat_postrouting', 'postrouting priority srcnat', snat, 'nat'));
  return `table inet ${TABLE} {\n${body.join('\n')}\n}\n`;
}

/**
 * Replaces the table in one transaction: declaring it first makes the delete valid when it does
 * not exist yet, so the kernel never holds half a ruleset (nor none, between the two).
 */
export function applyRuleset(run: Runner, r: Ruleset): void {
  run(['nft', '-f', '-'], { stdin: `table inet ${TABLE}\ndelete table inet ${TABLE}\n${buildRuleset(r)}` });
}

/** Removes the table; true when there was one. */
export function removeRuleset(run: Runner): boolean {
  return run(['nft', 'delete', 'table', 'inet', TABLE], { allowFail: true }).code === 0;
}

export function rulesetPresent(run: Runner): boolean {
  return run(['nft', 'list', 'table', 'inet', TABLE], { allowFail: true }).code === 0;
}
