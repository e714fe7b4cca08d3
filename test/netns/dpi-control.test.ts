// The control for every DPI test: before trusting "nDPI and tshark cannot tell Warren's native
// wire from random bytes", show that the same probes DO recognise WireGuard and do NOT recognise
// random UDP — on traffic captured in this lab, with the tools exactly as a later test runs them.
//
//   ns a (initiator, 10.96.0.1) ──veth 192.168.82.0/24── ns b (responder, 10.96.0.2)
//
// A non-standard port (not 51820) so nDPI cannot name the flow from the port alone.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { CHANCE_HEURISTICS, captureWhile, inspectCapture, ndpiFlows } from './lib/dpi.ts';
import { Lab, REPO_ROOT, waitFor } from './lib/netns.ts';
import { describeUniformity, MIN_SAMPLES_PER_OFFSET } from './lib/stats.ts';
import { startWireguardGo } from './lib/wireguard-go.ts';

const BUN = join(REPO_ROOT, 'node_modules/.bin/bun');
const UDP_SEND = join(REPO_ROOT, 'test/netns/fixtures/udp-send.ts');
const WG_PORT = 43_210;
const SINK_PORT = 40_123;

let lab: Lab;
let nsA: string;
let nsB: string;
let vethA: string;

beforeAll(async () => {
  lab = await Lab.create('dpi-control');
  nsA = await lab.ns('a');
  nsB = await lab.ns('b');
  ({ a: vethA } = await lab.veth(nsA, nsB, { a: '192.168.82.1/24', b: '192.168.82.2/24' }));
}, 60_000);

afterAll(async () => {
  await lab?.cleanup();
});

