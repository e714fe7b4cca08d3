// A whole home in namespaces, for the gateway: LAN devices with no Warren installed, the home
// appliance (LAN bridge + WAN), the home's NAT router, an "internet" with a web server that
// prints the client address it sees and a DNS server that logs queries, and an exit appliance
// in another home with a LAN of its own. Addresses are documentation ranges (RFC 5737/3849)
// that exist only inside these namespaces.
//
//   client  192.168.1.10 ─┐
//   tv      192.168.1.20 ─┼─ lan0 (bridge) 192.168.1.1   home   wan0 10.0.0.2 ── 10.0.0.1 router 203.0.113.2 ──┐
//   blocked 192.168.1.30 ─┘                                                    (masquerade)                   │
//                                                               inet 203.0.113.1 | 203.0.113.17, servers:      │
//                                                                 web 198.51.100.10, dns 198.51.100.53 ───────┘
//   exit  wan0 203.0.113.20 ── inet;  exit lan0 192.168.50.1 ── exitlan 192.168.50.2 (a web server)

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createNetwork, saveNetwork } from '../../../appliance/network/store.ts';
import type { Lab, LabProcess } from './netns.ts';
import { REPO_ROOT, waitFor } from './netns.ts';
import { startWarren, type WarrenNode, type WarrenPeer } from './warren.ts';

export const ADDR = {
  client: '192.168.1.10',
  tv: '192.168.1.20',
  blocked: '192.168.1.30',
  homeLan: '192.168.1.1',
  homeWan: '10.0.0.2',
  routerPublic: '203.0.113.2',
  exitPublic: '203.0.113.20',
  exitLan: '192.168.50.1',
  exitLanHost: '192.168.50.2',
  web: '198.51.100.10',
  web6: '2001:db8:100::10',
  dns: '198.51.100.53',
  /** A resolver address a device may have hard-coded; nothing listens there. */
  hardcodedDns: '198.51.100.99',
  homeOverlay: '100.80.0.1',
  exitOverlay: '100.80.0.2',
} as const;

export const MAC = { tv: '02:00:00:00:00:20', blocked: '02:00:00:00:00:30' } as const;
export const HOME_PORT = 41001;
export const EXIT_PORT = 41002;
const BUN = join(REPO_ROOT, 'node_modules/.bin/bun');

export interface GatewayLab {
  ns: { client: string; tv: string; blocked: string; home: string; router: string; inet: string; exit: string; exitLan: string };
  /** The home appliance's WAN interface, seen from the home namespace (capture there). */
  homeWan: string;
  dnsLog: string;
  services: LabProcess[];
  secret: string;
  keys: { home: { privateKey: string; publicKey: string }; exit: { privateKey: string; publicKey: string } };
}

async function keyPair(lab: Lab, ns: string): Promise<{ privateKey: string; publicKey: string }> {
  const warren = join(REPO_ROOT, 'warren');
  const privateKey = (await lab.exec(ns, [warren, 'genkey'])).stdout.trim();
  const publicKey = (await lab.exec(ns, [warren, 'pubkey'], { stdin: privateKey })).stdout.trim();
  return { privateKey, publicKey };
}

