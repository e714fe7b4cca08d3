// The [gateway] and [exit] sections (README "Gateway and exits"): the appliance as the LAN's
// router, sending every device's traffic through the overlay and out of an exit, and the
// opt-in to be an exit for the other members.

import { MAX_DEVICE_EXITS } from '../dataplane/exit-ports.ts';
import { DEFAULT_FORWARD_PORTS, DEFAULT_FORWARDS_PER_MEMBER } from '../gateway/port-forwards.ts';
import { parseIp, parsePrefix, type Prefix } from '../dataplane/packet/addr.ts';
import { ConfigError, IFNAME, int, isTable, prefixes, rejectUnknown, str, strList, table, type Table } from './fields.ts';

export type DevicePolicy = 'overlay' | 'direct' | 'block';
export const DEVICE_POLICIES: readonly DevicePolicy[] = ['overlay', 'direct', 'block'];

export interface GatewayDevice {
  name: string;
  /** Lower-case `aa:bb:cc:dd:ee:ff`, or null when the device is named by address. */
  mac: string | null;
  /** An IPv4 address, or null when the device is named by MAC. */
  ip: string | null;
  policy: DevicePolicy;
  /** For an overlay device: the exit it uses (public key, base64); null: the gateway's exit. */
  exit: string | null;
  /** For an overlay device: 1 (straight to the exit) or 2–3 (an onion circuit); null: the gateway's `hops`. */
  hops?: Hops | null;
}

export type Hops = 1 | 2 | 3;

/** A device's hop count in effect (1 for anything not through the overlay). */
export function hopsOf(d: GatewayDevice | undefined, g: { hops: Hops; defaultPolicy: DevicePolicy }): Hops {
  const policy = d?.policy ?? g.defaultPolicy;
  if (policy !== 'overlay') return 1;
  return d?.hops ?? g.hops;
}

/** Distinct exits devices name (at most MAX_DEVICE_EXITS), in a stable order: index k of one is
 * its port range and connection mark (system/nft.ts, dataplane/exit-ports.ts). */
export function deviceExits(devices: readonly GatewayDevice[]): string[] {
  return [...new Set(devices.filter((d) => d.policy === 'overlay' && d.exit !== null).map((d) => d.exit!))].sort();
}

export interface GatewayConfig {
  lan: string;
  wan: string;
  /** "auto": a member that offers an exit; otherwise the exit's public key (base64). */
  exit: 'auto' | string;
  /** "on": kernel rules hold while Warren runs, restarts or crashes, removed by `warren down`; "always": kept after `warren down` too. */
  killSwitch: 'on' | 'always';
  dns: { enabled: boolean; upstream: string[] };
  /** dnsmasq's DHCP range ("first,last,lease"), or null for no DHCP. */
  dhcpRange: string | null;
  defaultPolicy: DevicePolicy;
  devices: GatewayDevice[];
  /** Warren's routing table and firewall mark (policy routing). */
  table: number;
  mark: number;
  /** Answer NAT-PMP on the LAN: overlay devices get inbound ports through their exit. */
  portMapping: boolean;
  /** Hops for overlay devices without their own: 1, or 2–3 through an onion circuit. */
  hops: Hops;
  /** A fixed circuit (members' keys, the exit last) instead of one drawn from the members; [] = drawn. */
  circuitPath: string[];
}

export interface ExitConfig {
  wan: string;
  blockSmtp: boolean;
  /** Destinations members may not reach through this exit, besides its own networks. */
  deny: Prefix[];
  /** Cap on what members send out of this exit, in Mbit/s; 0 = none. */
  rateMbit: number;
  /** WAN ports this exit opens for members' inbound ports (gateway/port-forwards.ts). */
  forwardPorts: { first: number; last: number };
  /** At most this many inbound ports per member. */
  forwardsPerMember: number;
  /** The uplink's real upload rate in Mbit/s: shaped to it, the owner's traffic first (0 = no shaping). */
  wanMbit: number;
  /** Fair sharing: each member's own cap, each way, in Mbit/s (0 = none), and its open connections (0 = none). */
  memberRateMbit: number;
  memberConnections: number;
}