describe('DPI control: the probes see what we claim', () => {
  test('a wireguard-go tunnel is WireGuard to nDPI, `wg` to tshark, and not uniform at its type byte', async () => {
    // The responder starts first, so the initiator's first initiation is not lost to a closed port.
    const responder = await startWireguardGo(lab, nsB, { listenPort: WG_PORT, addresses: ['10.96.0.2/24'], logLevel: 'error' });
    const initiator = await startWireguardGo(lab, nsA, {
      listenPort: WG_PORT,
      addresses: ['10.96.0.1/24'],
      logLevel: 'error',
      peers: [{ publicKey: responder.publicKey, endpoint: `192.168.82.2:${WG_PORT}`, allowedIps: ['10.96.0.2/32'] }],
    });
    await responder.set({ peers: [{ publicKey: initiator.publicKey, allowedIps: ['10.96.0.1/32'] }] });

    const { pcap } = await captureWhile(lab, nsA, vethA, 'udp', async () => {
      await lab.exec(nsA, ['ping', '-c', '50', '-i', '0.02', '-s', '1200', '-W', '5', '10.96.0.2']);
      // More data, so that each byte offset has the ≥ 1,280 samples the uniformity test needs.
      await lab.exec(nsA, ['ping', '-q', '-c', '800', '-i', '0.002', '-s', '1200', '-W', '5', '10.96.0.2']);
    });

    const seen = await inspectCapture(pcap, { offsets: 64, ndpi: { guess: false } });
    const context = `pcap: ${pcap}\nnDPI: ${JSON.stringify(seen.flows)}\ntshark: ${JSON.stringify(seen.topProtocols)}`;

    // nDPI: the one flow, named by its dissector (guessing by port is off).
    expect(seen.flows.length, context).toBe(1);
    expect(seen.flows[0], context).toMatchObject({ proto: 'WireGuard', confidence: 'DPI', l4: 'UDP' });
    expect(seen.flows[0]?.packets, context).toBe(seen.protocols.length);

    // tshark: every datagram, by its default heuristics.
    expect(seen.protocols.length, context).toBeGreaterThanOrEqual(2 * 850);
    expect(seen.topProtocols, context).toEqual({ wg: seen.protocols.length });
    expect(seen.protocols[0], context).toBe('eth:ethertype:ip:udp:wg');

    // Bytes: the 16-byte transport header (type 4, three zero bytes, receiver index, counter)
    // is far from uniform; the ChaCha20-Poly1305 ciphertext after it is uniform.
    const u = seen.uniformity;
    expect(u.undersampled, describeUniformity(u)).toEqual([]);
    expect(u.pass, describeUniformity(u)).toBe(false);
    expect(u[0]?.tested).toBe(true);
    expect(u[0]?.pValue, describeUniformity(u)).toBeLessThan(u.threshold);
    const failing = u.filter((r) => r.pValue < u.threshold).map((r) => r.offset);
    expect(failing, describeUniformity(u)).toEqual(expect.arrayContaining([0, 1, 2, 3]));
    expect(Math.max(...failing), describeUniformity(u)).toBeLessThan(16);
  }, 120_000);

  test('random UDP payloads are Unknown to nDPI and `data` to tshark, and uniform', async () => {
    // A sink, so that no ICMP port-unreachable comes back (the sender would see ECONNREFUSED).
    const sinkCode = `await Bun.udpSocket({ port: ${SINK_PORT} }); await Bun.sleep(600_000);`;
    const sink = lab.spawn(nsB, [BUN, '-e', sinkCode], { log: 'udp-sink' });
    await waitFor(`UDP sink on port ${SINK_PORT} (log: ${sink.logPath})`, async () => {
      if (sink.exitCode() !== null) throw new Error(`UDP sink exited:\n${sink.logTail()}`);
      return (await lab.exec(nsB, ['ss', '-Huln', `sport = :${SINK_PORT}`])).stdout.trim() !== '';
    });

    // Purely random payloads of 32–512 bytes (udp-send's own --random mode plants WireGuard-like
    // type bytes in half of them, which is a different test). Sent in batches, each from a fresh
    // source port: several flows, and each argv well under the kernel's argument size limit.
    const batches = 8;
    const perBatch = 250;
    const { pcap } = await captureWhile(lab, nsA, vethA, `udp and dst port ${SINK_PORT}`, async () => {
      for (let b = 0; b < batches; b++) {
        const hex = Array.from({ length: perBatch }, () => {
          const length = 32 + Math.floor(Math.random() * 481);
          return Buffer.from(crypto.getRandomValues(new Uint8Array(length))).toString('hex');
        });
        await lab.exec(nsA, [BUN, UDP_SEND, `192.168.82.2:${SINK_PORT}`, ...hex]);
      }
    });

    const seen = await inspectCapture(pcap, { offsets: 32 });
    const context = `pcap: ${pcap}\nnDPI: ${JSON.stringify(seen.flows)}\ntshark: ${JSON.stringify(seen.topProtocols)}`;

    // nDPI, with its port guessing on (as a middlebox would): nothing recognised in any flow.
    expect(seen.flows.length, context).toBe(batches);
    for (const f of seen.flows) expect(f, context).toMatchObject({ proto: 'Unknown', l4: 'UDP' });
    expect(seen.flows.reduce((n, f) => n + f.packets, 0), context).toBe(batches * perBatch);
    // Content-only classification agrees.
    expect((await ndpiFlows(pcap, { guess: false })).map((f) => f.proto), context).toEqual(new Array(batches).fill('Unknown'));

    // tshark: `data`, bar heuristics that random bytes match by chance (see CHANCE_HEURISTICS).
    expect(seen.protocols.length, context).toBe(batches * perBatch);
    expect(seen.topProtocols.wg, context).toBeUndefined();
    for (const top of Object.keys(seen.topProtocols)) expect(['data', ...CHANCE_HEURISTICS], context).toContain(top);
    expect(seen.topProtocols.data ?? 0, context).toBeGreaterThanOrEqual(0.9 * seen.protocols.length);

    // Bytes: uniform at every offset, with enough samples to say so.
    expect(seen.payloads.length).toBeGreaterThanOrEqual(MIN_SAMPLES_PER_OFFSET);
    expect(seen.uniformity.pass, describeUniformity(seen.uniformity)).toBe(true);

    await lab.kill(sink);
  }, 120_000);
});
