// NAT traversal: behind cone NATs the members punch through and talk router to router; behind
// symmetric NATs a relay member carries them without reading them; a router that changes its
// WAN address mid-transfer loses nothing for long. Topology: lib/nat-lab.ts.

import { afterEach, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
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

  test("roaming: the home router's WAN address changes during a transfer; traffic resumes within 10 s", async () => {
    lab = await Lab.create('nat-roam');
    const g = await buildNatLab(lab, { a: 'full-cone', b: 'restricted' }, false);
    await withLogs(g, async () => {
      const overlayB = await overlayOf(g, 'a', 'b');
      await waitFor(`a ping from A to B (${overlayB})`, async () => (await lab!.exec(g.ns.a, ['ping', '-c', '1', '-W', '1', overlayB], { check: false })).code === 0, { timeoutMs: 40_000, intervalMs: 200 });
      const server = lab!.spawn(g.ns.b, ['iperf3', '-s', '-B', overlayB, '-1'], { log: 'iperf3-server' });
      await Bun.sleep(500);
      const transfer = lab!.spawn(g.ns.a, ['iperf3', '--forceflush', '-c', overlayB, '-t', '20', '-b', '10M'], { log: 'iperf3-client' });
      const pings = lab!.spawn(g.ns.a, ['ping', '-D', '-i', '0.1', '-c', '200', '-W', '1', overlayB], { log: 'ping-during-roam' });
      await Bun.sleep(5_000);
      // The ISP hands router B a new address; its NAT mappings go with the old one.
      const changedAt = Date.now() / 1000;
      await lab!.exec(g.ns.rb, ['sh', '-c', 'ip addr flush dev wan0 && ip addr add 203.0.113.19/28 dev wan0 && ip route replace default via 203.0.113.17']);
      expect(await transfer.exited).toBe(0); // the transfer finished
      await pings.exited;
      await server.exited.catch(() => {});
      const times = readFileSync(pings.logPath, 'utf8').split('\n').map((l) => /^\[(\d+\.\d+)\].*bytes from/.exec(l)?.[1]).filter((t): t is string => t !== undefined).map(Number);
      const after = times.filter((t) => t > changedAt);
      expect(after.length).toBeGreaterThan(0);
      const gap = Math.max(...times.slice(1).map((t, i) => t - times[i]!));
      console.log(`largest gap between ping replies: ${gap.toFixed(1)} s; first reply after the change: ${(after[0]! - changedAt).toFixed(1)} s; A sees B at ${(await peerOf(g, 'a', 'b'))?.endpoint}`);
      expect(gap).toBeLessThan(10);
      expect((await peerOf(g, 'a', 'b'))?.endpoint?.startsWith('203.0.113.19:')).toBe(true);
    });
  }, 150_000);

  test('two relays, one 200 ms slower (a delaying bridge: this kernel has no netem): A measures both and relays through the fast one, run after run', async () => {
    lab = await Lab.create('nat-relays');
    const g = await buildNatLab(lab, { a: 'symmetric', b: 'symmetric' }, true, undefined, { slowRelayDelayMs: 100 });
    await withLogs(g, async () => {
      const via = (m: string) => `relay ${g.keys[m]!.slice(0, 8)}`;
      const choices: string[] = [];
      const rtts: { fast: number; slow: number }[] = [];
      for (let run = 0; run < 4; run++) {
        if (run > 0) await g.restart('a');
        const overlayB = await overlayOf(g, 'a', 'b');
        await waitFor(`run ${run}: a ping from A to B through a relay`, async () => (await lab!.exec(g.ns.a, ['ping', '-c', '1', '-W', '1', overlayB], { check: false })).code === 0, { timeoutMs: 40_000, intervalMs: 200 });
        const peer = await peerOf(g, 'a', 'b');
        expect(peer?.path).toBe('relay');
        choices.push(peer!.endpoint!);
        const quality = await waitFor('A measured both relays', async () => {
          const peers = (await g.nodes.a!.status()).peers as (PeerView & { rttMs: number | null })[];
          const rtt = (m: string) => peers.find((p) => p.publicKey === g.keys[m])?.rttMs ?? null;
          const [fast, slow] = [rtt('relay'), rtt('relay2')];
          return fast !== null && slow !== null ? { fast, slow } : undefined;
        }, { timeoutMs: 15_000, intervalMs: 500 });
        rtts.push(quality);
      }
      console.log(`relay choices over ${choices.length} runs: ${choices.map((c) => (c === via('relay') ? 'fast' : c === via('relay2') ? 'slow' : c)).join(', ')}; ` +
        `round trips fast/slow: ${rtts.map((r) => `${r.fast}/${r.slow} ms`).join(', ')}`);
      for (const r of rtts) {
        expect(r.slow).toBeGreaterThan(150);
        expect(r.fast).toBeLessThan(50);
      }
      expect(choices.every((c) => c === via('relay') || c === via('relay2'))).toBe(true);
      expect(choices.filter((c) => c === via('relay2')).length).toBeLessThanOrEqual(1);
    });
  }, 300_000);

  test('a direct path that opens later is taken: first through the relay, then router to router', async () => {
    lab = await Lab.create('nat-later');
    const g = await buildNatLab(lab, { a: 'restricted', b: 'restricted' }, true, async (inet) => {
      // The internet between the two homes is broken at first: only the relay reaches both.
      await lab!.exec(inet, ['nft', '-f', '-'], { stdin: `table ip cut {\n  chain cutfwd {\n    type filter hook forward priority 0; policy accept;\n    ip saddr { ${ROUTER_WAN.a}, ${ROUTER_WAN.b} } ip daddr { ${ROUTER_WAN.a}, ${ROUTER_WAN.b} } drop\n  }\n}\n` });
    });
    await withLogs(g, async () => {
      const overlayB = await overlayOf(g, 'a', 'b');
      await waitFor(`a ping from A to B (${overlayB}) through the relay`, async () => (await lab!.exec(g.ns.a, ['ping', '-c', '1', '-W', '1', overlayB], { check: false })).code === 0, { timeoutMs: 40_000, intervalMs: 200 });
      expect((await peerOf(g, 'a', 'b'))?.path).toBe('relay');
      await lab!.exec(g.ns.inet, ['nft', 'delete', 'table', 'ip', 'cut']);
      const t0 = Date.now();
      await waitFor('the path to become direct', async () => (await peerOf(g, 'a', 'b'))?.path === 'direct' && (await peerOf(g, 'b', 'a'))?.path === 'direct', { timeoutMs: 45_000, intervalMs: 500 });
      console.log(`direct ${((Date.now() - t0) / 1000).toFixed(1)} s after the internet between the homes healed`);
      expect((await lab!.exec(g.ns.a, ['ping', '-c', '3', '-i', '0.2', overlayB], { check: false })).code).toBe(0);
      expect((await peerOf(g, 'a', 'b'))?.endpoint?.startsWith(`${ROUTER_WAN.b}:`)).toBe(true);
    });
  }, 150_000);
});
