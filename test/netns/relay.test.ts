// Two homes behind NATs that defeat hole punching (each router maps every destination to a new
// random port) reach each other through a relay member on the internet. They share only an
// invite; they meet on the lab DHT; the relay passes their datagrams on without reading them.
//
//   home A 10.0.1.2 ── router A (random masquerade) 203.0.113.2 ──┐
//   home B 10.0.2.2 ── router B (random masquerade) 203.0.113.18 ─┼─ inet (lab DHT 198.51.100.200)
//   relay 203.0.113.34 ([relay] enabled) ─────────────────────────┘

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, readPcap, waitFor } from './lib/netns.ts';
import { startWarren, type WarrenNode } from './lib/warren.ts';
import { startLabDht } from './lib/dht-lab.ts';
import { WARREN } from './lib/homes.ts';

const LAB_RANGES = ['203.0.113.0/24', '198.51.100.0/24', '10.0.0.0/8'];
let lab: Lab;
const nodes: Record<string, WarrenNode> = {};
const ns: Record<string, string> = {};
const keys: Record<string, string> = {};
let relayWan = '';

interface PeerView { publicKey: string; handshakes: number; allowedIps: string[]; path: string; endpoint: string | null }

beforeAll(async () => {
  lab = await Lab.create('relay');
  for (const n of ['inet', 'ra', 'rb', 'a', 'b', 'relay']) ns[n] = await lab.ns(n);
  const sh = (n: string, ...argv: string[]) => lab.exec(ns[n]!, argv);
  await lab.veth(ns.ra!, ns.inet!, { a: '203.0.113.2/28', b: '203.0.113.1/28', nameA: 'wan0' });
  await lab.veth(ns.rb!, ns.inet!, { a: '203.0.113.18/28', b: '203.0.113.17/28', nameA: 'wan0' });
  relayWan = (await lab.veth(ns.relay!, ns.inet!, { a: '203.0.113.34/28', b: '203.0.113.33/28' })).a;
  await lab.veth(ns.a!, ns.ra!, { a: '10.0.1.2/24', b: '10.0.1.1/24' });
  await lab.veth(ns.b!, ns.rb!, { a: '10.0.2.2/24', b: '10.0.2.1/24' });
  for (const [n, gw] of [['ra', '203.0.113.1'], ['rb', '203.0.113.17'], ['relay', '203.0.113.33'], ['a', '10.0.1.1'], ['b', '10.0.2.1']]) await sh(n!, 'ip', 'route', 'add', 'default', 'via', gw!);
  for (const n of ['inet', 'ra', 'rb']) await sh(n, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  // "random": every new destination gets a new random source port — hole punching cannot guess it.
  for (const n of ['ra', 'rb']) {
    await lab.exec(ns[n]!, ['nft', '-f', '-'], { stdin: 'table ip homenat {\n  chain post {\n    type nat hook postrouting priority 100; policy accept;\n    oifname "wan0" masquerade random\n  }\n}\n' });
  }
  await sh('inet', 'ip', 'addr', 'add', '198.51.100.200/32', 'dev', 'lo');
  const dht = await startLabDht(lab, ns.inet!, { host: '198.51.100.200', nodes: 8, labRanges: LAB_RANGES });

  // The household: the relay's owner creates the network; A and B join; everyone approves everyone.
  const dirs: Record<string, string> = {};
  for (const n of ['relay', 'a', 'b']) mkdirSync((dirs[n] = join(lab.tmpDir, `${n}-data`)));
  const cli = async (n: string, args: string[], stdin?: string) => (await lab.exec(ns[n]!, [WARREN, ...args], { stdin })).stdout;
  await cli('relay', ['init', '--name', 'family', '--data', dirs.relay!]);
  const invite = (await cli('relay', ['invite', '--data', dirs.relay!])).match(/warren1:[a-z0-9]+/)?.[0] ?? '';
  for (const n of ['a', 'b']) await cli(n, ['join', invite, '--data', dirs[n]!]);
  for (const n of ['relay', 'a', 'b']) keys[n] = (await cli(n, ['pubkey'], readFileSync(join(dirs[n]!, 'private.key'), 'utf8'))).trim();
  for (const n of ['relay', 'a', 'b']) for (const m of ['relay', 'a', 'b']) if (n !== m) await cli(n, ['approve', keys[m]!, '--data', dirs[n]!]);
  const ports: Record<string, number> = { relay: 41010, a: 41011, b: 41012 };
  for (const n of ['relay', 'a', 'b']) {
    nodes[n] = await startWarren(lab, ns[n]!, {
      name: n, privateKeyPath: join(dirs[n]!, 'private.key'), listenPort: ports[n], addresses: [], wire: 'native', env: { WARREN_LAB: '1' },
      sections: {
        network: { file: join(dirs[n]!, 'network.toml') },
        discovery: { bootstrap: dht.bootstrap, lab_ranges: LAB_RANGES, lookup_interval: 1 },
        ...(n === 'relay' ? { relay: { enabled: true } } : {}),
      },
    });
  }
}, 120_000);

afterAll(async () => {
  await lab?.cleanup();
});

const peerOf = async (on: string, of: string): Promise<PeerView | undefined> => ((await nodes[on]!.status()).peers as PeerView[]).find((p) => p.publicKey === keys[of]);

describe('relay', () => {
  test('A and B, behind NATs that defeat hole punching, reach each other through the relay; it reads nothing of theirs', async () => {
    try {
      const b = await waitFor('A to know B', async () => (await peerOf('a', 'b')) ?? undefined, { timeoutMs: 30_000, intervalMs: 250 });
      const overlayB = b.allowedIps[0]!.split('/')[0]!;
      const cap = await lab.capture(ns.relay!, relayWan, 'udp');
      await waitFor(`a ping from A to B (${overlayB})`, async () => (await lab.exec(ns.a!, ['ping', '-c', '1', '-W', '1', overlayB], { check: false })).code === 0, { timeoutMs: 40_000, intervalMs: 200 });
      // Full-size packets too (the relayed datagram is larger than the path MTU: it is fragmented, and arrives).
      const marker = 'a5c3e1f7d9b2a4c6e8f0a1b3c5d7e9f1';
      const big = await lab.exec(ns.a!, ['ping', '-c', '3', '-i', '0.2', '-W', '2', '-s', '1372', '-p', marker.slice(0, 32), overlayB], { check: false });
      expect(big.code).toBe(0);
      const pcap = await cap.stop();
      expect((await peerOf('a', 'b'))?.path).toBe('relay');
      expect((await peerOf('b', 'a'))?.path).toBe('relay');
      const relayed = ((await nodes.relay!.status()).counters as Record<string, number>).relayForwarded ?? 0;
      expect(relayed).toBeGreaterThan(6);
      // The relay's wire: nothing of the ping's payload in the clear.
      const hex = (await lab.exec(ns.relay!, ['tcpdump', '-nn', '-x', '-r', pcap])).stdout.replace(/0x[0-9a-f]+:|\s/g, '');
      expect(hex.length).toBeGreaterThan(1000);
      expect(hex.includes(marker.slice(0, 16))).toBe(false);
      expect((await readPcap(pcap)).length).toBeGreaterThan(10);
      console.log(`relayed datagrams: ${relayed}; A sees B at ${(await peerOf('a', 'b'))?.endpoint}`);
    } catch (e) {
      for (const n of ['a', 'b', 'relay']) console.log(`--- ${n} ---\n${nodes[n]!.proc.logTail(30)}`);
      throw e;
    }
  }, 120_000);
});
