// Homes behind NAT routers, for discovery and NAT traversal tests: each home a namespace with an
// appliance, behind a router namespace doing one kind of NAT, all routers on an "internet" with a
// lab DHT; optionally a public relay member. The members share only an invite and meet on the DHT.
//
//   home a 10.0.1.2 ── router a 203.0.113.2 ──┐
//   home b 10.0.2.2 ── router b 203.0.113.18 ─┼─ inet (lab DHT 198.51.100.200)
//   relay 203.0.113.34 (optional) ────────────┤
//   relay2 203.0.113.50 ── slow ───────────────┘ (optional: a layer-2 bridge that delays every
//                                                 frame, fixtures/delay-bridge.ts; no netem here)
//
// NAT kinds, as RFC 4787 names their behaviour:
//   full-cone   endpoint-independent mapping and filtering: the home's port is forwarded to it;
//   restricted  endpoint-independent mapping (masquerade keeps the port), address-and-port-
//               dependent filtering: new inbound traffic is dropped (in the input hook, so no
//               conntrack entry is confirmed for it — as on a home router with a firewall);
//   symmetric   a new random port for every destination (masquerade random): punching cannot work.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, waitFor, type Lab } from './netns.ts';
import { startWarren, type WarrenNode } from './warren.ts';
import { startLabDht } from './dht-lab.ts';
import { WARREN } from './homes.ts';

export type NatKind = 'full-cone' | 'restricted' | 'symmetric';
export const NAT_LAB_RANGES = ['203.0.113.0/24', '198.51.100.0/24', '10.0.0.0/8'];
export const PORTS = { a: 41011, b: 41012, relay: 41010, relay2: 41013 } as const;
export const ROUTER_WAN = { a: '203.0.113.2', b: '203.0.113.18' } as const;

export interface NatLab {
  ns: Record<'inet' | 'ra' | 'rb' | 'a' | 'b', string> & { relay?: string; relay2?: string };
  /** The internet side of each router's link (capture there). */
  inetSide: { a: string; b: string };
  relayWan: string | null;
  nodes: Record<string, WarrenNode>;
  keys: Record<string, string>;
  /** Stops a member's daemon and starts it again with the same configuration (nodes[m] follows). */
  restart(m: string): Promise<WarrenNode>;
}

function natRules(kind: NatKind, lanHost: string, port: number): string {
  const post = `  chain post {\n    type nat hook postrouting priority 100; policy accept;\n    oifname "wan0" masquerade${kind === 'symmetric' ? ' random' : ''}\n  }\n`;
  const pre = kind === 'full-cone' ? `  chain pre {\n    type nat hook prerouting priority -100; policy accept;\n    iifname "wan0" udp dport ${port} dnat to ${lanHost}:${port}\n  }\n` : '';
  const input = kind === 'restricted' ? `  chain in {\n    type filter hook input priority 0; policy accept;\n    iifname "wan0" ct state new drop\n  }\n` : '';
  return `table ip homenat {\n${post}${pre}${input}}\n`;
}

