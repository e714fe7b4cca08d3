// The gateway lab (gateway-lab.ts) with two relays on the "internet", for onion circuits:
//
//   client ── home ── router ── inet ──┬── r1   203.0.113.36
//                                      ├── r2   203.0.113.52
//                                      └── exit 203.0.113.20 ── web 198.51.100.10
//
// Sessions: home–r1 (and home–exit for one hop), r1–r2, r2–exit (and r1–exit for two hops);
// both relays relay.

import { join } from 'node:path';
import type { Lab } from './netns.ts';
import { REPO_ROOT } from './netns.ts';
import { startWarren, type WarrenNode } from './warren.ts';
import { ADDR, EXIT_PORT, buildGatewayLab, labNetworkFile, type GatewayLab } from './gateway-lab.ts';

export const R1 = { public: '203.0.113.36', gw: '203.0.113.33', net: 28, overlay: '100.80.0.4', port: 41004 };
export const R2 = { public: '203.0.113.52', gw: '203.0.113.49', net: 28, overlay: '100.80.0.5', port: 41005 };

export interface CircuitLab {
  g: GatewayLab;
  ns: { r1: string; r2: string };
  keys: { r1: { privateKey: string; publicKey: string }; r2: { privateKey: string; publicKey: string } };
}

async function keys(lab: Lab, n: string): Promise<{ privateKey: string; publicKey: string }> {
  const warren = join(REPO_ROOT, 'warren');
  const privateKey = (await lab.exec(n, [warren, 'genkey'])).stdout.trim();
  return { privateKey, publicKey: (await lab.exec(n, [warren, 'pubkey'], { stdin: privateKey })).stdout.trim() };
}

export async function buildCircuitLab(lab: Lab): Promise<CircuitLab> {
  const g = await buildGatewayLab(lab);
  const ns = { r1: await lab.ns('r1'), r2: await lab.ns('r2') };
  for (const [name, r, peerName] of [['r1', R1, 'to-r1'], ['r2', R2, 'to-r2']] as const) {
    await lab.veth(ns[name], g.ns.inet, { a: `${r.public}/${r.net}`, b: `${r.gw}/${r.net}`, nameA: 'wan0', nameB: peerName });
    await lab.exec(ns[name], ['ip', 'route', 'add', 'default', 'via', r.gw]);
  }
  return { g, ns, keys: { r1: await keys(lab, ns.r1), r2: await keys(lab, ns.r2) } };
}

const net = (lab: Lab, c: CircuitLab, who: string) => ({ network: { file: labNetworkFile(lab, c.g, who) } });

/** The exit and both relays; r1 keeps a session with the exit only when asked (2-hop circuits need it). */
export async function startHops(lab: Lab, c: CircuitLab, opts: { r1ToExit?: boolean; r2KnowsHome?: boolean } = {}): Promise<{ r1: WarrenNode; r2: WarrenNode; exit: WarrenNode }> {
  const { g, keys: k } = c;
  const exit = await startWarren(lab, g.ns.exit, {
    name: 'exit', privateKey: g.keys.exit.privateKey, listenPort: EXIT_PORT, addresses: [`${ADDR.exitOverlay}/10`], wire: 'native',
    peers: [
      { name: 'home', publicKey: g.keys.home.publicKey, allowedIps: [`${ADDR.homeOverlay}/32`] },
      { name: 'r1', publicKey: k.r1.publicKey, allowedIps: [`${R1.overlay}/32`] },
      { name: 'r2', publicKey: k.r2.publicKey, allowedIps: [`${R2.overlay}/32`] },
    ],
    sections: { ...net(lab, c, 'exit'), exit: { enabled: true, accept_risk: true, wan: 'wan0' } },
  });
  const toExit = { name: 'exit', publicKey: g.keys.exit.publicKey, endpoint: `${ADDR.exitPublic}:${EXIT_PORT}`, allowedIps: [`${ADDR.exitOverlay}/32`], persistentKeepalive: 25 };
  const r2 = await startWarren(lab, c.ns.r2, {
    name: 'r2', privateKey: k.r2.privateKey, listenPort: R2.port, addresses: [`${R2.overlay}/10`], wire: 'native',
    peers: [
      { name: 'r1', publicKey: k.r1.publicKey, allowedIps: [`${R1.overlay}/32`] },
      toExit,
      ...(opts.r2KnowsHome ? [{ name: 'home', publicKey: g.keys.home.publicKey, allowedIps: [`${ADDR.homeOverlay}/32`] }] : []),
    ],
    sections: { ...net(lab, c, 'r2'), relay: { enabled: true } },
  });
  const r1 = await startWarren(lab, c.ns.r1, {
    name: 'r1', privateKey: k.r1.privateKey, listenPort: R1.port, addresses: [`${R1.overlay}/10`], wire: 'native',
    peers: [
      { name: 'home', publicKey: g.keys.home.publicKey, allowedIps: [`${ADDR.homeOverlay}/32`] },
      { name: 'r2', publicKey: k.r2.publicKey, endpoint: `${R2.public}:${R2.port}`, allowedIps: [`${R2.overlay}/32`], persistentKeepalive: 25 },
      ...(opts.r1ToExit ? [toExit] : []),
    ],
    sections: { ...net(lab, c, 'r1'), relay: { enabled: true } },
  });
  return { r1, r2, exit };
}

