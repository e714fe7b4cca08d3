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
import type { WarrenNode } from './lib/warren.ts';
import { buildHomes, makeNetwork, startMember, type Homes } from './lib/homes.ts';
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
    await Promise.all([a.stop(), b.stop()]);
  }, 120_000);
});
