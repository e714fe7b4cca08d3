// Two appliances that share only an invite find each other through the DHT and tunnel.
// (Issue "Find each other with no server": the Join/Discover part; no NAT in this topology yet.)
//
//   ns a (10.77.1.2) ──veth── ns inet (10.77.1.1 | 10.77.2.1, forwarding, lab DHT nodes) ──veth── ns b (10.77.2.2)
//
// A runs `warren init`, B `warren join INVITE`; each approves the other's key (both networks
// require approval); neither config names the other. Both publish encrypted records on the lab
// DHT and look each other up; the first ping between their overlay addresses proves it.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Lab, waitFor } from './lib/netns.ts';
import { startWarren, type WarrenNode } from './lib/warren.ts';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WARREN, buildHomes, makeNetwork, startMember, type Homes } from './lib/homes.ts';
import { readUdp } from './lib/pcap.ts';
import { looksLikeKrpc } from '../../appliance/discovery/shared-socket.ts';

let lab: Lab;
let homes: Homes;

interface PeerView {
  publicKey: string;
  endpoint: string | null;
  allowedIps: string[];
  handshakes: number;
}

beforeAll(async () => {
  lab = await Lab.create('discovery');
  homes = await buildHomes(lab);
}, 60_000);

afterAll(async () => {
  await lab?.cleanup();
});