/** Quad9: filtering-free, no-logging resolvers, asked through the exit (production default). */
export const DEFAULT_DNS_UPSTREAM = ['9.9.9.9', '149.112.112.112'];
export const DEFAULT_TABLE = 5741;
/** Open connections one member may have through an exit: far above a browser's or a torrent client's. */
export const DEFAULT_MEMBER_CONNECTIONS = 8192;
export const DEFAULT_MARK = 0x5741;
/** Never reachable through an exit: loopback, link-local, multicast, the overlay itself. */
export const ALWAYS_DENIED = ['127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '100.64.0.0/10', '::1/128', 'fe80::/10', 'ff00::/8'];

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function ifname(t: Table, key: string, field: string): string {
  const v = str(t, key, field);
  if (!IFNAME.test(v)) throw new ConfigError(`${field}.${key}`, 'expected a Linux interface name (1–15 letters, digits, _ . or -)');
  return v;
}

function policy(t: Table, key: string, field: string, dflt: DevicePolicy): DevicePolicy {
  const v = str(t, key, field, dflt);
  if (!(DEVICE_POLICIES as readonly string[]).includes(v)) throw new ConfigError(`${field}.${key}`, `"${v}" is not a policy (${DEVICE_POLICIES.join(', ')})`);
  return v as DevicePolicy;
}

function ipv4(text: string, field: string): string {
  const ip = parseIp(text);
  if (!ip || ip.length !== 4) throw new ConfigError(field, `"${text}" is not an IPv4 address`);
  return text;
}

export function parseGateway(raw: unknown, tunName: string): GatewayConfig {
  const g = table(raw, 'gateway');
  rejectUnknown(g, 'gateway', ['lan', 'wan', 'exit', 'kill_switch', 'dns', 'dns_upstream', 'dhcp_range', 'default_policy', 'device', 'table', 'mark', 'port_mapping', 'hops', 'circuit_path']);
  if (g.port_mapping !== undefined && typeof g.port_mapping !== 'boolean') throw new ConfigError('gateway.port_mapping', 'expected true or false');
  const lan = ifname(g, 'lan', 'gateway');
  const wan = ifname(g, 'wan', 'gateway');
  if (lan === wan) throw new ConfigError('gateway.wan', 'the LAN and the WAN must be different interfaces');
  for (const [k, v] of [['lan', lan], ['wan', wan]] as const) {
    if (v === tunName) throw new ConfigError(`gateway.${k}`, `"${v}" is Warren's own interface (interface.name)`);
  }
  const exit = str(g, 'exit', 'gateway', 'auto');
  if (exit !== 'auto' && !/^[A-Za-z0-9+/]{43}=$/.test(exit)) throw new ConfigError('gateway.exit', 'expected "auto" or the exit\'s public key (base64, 44 characters)');
  const killSwitch = str(g, 'kill_switch', 'gateway', 'on');
  if (killSwitch !== 'on' && killSwitch !== 'always') {
    throw new ConfigError('gateway.kill_switch', `"${killSwitch}" is not a kill switch mode: "on" (while Warren runs or is down; removed by \`warren down\`) or "always" (kept after \`warren down\`)`);
  }
  if (g.dns !== undefined && typeof g.dns !== 'boolean') throw new ConfigError('gateway.dns', 'expected true or false');
  const upstream = g.dns_upstream === undefined ? DEFAULT_DNS_UPSTREAM : strList(g, 'dns_upstream', 'gateway');
  upstream.forEach((u, i) => ipv4(u, `gateway.dns_upstream[${i}]`));
  if (upstream.length === 0) throw new ConfigError('gateway.dns_upstream', 'give at least one resolver');
  let dhcpRange: string | null = null;
  if (g.dhcp_range !== undefined) {
    dhcpRange = str(g, 'dhcp_range', 'gateway');
    const [first, last, lease] = dhcpRange.split(',');
    if (!first || !last) throw new ConfigError('gateway.dhcp_range', 'expected "FIRST,LAST" or "FIRST,LAST,LEASE" like "192.168.1.100,192.168.1.200,12h"');
    ipv4(first, 'gateway.dhcp_range');
    ipv4(last, 'gateway.dhcp_range');
    if (lease !== undefined && !/^\d+[mhd]?$/.test(lease)) throw new ConfigError('gateway.dhcp_range', `"${lease}" is not a lease time like 12h`);
  }
  const defaultPolicy = policy(g, 'default_policy', 'gateway', 'overlay');
  const rawDevices = g.device ?? [];
  if (!Array.isArray(rawDevices)) throw new ConfigError('gateway.device', 'expected [[gateway.device]] sections');
  const devices = rawDevices.map((d, i): GatewayDevice => {
    const f = `gateway.device[${i}]`;
    if (!isTable(d)) throw new ConfigError(f, 'expected a table');
    rejectUnknown(d, f, ['name', 'mac', 'ip', 'policy', 'exit', 'hops']);
    const mac = d.mac === undefined ? null : str(d, 'mac', f).toLowerCase();
    if (mac !== null && !MAC.test(mac)) throw new ConfigError(`${f}.mac`, `"${mac}" is not a MAC address like 02:00:00:aa:bb:cc`);
    const ip = d.ip === undefined ? null : ipv4(str(d, 'ip', f), `${f}.ip`);
    if ((mac === null) === (ip === null)) throw new ConfigError(f, 'name the device by exactly one of mac or ip');
    const devExit = d.exit === undefined ? null : str(d, 'exit', f);
    if (devExit !== null && !/^[A-Za-z0-9+/]{43}=$/.test(devExit)) throw new ConfigError(`${f}.exit`, 'expected the exit\'s public key (base64, 44 characters); leave it out for the gateway\'s exit');
    const hops = d.hops === undefined ? {} : { hops: int(d, 'hops', f, 1, 1, 3) as Hops };
    return { name: str(d, 'name', f, mac ?? ip ?? ''), mac, ip, policy: policy(d, 'policy', f, 'overlay'), exit: devExit, ...hops };
  });
  const circuitPath = strList(g, 'circuit_path', 'gateway');
  circuitPath.forEach((k, i) => {
    if (!/^[A-Za-z0-9+/]{43}=$/.test(k)) throw new ConfigError(`gateway.circuit_path[${i}]`, 'expected a member\'s public key (base64, 44 characters)');
  });
  if (circuitPath.length === 1 || circuitPath.length > 3) throw new ConfigError('gateway.circuit_path', 'a circuit has 2 or 3 hops (relays, then the exit)');
  if (deviceExits(devices).length > MAX_DEVICE_EXITS) throw new ConfigError('gateway.device', `devices may name at most ${MAX_DEVICE_EXITS} different exits`);
  return {
    lan,
    wan,
    exit,
    killSwitch,
    dns: { enabled: g.dns !== false, upstream },
    dhcpRange,
    defaultPolicy,
    devices,
    table: int(g, 'table', 'gateway', DEFAULT_TABLE, 1, 0x7fffffff),
    mark: int(g, 'mark', 'gateway', DEFAULT_MARK, 1, 0x7fffffff),
    portMapping: g.port_mapping !== false,
    hops: int(g, 'hops', 'gateway', 1, 1, 3) as Hops,
    circuitPath,
  };
}

export function parseExit(raw: unknown): ExitConfig | null {
  const e = table(raw, 'exit');
  rejectUnknown(e, 'exit', ['enabled', 'accept_risk', 'wan', 'block_smtp', 'deny', 'rate_mbit', 'forward_ports', 'forwards_per_member', 'member_rate_mbit', 'member_connections', 'wan_mbit']);
  if (e.enabled !== undefined && typeof e.enabled !== 'boolean') throw new ConfigError('exit.enabled', 'expected true or false');
  if (e.enabled !== true) return null;
  if (e.accept_risk !== true) {
    throw new ConfigError('exit.accept_risk', 'an exit sends other members\' traffic to the internet from your address, and you may be held responsible for what they do; set accept_risk = true to confirm');
  }
  if (e.block_smtp !== undefined && typeof e.block_smtp !== 'boolean') throw new ConfigError('exit.block_smtp', 'expected true or false');
  const deny = prefixes(strList(e, 'deny', 'exit'), 'exit.deny');
  let forwardPorts: { first: number; last: number } = { ...DEFAULT_FORWARD_PORTS };
  if (e.forward_ports !== undefined) {
    const text = str(e, 'forward_ports', 'exit');
    const m = /^(\d{1,5})-(\d{1,5})$/.exec(text);
    const first = m ? Number(m[1]) : NaN;
    const last = m ? Number(m[2]) : NaN;
    if (!m || first < 1024 || last > 65535 || first > last) throw new ConfigError('exit.forward_ports', `"${text}" is not a port range like "10000-65535" (ports 1024–65535, first ≤ last)`);
    forwardPorts = { first, last };
  }
  return {
    wan: ifname(e, 'wan', 'exit'),
    blockSmtp: e.block_smtp !== false,
    deny,
    rateMbit: int(e, 'rate_mbit', 'exit', 0, 0, 100_000),
    forwardPorts,
    forwardsPerMember: int(e, 'forwards_per_member', 'exit', DEFAULT_FORWARDS_PER_MEMBER, 0, 1024),
    memberRateMbit: int(e, 'member_rate_mbit', 'exit', 0, 0, 100_000),
    wanMbit: int(e, 'wan_mbit', 'exit', 0, 0, 100_000),
    memberConnections: int(e, 'member_connections', 'exit', DEFAULT_MEMBER_CONNECTIONS, 0, 1_000_000),
  };
}

export function alwaysDenied(): Prefix[] {
  return ALWAYS_DENIED.map((p) => parsePrefix(p)).filter((p): p is Prefix => p !== null);
}
