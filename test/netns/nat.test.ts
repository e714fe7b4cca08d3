// NAT traversal: behind cone NATs the members punch through and talk router to router; behind
// symmetric NATs a relay member carries them without reading them; a router that changes its
// WAN address mid-transfer loses nothing for long. Topology: lib/nat-lab.ts.

import { afterEach, describe, expect, test } from 'bun:test';
import { Lab, readPcap, waitFor } from './lib/netns.ts';
import { ROUTER_WAN, buildNatLab, type NatLab } from './lib/nat-lab.ts';

interface PeerView { publicKey: string; handshakes: number; allowedIps: string[]; path: string; endpoint: string | null }

let lab: Lab | null = null;
afterEach(async () => {
  await lab?.cleanup();
  lab = null;
});

const peerOf = async (g: NatLab, on: string, of: string): Promise<PeerView | undefined> =>
  ((await g.nodes[on]!.status()).peers as PeerView[]).find((p) => p.publicKey === g.keys[of]);

async function overlayOf(g: NatLab, on: string, of: string): Promise<string> {
  const p = await waitFor(`${on} to know ${of}`, async () => (await peerOf(g, on, of)) ?? undefined, { timeoutMs: 30_000, intervalMs: 250 });
  return p.allowedIps[0]!.split('/')[0]!;
}

async function withLogs(g: NatLab, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    for (const [n, node] of Object.entries(g.nodes)) {
      const st = await node.status().catch(() => null);
      console.log(`--- ${n}: discovery ${JSON.stringify(st?.discovery)} peers ${JSON.stringify((st?.peers as PeerView[] | undefined)?.map((p) => [p.publicKey.slice(0, 8), p.path, p.endpoint, p.handshakes]))}\n${node.proc.logTail(12)}`);
    }
    throw e;
  }
}

describe('NAT traversal', () => {
  test('behind two port-restricted cone NATs, the members punch through: datagrams go router to router', async () => {
    lab = await Lab.create('nat-cone');
    const g = await buildNatLab(lab, { a: 'restricted', b: 'restricted' }, false);
    await withLogs(g, async () => {
      const overlayB = await overlayOf(g, 'a', 'b');
      const cap = await lab!.capture(g.ns.inet, g.inetSide.a, 'udp');
      const t0 = Date.now();
      await waitFor(`a ping from A to B (${overlayB})`, async () => (await lab!.exec(g.ns.a, ['ping', '-c', '1', '-W', '1', overlayB], { check: false })).code === 0, { timeoutMs: 40_000, intervalMs: 200 });
      console.log(`first ping through the punched path after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      expect((await lab!.exec(g.ns.a, ['ping', '-c', '3', '-i', '0.2', '-s', '1372', overlayB], { check: false })).code).toBe(0);
      const pcap = await cap.stop();
      expect((await peerOf(g, 'a', 'b'))?.path).toBe('direct');
      expect((await peerOf(g, 'a', 'b'))?.endpoint?.startsWith(`${ROUTER_WAN.b}:`)).toBe(true);
      const between = await readPcap(pcap, `host ${ROUTER_WAN.a} and host ${ROUTER_WAN.b}`);
      expect(between.length).toBeGreaterThan(5);
    });
  }, 150_000);

  test('symmetric NATs on both sides: a relay member carries the traffic and its capture holds none of the payload', async () => {
    lab = await Lab.create('nat-sym');
    const g = await buildNatLab(lab, { a: 'symmetric', b: 'symmetric' }, true);
    await withLogs(g, async () => {
      const overlayB = await overlayOf(g, 'a', 'b');
      const cap = await lab!.capture(g.ns.relay!, g.relayWan!, 'udp');
      await waitFor(`a ping from A to B (${overlayB})`, async () => (await lab!.exec(g.ns.a, ['ping', '-c', '1', '-W', '1', overlayB], { check: false })).code === 0, { timeoutMs: 40_000, intervalMs: 200 });
      const marker = 'a5c3e1f7d9b2a4c6e8f0a1b3c5d7e9f1';
      expect((await lab!.exec(g.ns.a, ['ping', '-c', '3', '-i', '0.2', '-W', '2', '-s', '1372', '-p', marker, overlayB], { check: false })).code).toBe(0);
      const pcap = await cap.stop();
      expect((await peerOf(g, 'a', 'b'))?.path).toBe('relay');
      expect((await peerOf(g, 'b', 'a'))?.path).toBe('relay');
      const relayed = ((await g.nodes.relay!.status()).counters as Record<string, number>).relayForwarded ?? 0;
      expect(relayed).toBeGreaterThan(6);
      const hex = (await lab!.exec(g.ns.relay!, ['tcpdump', '-nn', '-x', '-r', pcap])).stdout.replace(/0x[0-9a-f]+:|\s/g, '');
      expect(hex.length).toBeGreaterThan(1000);
      expect(hex.includes(marker.slice(0, 16))).toBe(false);
      console.log(`relayed datagrams: ${relayed}`);
    });
  }, 150_000);
});