export async function buildNatLab(lab: Lab, nat: { a: NatKind; b: NatKind }, withRelay: boolean, beforeStart?: (inet: string) => Promise<void>, opts: { slowRelayDelayMs?: number } = {}): Promise<NatLab> {
  const ns = { inet: await lab.ns('inet'), ra: await lab.ns('ra'), rb: await lab.ns('rb'), a: await lab.ns('a'), b: await lab.ns('b') } as NatLab['ns'];
  if (withRelay) ns.relay = await lab.ns('relay');
  if (opts.slowRelayDelayMs !== undefined) {
    // relay2's link to the internet passes a bridge that holds each frame delayMs each way.
    ns.relay2 = await lab.ns('relay2');
    const slow = await lab.ns('slow');
    const toRelay = (await lab.veth(ns.relay2, slow, { a: '203.0.113.50/28' })).b;
    const toInet = (await lab.veth(slow, ns.inet, { b: '203.0.113.49/28' })).a;
    for (const dev of [toRelay, toInet]) await lab.exec(slow, ['ip', 'link', 'set', dev, 'promisc', 'on']);
    const bridge = lab.spawn(slow, [join(REPO_ROOT, 'node_modules/.bin/bun'), join(REPO_ROOT, 'test/netns/fixtures/delay-bridge.ts'), toRelay, toInet, String(opts.slowRelayDelayMs)], { log: 'delay-bridge' });
    await waitFor('the delay bridge', async () => bridge.logTail(3).includes('ready'), { timeoutMs: 10_000, intervalMs: 100 });
  }
  const sh = (n: string, ...argv: string[]) => lab.exec(n, argv);
  const inetA = (await lab.veth(ns.ra, ns.inet, { a: `${ROUTER_WAN.a}/28`, b: '203.0.113.1/28', nameA: 'wan0' })).b;
  const inetB = (await lab.veth(ns.rb, ns.inet, { a: `${ROUTER_WAN.b}/28`, b: '203.0.113.17/28', nameA: 'wan0' })).b;
  const relayWan = ns.relay ? (await lab.veth(ns.relay, ns.inet, { a: '203.0.113.34/28', b: '203.0.113.33/28' })).a : null;
  await lab.veth(ns.a, ns.ra, { a: '10.0.1.2/24', b: '10.0.1.1/24' });
  await lab.veth(ns.b, ns.rb, { a: '10.0.2.2/24', b: '10.0.2.1/24' });
  const routes: [string, string][] = [[ns.ra, '203.0.113.1'], [ns.rb, '203.0.113.17'], [ns.a, '10.0.1.1'], [ns.b, '10.0.2.1']];
  if (ns.relay) routes.push([ns.relay, '203.0.113.33']);
  if (ns.relay2) routes.push([ns.relay2, '203.0.113.49']);
  for (const [n, gw] of routes) await sh(n, 'ip', 'route', 'add', 'default', 'via', gw);
  for (const n of [ns.inet, ns.ra, ns.rb]) await sh(n, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  await lab.exec(ns.ra, ['nft', '-f', '-'], { stdin: natRules(nat.a, '10.0.1.2', PORTS.a) });
  await lab.exec(ns.rb, ['nft', '-f', '-'], { stdin: natRules(nat.b, '10.0.2.2', PORTS.b) });
  await sh(ns.inet, 'ip', 'addr', 'add', '198.51.100.200/32', 'dev', 'lo');
  const dht = await startLabDht(lab, ns.inet, { host: '198.51.100.200', nodes: 8, labRanges: NAT_LAB_RANGES });

  // The household: the first member creates the network, the others join; all approve all.
  const members = [...(ns.relay ? ['relay'] : []), ...(ns.relay2 ? ['relay2'] : []), 'a', 'b'];
  const nsOf = (m: string) => (ns as Record<string, string>)[m]!;
  const dirs: Record<string, string> = {};
  for (const m of members) mkdirSync((dirs[m] = join(lab.tmpDir, `${m}-data`)));
  const cli = async (m: string, args: string[], stdin?: string) => (await lab.exec(nsOf(m), [WARREN, ...args], { stdin })).stdout;
  const [first, ...rest] = members as [string, ...string[]];
  await cli(first, ['init', '--name', 'family', '--data', dirs[first]!]);
  const invite = (await cli(first, ['invite', '--data', dirs[first]!])).match(/warren1:[a-z0-9]+/)?.[0] ?? '';
  for (const m of rest) await cli(m, ['join', invite, '--data', dirs[m]!]);
  const keys: Record<string, string> = {};
  for (const m of members) keys[m] = (await cli(m, ['pubkey'], readFileSync(join(dirs[m]!, 'private.key'), 'utf8'))).trim();
  for (const m of members) for (const o of members) if (m !== o) await cli(m, ['approve', keys[o]!, '--data', dirs[m]!]);
  await beforeStart?.(ns.inet);
  const nodes: Record<string, WarrenNode> = {};
  const start = async (m: string) => {
    nodes[m] = await startWarren(lab, nsOf(m), {
      name: m, privateKeyPath: join(dirs[m]!, 'private.key'), listenPort: PORTS[m as keyof typeof PORTS], addresses: [], wire: 'native', env: { WARREN_LAB: '1' },
      sections: {
        network: { file: join(dirs[m]!, 'network.toml') },
        discovery: { bootstrap: dht.bootstrap, lab_ranges: NAT_LAB_RANGES, lookup_interval: 1 },
        ...(m.startsWith('relay') ? { relay: { enabled: true } } : {}),
      },
    });
    return nodes[m]!;
  };
  await Promise.all(members.map(start));
  const restart = async (m: string) => {
    await nodes[m]!.stop();
    return start(m);
  };
  return { ns, inetSide: { a: inetA, b: inetB }, relayWan, nodes, keys, restart };
}
