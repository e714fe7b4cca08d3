// Two appliances that share only an invite find each other through the DHT and tunnel.
// (Issue "Find each other with no server": the Join/Discover part; no NAT in this topology yet.)
//
//   ns a (10.77.1.2) ──veth── ns inet (10.77.1.1 | 10.77.2.1, forwarding, lab DHT nodes) ──veth── ns b (10.77.2.2)
//
// A runs `warren init`, B `warren join INVITE`; each approves the other's key (both networks
// require approval); neither config names the other. Both publish encrypted records on the lab
// DHT and look each other up; the first ping between their overlay addresses proves it.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import { Lab, REPO_ROOT, waitFor } from './lib/netns.ts';
import { startWarren, type WarrenNode } from './lib/warren.ts';
import { startLabDht } from './lib/dht-lab.ts';
import { readUdp } from './lib/pcap.ts';

const WARREN = join(REPO_ROOT, 'warren');
const LAB_RANGE = '10.77.0.0/16';

let lab: Lab;
let nsA: string;
let nsB: string;
let nsI: string;
let vethIA: string;
let bootstrap: string[];

interface PeerView {
  publicKey: string;
  endpoint: string | null;
  allowedIps: string[];
  handshakes: number;
}

async function cli(ns: string, args: string[], stdin?: string): Promise<string> {
  return (await lab.exec(ns, [WARREN, ...args], { stdin })).stdout;
}

beforeAll(async () => {
  lab = await Lab.create('discovery');
  nsA = await lab.ns('a');
  nsB = await lab.ns('b');
  nsI = await lab.ns('inet');
  vethIA = (await lab.veth(nsI, nsA, { a: '10.77.1.1/24', b: '10.77.1.2/24' })).a;
  await lab.veth(nsI, nsB, { a: '10.77.2.1/24', b: '10.77.2.2/24' });
  await lab.exec(nsI, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  await lab.exec(nsA, ['ip', 'route', 'add', 'default', 'via', '10.77.1.1']);
  await lab.exec(nsB, ['ip', 'route', 'add', 'default', 'via', '10.77.2.1']);
  ({ bootstrap } = await startLabDht(lab, nsI, { host: '10.77.1.1', labRanges: [LAB_RANGE] }));
}, 60_000);

afterAll(async () => {
  await lab?.cleanup();
});

describe('discovery through the DHT', () => {
  test('given only the same invite, two appliances find each other and tunnel directly', async () => {
    const dirA = join(lab.tmpDir, 'a');
    const dirB = join(lab.tmpDir, 'b');
    mkdirSync(dirA);
    mkdirSync(dirB);
    await cli(nsA, ['init', '--name', 'family', '--data', dirA]);
    const invite = (await cli(nsA, ['invite', '--data', dirA])).match(/warren1:[a-z0-9]+/)?.[0];
    expect(invite).toBeDefined();
    await cli(nsB, ['join', invite!, '--data', dirB]);
    const keyA = (await cli(nsA, ['pubkey'], readFileSync(join(dirA, 'private.key'), 'utf8'))).trim();
    const keyB = (await cli(nsB, ['pubkey'], readFileSync(join(dirB, 'private.key'), 'utf8'))).trim();
    await cli(nsA, ['approve', keyB, '--data', dirA]);
    await cli(nsB, ['approve', keyA, '--data', dirB]);

    const start = (name: string, ns: string, dir: string, port: number): Promise<WarrenNode> =>
      startWarren(lab, ns, {
        name,
        wire: 'native',
        privateKeyPath: join(dir, 'private.key'),
        listenPort: port,
        addresses: [], // the overlay addresses derived from the key in the network
        sections: {
          network: { file: join(dir, 'network.toml') },
          discovery: { bootstrap, lab_ranges: [LAB_RANGE], lookup_interval: 1 },
        },
        env: { WARREN_LAB: '1' },
      });
    const cap = await lab.capture(nsI, vethIA, 'udp and (port 40301 or port 40302)');
    const t0 = Date.now();
    const [a, b] = await Promise.all([start('a', nsA, dirA, 40301), start('b', nsB, dirB, 40302)]);
    const peerOf = async (n: WarrenNode): Promise<PeerView | undefined> => ((await n.status()).peers as PeerView[])[0];
    const peerB = await waitFor('A to find B on the DHT', async () => {
      const p = await peerOf(a);
      return p && p.publicKey === keyB ? p : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    const overlayB = peerB.allowedIps[0]?.split('/')[0] ?? '';
    expect(overlayB.startsWith('100.')).toBe(true);
    await waitFor(`a ping from A to B's overlay address ${overlayB}`, async () =>
      (await lab.exec(nsA, ['ping', '-c', '1', '-W', '1', overlayB], { check: false })).code === 0, { timeoutMs: 30_000, intervalMs: 100 });
    const seconds = (Date.now() - t0) / 1000;
    console.log(`from start to the first tunnelled ping: ${seconds.toFixed(1)} s`);
    // And back: B found A too, at the address A's key derives.
    const peerA = await waitFor('B to know A', async () => {
      const p = await peerOf(b);
      return p && p.publicKey === keyA && p.handshakes > 0 ? p : undefined;
    }, { timeoutMs: 20_000 });
    expect((await lab.exec(nsB, ['ping', '-c', '2', '-W', '2', peerA.allowedIps[0]!.split('/')[0]!], { check: false })).code).toBe(0);
    // The tunnel runs between the two homes directly: every tunnel datagram is A ↔ B.
    const dgrams = readUdp(await cap.stop());
    expect(dgrams.length).toBeGreaterThan(0);
    expect(dgrams.every((d) => [d.src, d.dst].sort().join(' ') === '10.77.1.2 10.77.2.2')).toBe(true);
    await Promise.all([a.stop(), b.stop()]);
  }, 120_000);
});