export async function buildGatewayLab(lab: Lab): Promise<GatewayLab> {
  const ns = {
    client: await lab.ns('client'),
    tv: await lab.ns('tv'),
    blocked: await lab.ns('blocked'),
    home: await lab.ns('home'),
    router: await lab.ns('router'),
    inet: await lab.ns('inet'),
    exit: await lab.ns('exit'),
    exitLan: await lab.ns('exitlan'),
  };
  const sh = (n: string, ...argv: string[]) => lab.exec(n, argv);

  // The home LAN: a bridge on the appliance, one port per device.
  await sh(ns.home, 'ip', 'link', 'add', 'lan0', 'type', 'bridge');
  await sh(ns.home, 'ip', 'addr', 'add', '192.168.1.1/24', 'dev', 'lan0');
  await sh(ns.home, 'ip', 'addr', 'add', 'fd00:1::1/64', 'dev', 'lan0', 'nodad');
  await sh(ns.home, 'ip', 'link', 'set', 'lan0', 'up');
  for (const [name, ip, mac] of [['client', ADDR.client, null], ['tv', ADDR.tv, MAC.tv], ['blocked', ADDR.blocked, MAC.blocked]] as const) {
    const dev = ns[name];
    const v = await lab.veth(dev, ns.home, { a: `${ip}/24`, a6: `fd00:1::${ip.split('.')[3]}/64`, nameA: 'eth0', nameB: `lan-${name}` });
    if (mac) await sh(dev, 'ip', 'link', 'set', 'eth0', 'address', mac);
    await sh(ns.home, 'ip', 'link', 'set', v.b, 'master', 'lan0');
    await sh(dev, 'ip', 'route', 'add', 'default', 'via', ADDR.homeLan);
    await sh(dev, 'ip', '-6', 'route', 'add', 'default', 'via', 'fd00:1::1');
  }

  // Home appliance ↔ home NAT router ↔ internet.
  await lab.veth(ns.home, ns.router, { a: `${ADDR.homeWan}/24`, b: '10.0.0.1/24', a6: 'fd00:2::2/64', b6: 'fd00:2::1/64', nameA: 'wan0', nameB: 'lan0' });
  await sh(ns.home, 'ip', 'route', 'add', 'default', 'via', '10.0.0.1');
  await sh(ns.home, 'ip', '-6', 'route', 'add', 'default', 'via', 'fd00:2::1');
  // IPv6 forwarding on, as on a real router: only the kill switch keeps the LAN's IPv6 in.
  await sh(ns.home, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
  await lab.veth(ns.router, ns.inet, { a: `${ADDR.routerPublic}/28`, b: '203.0.113.1/28', a6: '2001:db8:2::2/64', b6: '2001:db8:2::1/64', nameA: 'wan0', nameB: 'to-home' });
  await sh(ns.router, 'ip', 'route', 'add', 'default', 'via', '203.0.113.1');
  await sh(ns.router, 'ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:2::1');
  await sh(ns.router, 'ip', '-6', 'route', 'add', 'fd00:1::/64', 'via', 'fd00:2::2');
  await sh(ns.router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  await sh(ns.router, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
  await lab.exec(ns.router, ['nft', '-f', '-'], { stdin: 'table ip homenat {\n  chain post {\n    type nat hook postrouting priority 100; policy accept;\n    oifname "wan0" masquerade\n  }\n}\n' });

  // The exit's home: public address, a LAN of its own.
  await lab.veth(ns.exit, ns.inet, { a: `${ADDR.exitPublic}/28`, b: '203.0.113.17/28', nameA: 'wan0', nameB: 'to-exit' });
  await sh(ns.exit, 'ip', 'route', 'add', 'default', 'via', '203.0.113.17');
  await lab.veth(ns.exit, ns.exitLan, { a: `${ADDR.exitLan}/24`, b: `${ADDR.exitLanHost}/24`, nameA: 'lan0', nameB: 'eth0' });
  await sh(ns.exitLan, 'ip', 'route', 'add', 'default', 'via', ADDR.exitLan);

  // The internet's servers.
  // (on lo: this kernel has no dummy interfaces; a local address answers forwarded traffic all the same)
  for (const a of [`${ADDR.web}/32`, `${ADDR.dns}/32`]) await sh(ns.inet, 'ip', 'addr', 'add', a, 'dev', 'lo');
  await sh(ns.inet, 'ip', 'addr', 'add', `${ADDR.web6}/128`, 'dev', 'lo', 'nodad');
  // The homes' IPv6 is routed (no NAT66), as an ISP would route a delegated prefix.
  for (const net of ['fd00:1::/64', 'fd00:2::/64']) await sh(ns.inet, 'ip', '-6', 'route', 'add', net, 'via', '2001:db8:2::2');
  await sh(ns.inet, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  await sh(ns.inet, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');

  const dnsLog = join(lab.tmpDir, 'dns-queries.jsonl');
  const services: LabProcess[] = [
    lab.spawn(ns.inet, [BUN, join(REPO_ROOT, 'test/netns/lib/inet-services.ts'), '--web', `${ADDR.web}:80`, '--web', `[${ADDR.web6}]:80`, '--dns', `${ADDR.dns}:53`, '--dns', `${ADDR.dns}:5353`, '--log', dnsLog], { log: 'inet-services' }),
    lab.spawn(ns.exitLan, [BUN, join(REPO_ROOT, 'test/netns/lib/inet-services.ts'), '--web', `${ADDR.exitLanHost}:80`], { log: 'exitlan-web' }),
    // Stands for the exit's own admin page, on its LAN and WAN addresses.
    lab.spawn(ns.exit, [BUN, join(REPO_ROOT, 'test/netns/lib/inet-services.ts'), '--web', `${ADDR.exitLan}:8080`, '--web', `${ADDR.exitPublic}:8080`], { log: 'exit-admin' }),
  ];
  for (const p of services) await waitFor(`${p.logPath} to say ready`, async () => p.logTail(5).includes('ready'), { timeoutMs: 15_000, intervalMs: 100 });

  const secret = (await lab.exec(ns.home, [join(REPO_ROOT, 'warren'), 'gensecret'])).stdout.trim();
  return { ns, homeWan: 'wan0', dnsLog, services, secret, keys: { home: await keyPair(lab, ns.home), exit: await keyPair(lab, ns.exit) } };
}

export interface HomeOptions {
  killSwitch?: 'on' | 'always';
  /** Peers instead of the one exit (e.g. several exits for `exit = "auto"`). */
  peers?: WarrenPeer[];
  iface?: string;
  /** Extra [gateway] settings. */
  gateway?: Record<string, unknown>;
}

/**
 * A network file in the lab's own directory holding the lab's secret (no approval needed: the
 * peers are configured): the appliance keeps its admin state beside it, never in /var/lib/warren.
 */
export function labNetworkFile(lab: Lab, g: GatewayLab, who: string): string {
  const dir = join(lab.tmpDir, `${who}-net`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'network.toml');
  if (!existsSync(path)) saveNetwork(path, { ...createNetwork('lab', () => new Uint8Array(Buffer.from(g.secret, 'base64'))), requireApproval: false });
  return path;
}

export function startHome(lab: Lab, g: GatewayLab, o: HomeOptions = {}): Promise<WarrenNode> {
  return startWarren(lab, g.ns.home, {
    name: 'home',
    iface: o.iface,
    privateKey: g.keys.home.privateKey,
    listenPort: HOME_PORT,
    addresses: [`${ADDR.homeOverlay}/10`],
    wire: 'native',
    peers: o.peers ?? [{ name: 'exit', publicKey: g.keys.exit.publicKey, endpoint: `${ADDR.exitPublic}:${EXIT_PORT}`, allowedIps: [`${ADDR.exitOverlay}/32`], persistentKeepalive: 25 }],
    sections: {
      network: { file: labNetworkFile(lab, g, 'home') },
      gateway: {
        lan: 'lan0',
        wan: 'wan0',
        exit: g.keys.exit.publicKey,
        kill_switch: o.killSwitch ?? 'on',
        dns_upstream: [ADDR.dns],
        device: [
          { name: 'tv', mac: MAC.tv, policy: 'direct' },
          { name: 'blocked', mac: MAC.blocked, policy: 'block' },
        ],
        ...o.gateway,
      },
    },
  });
}

export function startExit(lab: Lab, g: GatewayLab, iface?: string, exitExtra: Record<string, unknown> = {}): Promise<WarrenNode> {
  return startWarren(lab, g.ns.exit, {
    name: 'exit',
    iface,
    privateKey: g.keys.exit.privateKey,
    listenPort: EXIT_PORT,
    addresses: [`${ADDR.exitOverlay}/10`],
    wire: 'native',
    peers: [{ name: 'home', publicKey: g.keys.home.publicKey, allowedIps: [`${ADDR.homeOverlay}/32`] }],
    sections: { network: { file: labNetworkFile(lab, g, 'exit') }, exit: { enabled: true, accept_risk: true, wan: 'wan0', ...exitExtra } },
  });
}

/** `curl` from a LAN device; the body, or null when it failed. */
export async function curlFrom(lab: Lab, ns: string, url: string, timeoutS = 3, extra: string[] = []): Promise<string | null> {
  const r = await lab.exec(ns, ['curl', '-sS', '--max-time', String(timeoutS), ...extra, url], { check: false });
  return r.code === 0 ? r.stdout.trim() : null;
}
