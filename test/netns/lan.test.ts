// Appliances on the same LAN find each other by multicast beacons, with no DHT node to ask: each
// starts a DHT of its own (bootstrap = []), so only the LAN can bring them together.
//
//   ns a (10.88.0.1) ──── one link ──── ns b (10.88.0.2)

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, readPcap, waitFor } from './lib/netns.ts';
import { startWarren, type WarrenNode } from './lib/warren.ts';
import { WARREN } from './lib/homes.ts';
import { LAN_GROUP } from '../../appliance/discovery/lan.ts';

let lab: Lab;
let nsA: string;
let nsB: string;
let linkA: string;

beforeAll(async () => {
  lab = await Lab.create('lan');
  nsA = await lab.ns('a');
  nsB = await lab.ns('b');
  linkA = (await lab.veth(nsA, nsB, { a: '10.88.0.1/24', b: '10.88.0.2/24' })).a;
});
afterAll(async () => {
  await lab?.cleanup();
});

describe('LAN discovery', () => {
  test('two appliances on one LAN, no DHT between them, find each other by beacons and tunnel', async () => {
    const dirs = { a: join(lab.tmpDir, 'a'), b: join(lab.tmpDir, 'b') };
    for (const d of Object.values(dirs)) mkdirSync(d);
    const cli = async (ns: string, args: string[], stdin?: string) => (await lab.exec(ns, [WARREN, ...args], { stdin })).stdout;
    await cli(nsA, ['init', '--name', 'home', '--data', dirs.a]);
    const invite = (await cli(nsA, ['invite', '--data', dirs.a])).match(/warren1:[a-z0-9]+/)?.[0] ?? '';
    await cli(nsB, ['join', invite, '--data', dirs.b]);
    const keyA = (await cli(nsA, ['pubkey'], readFileSync(join(dirs.a, 'private.key'), 'utf8'))).trim();
    const keyB = (await cli(nsB, ['pubkey'], readFileSync(join(dirs.b, 'private.key'), 'utf8'))).trim();
    await cli(nsA, ['approve', keyB, '--data', dirs.a]);
    await cli(nsB, ['approve', keyA, '--data', dirs.b]);
    const cap = await lab.capture(nsA, linkA, `dst host ${LAN_GROUP}`);
    const start = (name: string, ns: string, dir: string, port: number): Promise<WarrenNode> => startWarren(lab, ns, {
      name, wire: 'native', privateKeyPath: join(dir, 'private.key'), listenPort: port, addresses: [], env: { WARREN_LAB: '1' },
      sections: { network: { file: join(dir, 'network.toml') }, discovery: { bootstrap: [], lab_ranges: ['10.88.0.0/24'] } },
    });
    const [a, b] = await Promise.all([start('a', nsA, dirs.a, 40401), start('b', nsB, dirs.b, 40402)]);
    try {
      const peerB = await waitFor('A to find B on the LAN', async () => ((await a.status()).peers as { publicKey: string; allowedIps: string[] }[]).find((p) => p.publicKey === keyB), { timeoutMs: 20_000, intervalMs: 200 });
      const overlayB = peerB.allowedIps[0]!.split('/')[0]!;
      await waitFor(`a ping from A to B (${overlayB})`, async () => (await lab.exec(nsA, ['ping', '-c', '1', '-W', '1', overlayB], { check: false })).code === 0, { timeoutMs: 20_000, intervalMs: 200 });
      const beacons = await readPcap(await cap.stop());
      expect(beacons.length).toBeGreaterThan(0);
      expect(beacons.every((l) => l.includes(`> ${LAN_GROUP}.`))).toBe(true);
      // Whichever heard the other's beacon first started the handshake (the other admitted it).
      const heard = async (n: WarrenNode) => ((await n.status()).discovery as { lan: { members: number } }).lan.members;
      expect((await heard(a)) + (await heard(b))).toBeGreaterThan(0);
    } catch (e) {
      for (const n of [a, b]) console.log(n.proc.logTail(20));
      throw e;
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 60_000);
});