/**
 * The home: 1 hop (its exit directly), or a circuit of 2 (r1 → exit) or 3 (r1 → r2 → exit) hops
 * for every LAN device but the TV (direct).
 */
export function startCircuitHome(lab: Lab, c: CircuitLab, hops: 1 | 2 | 3, iface?: string): Promise<WarrenNode> {
  const { g, keys: k } = c;
  const path = hops === 3 ? [k.r1.publicKey, k.r2.publicKey, g.keys.exit.publicKey] : hops === 2 ? [k.r1.publicKey, g.keys.exit.publicKey] : [];
  return startWarren(lab, g.ns.home, {
    name: 'home', iface, privateKey: g.keys.home.privateKey, listenPort: 41001, addresses: [`${ADDR.homeOverlay}/10`], wire: 'native',
    peers: [
      { name: 'r1', publicKey: k.r1.publicKey, endpoint: `${R1.public}:${R1.port}`, allowedIps: [`${R1.overlay}/32`], persistentKeepalive: 25 },
      ...(hops === 1 ? [{ name: 'exit', publicKey: g.keys.exit.publicKey, endpoint: `${ADDR.exitPublic}:${EXIT_PORT}`, allowedIps: [`${ADDR.exitOverlay}/32`], persistentKeepalive: 25 }] : []),
    ],
    sections: {
      ...net(lab, c, 'home'),
      gateway: {
        lan: 'lan0', wan: 'wan0', dns_upstream: [ADDR.dns], hops, exit: hops === 1 ? g.keys.exit.publicKey : 'auto',
        ...(hops > 1 ? { circuit_path: path } : {}),
        device: [{ name: 'tv', mac: '02:00:00:00:00:20', policy: 'direct' }],
      },
    },
  });
}

/**
 * A home that draws its 2-hop circuits: both relays are configured members marked as relays
 * (sessions with both), the exit a member with the default route and no endpoint (known by key).
 */
export function startDrawingHome(lab: Lab, c: CircuitLab): Promise<WarrenNode> {
  const { g, keys: k } = c;
  return startWarren(lab, g.ns.home, {
    name: 'home', privateKey: g.keys.home.privateKey, listenPort: 41001, addresses: [`${ADDR.homeOverlay}/10`], wire: 'native',
    peers: [
      { name: 'r1', publicKey: k.r1.publicKey, endpoint: `${R1.public}:${R1.port}`, allowedIps: [`${R1.overlay}/32`], persistentKeepalive: 25, relay: true },
      { name: 'r2', publicKey: k.r2.publicKey, endpoint: `${R2.public}:${R2.port}`, allowedIps: [`${R2.overlay}/32`], persistentKeepalive: 25, relay: true },
      { name: 'exit', publicKey: g.keys.exit.publicKey, allowedIps: [`${ADDR.exitOverlay}/32`, '0.0.0.0/0'] },
    ],
    sections: {
      ...net(lab, c, 'home'),
      gateway: { lan: 'lan0', wan: 'wan0', dns_upstream: [ADDR.dns], hops: 2, device: [{ name: 'tv', mac: '02:00:00:00:00:20', policy: 'direct' }] },
    },
  });
}