describe('discovery through the DHT', () => {
  test('given only the same invite, two appliances find each other and tunnel directly', async () => {
    const { nsA, nsB, vethIA } = homes;
    const { dirA, dirB, keyA, keyB } = await makeNetwork(lab, homes, 'family');
    const cap = await lab.capture(homes.nsI, vethIA, 'udp and (port 40301 or port 40302)');
    const t0 = Date.now();
    const [a, b] = await Promise.all([startMember(lab, homes, 'a', nsA, dirA, 40301), startMember(lab, homes, 'b', nsB, dirB, 40302)]);
    const peerOf = async (n: WarrenNode): Promise<PeerView | undefined> => ((await n.status()).peers as PeerView[])[0];
    await showLogsOnFailure([a, b], async () => {
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
    // The DHT speaks from the tunnel's socket (so its nodes see the address the tunnel is seen at);
    // everything else on those ports is the tunnel, and it runs between the two homes directly.
    const all = readUdp(await cap.stop());
    const dht = all.filter((d) => looksLikeKrpc(d.payload));
    const tunnel = all.filter((d) => !looksLikeKrpc(d.payload));
    expect(dht.length).toBeGreaterThan(0);
    expect(tunnel.length).toBeGreaterThan(0);
    expect(tunnel.every((d) => [d.src, d.dst].sort().join(' ') === '10.77.1.2 10.77.2.2')).toBe(true);
    });
    await Promise.all([a.stop(), b.stop()]);
  }, 120_000);

  test('a device not yet approved waits as pending on the other side; `warren approve` lets it in, `warren revoke` drops it', async () => {
    const { nsA, nsB } = homes;
    const { dirA, dirB, keyA, keyB } = await makeNetwork(lab, homes, 'family2', '-pending', false);
    const [a, b] = await Promise.all([startMember(lab, homes, 'a2', nsA, dirA, 40303), startMember(lab, homes, 'b2', nsB, dirB, 40304)]);
    const members = async (ns: string, dir: string) => (await lab.exec(ns, [WARREN, 'members', '--data', dir])).stdout;
    // Each daemon saw the other's record and wrote it down as pending; neither let it in.
    const pendingLine = (out: string, key: string) => (out.split(/\n(?=\S)/).find((section) => section.startsWith('pending')) ?? '').includes(key);
    await showLogsOnFailure([a, b], async () => {
    await waitFor('A to list B as pending', async () => pendingLine(await members(nsA, dirA), keyB), { timeoutMs: 30_000, intervalMs: 250 });
    await waitFor('B to list A as pending', async () => pendingLine(await members(nsB, dirB), keyA), { timeoutMs: 30_000, intervalMs: 250 });
    expect(((await a.status()).peers as PeerView[]).length).toBe(0);
    expect(((await b.status()).peers as PeerView[]).length).toBe(0);
    // The owners approve; the running daemons see the edit and connect.
    await lab.exec(nsA, [WARREN, 'approve', keyB, '--data', dirA]);
    await lab.exec(nsB, [WARREN, 'approve', keyA, '--data', dirB]);
    const peerB = await waitFor('A to add B once approved', async () => ((await a.status()).peers as PeerView[]).find((p) => p.publicKey === keyB), { timeoutMs: 30_000, intervalMs: 200 });
    const overlayB = peerB.allowedIps[0]!.split('/')[0]!;
    await waitFor(`a ping from A to ${overlayB}`, async () =>
      (await lab.exec(nsA, ['ping', '-c', '1', '-W', '1', overlayB], { check: false })).code === 0, { timeoutMs: 30_000, intervalMs: 100 });
    // Revoked while connected: A drops B at once (its sessions wiped), and B cannot come back.
    await lab.exec(nsA, [WARREN, 'revoke', keyB, '--data', dirA]);
    await waitFor('A to drop B', async () => !((await a.status()).peers as PeerView[]).some((p) => p.publicKey === keyB), { timeoutMs: 10_000, intervalMs: 200 });
    expect((await lab.exec(nsA, ['ping', '-c', '2', '-W', '1', overlayB], { check: false })).code).not.toBe(0);
    await Bun.sleep(3_000); // B's lookups and handshakes keep coming; A keeps refusing
    expect(((await a.status()).peers as PeerView[]).some((p) => p.publicKey === keyB)).toBe(false);
    });
    await Promise.all([a.stop(), b.stop()]);
  }, 120_000);

  test('peer exchange: a member with no DHT, told of one member, learns the others from it and reaches them', async () => {
    const { nsA, nsB, nsI } = homes;
    const nsC = await lab.ns('c');
    await lab.veth(nsI, nsC, { a: '10.77.3.1/24', b: '10.77.3.2/24' });
    await lab.exec(nsC, ['ip', 'route', 'add', 'default', 'via', '10.77.3.1']);
    const { dirA, dirB, keyA, keyB, invite } = await makeNetwork(lab, homes, 'family3', '-pex');
    const dirC = join(lab.tmpDir, 'c-pex');
    mkdirSync(dirC);
    const cli = async (ns: string, args: string[], stdin?: string) => (await lab.exec(ns, [WARREN, ...args], { stdin })).stdout;
    await cli(nsC, ['join', invite, '--data', dirC]);
    const keyC = (await cli(nsC, ['pubkey'], readFileSync(join(dirC, 'private.key'), 'utf8'))).trim();
    await cli(nsA, ['approve', keyC, '--data', dirA]);
    await cli(nsB, ['approve', keyC, '--data', dirB]);
    await cli(nsC, ['approve', keyA, '--data', dirC]);
    await cli(nsC, ['approve', keyB, '--data', dirC]);
    const [a, b] = await Promise.all([startMember(lab, homes, 'a3', nsA, dirA, 40305), startMember(lab, homes, 'b3', nsB, dirB, 40306)]);
    const overlayA = ((await a.status()).interfaceAddresses as string[])[0]!.split('/')[0]!;
    // C has no [discovery]: only A, by key and address, as a stock WireGuard-style peer.
    const c = await startWarren(lab, nsC, {
      name: 'c3', wire: 'native', privateKeyPath: join(dirC, 'private.key'), listenPort: 40307, addresses: [],
      sections: { network: { file: join(dirC, 'network.toml') } },
      peers: [{ name: 'a', publicKey: keyA, endpoint: '10.77.1.2:40305', allowedIps: [`${overlayA}/32`], persistentKeepalive: 5 }],
    });
    await showLogsOnFailure([a, b, c], async () => {
      const peerB = await waitFor('C to learn of B from A', async () => ((await c.status()).peers as PeerView[]).find((p) => p.publicKey === keyB), { timeoutMs: 40_000, intervalMs: 250 });
      const overlayB = peerB.allowedIps[0]!.split('/')[0]!;
      await waitFor(`a ping from C to B (${overlayB})`, async () => (await lab.exec(nsC, ['ping', '-c', '1', '-W', '1', overlayB], { check: false })).code === 0, { timeoutMs: 30_000, intervalMs: 200 });
      // C (no DHT) met B through peer exchange: A told C of B, or told B of C and B's handshake
      // reached C first (then C admits B by key, and A's word about B arrives second) — a race.
      const toldC = `pex: member-${keyA.slice(0, 8)} told us of member-${keyB.slice(0, 8)}`;
      const toldB = `pex: member-${keyA.slice(0, 8)} told us of member-${keyC.slice(0, 8)}`;
      expect(c.proc.logTail(50).includes(toldC) || b.proc.logTail(50).includes(toldB)).toBe(true);
      // A reflects where it sees C (no NAT here: C's own address): C publishes it as public.
      await waitFor('C to learn its address from A', async () => ((await c.status()).reflected as string[]).includes('10.77.3.2:40307'), { timeoutMs: 15_000, intervalMs: 250 });
    });
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  }, 120_000);
});

/** Runs `body`; when it throws, the daemons' log tails go to the test output first (CI keeps only that). */
async function showLogsOnFailure(nodes: WarrenNode[], body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    for (const n of nodes) console.log(`--- log tail of the daemon in ${n.ns} ---\n${n.proc.logTail()}`);
    throw e;
  }
}