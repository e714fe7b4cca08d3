// Nothing on the native wire can be fingerprinted (issue "A wire that is fast and that nothing
// can fingerprint", Must show a–d). Two Warren appliances on the native wire; a capture of
// ≥ 10,000 datagrams of their session — handshakes (rekeying every 2 s), a transfer, idle
// keepalives — is judged by statistics and by real DPI tools, with Warren's own WireGuard mode
// as the control the same tools must flag. An attacker's namespace then replays captured
// datagrams and sends random ones: the appliance must answer nothing.
//
//   ns a (Warren, UDP 40111) ──veth 192.168.77.0/24── ns b (Warren, UDP 40112) ──veth── ns m

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, REPO_ROOT, waitFor } from './lib/netns.ts';
import { startWarren, type WarrenNode } from './lib/warren.ts';
import { genKeyPair } from './lib/wireguard-go.ts';
import { readUdp, writeUdpPcap, type UdpRecord } from './lib/pcap.ts';
import { inspectCapture, randomnessFindings, captureWhile } from './lib/dpi.ts';
import { byteUniformityByOffset, describeUniformity } from './lib/stats.ts';
import { NativeWire } from '../../appliance/wire/wire.ts';
import { deriveWireKeys } from '../../appliance/wire/keys.ts';

const BUN = join(REPO_ROOT, 'node_modules/.bin/bun');
const FIXTURES = join(REPO_ROOT, 'test/netns/fixtures');
const TIMERS = { rekey_after_time: 2, reject_after_time: 5, keepalive_timeout: 2, rekey_timeout: 1 };

let lab: Lab;
let nsA: string;
let nsB: string;
let nsM: string;
let vethA: string;
let vethM: string;
let nativePcap: string;
let datagrams: UdpRecord[];
const secret = crypto.getRandomValues(new Uint8Array(32));
const secretB64 = Buffer.from(secret).toString('base64');

async function pair(wire: 'native' | 'wireguard', subnet: string, portA: number, portB: number): Promise<[WarrenNode, WarrenNode]> {
  const [ka, kb] = [await genKeyPair(), await genKeyPair()];
  const common = { wire, networkSecret: secretB64, timers: TIMERS };
  const b = await startWarren(lab, nsB, {
    ...common, name: `b-${wire}`, privateKey: kb.privateKey, listenPort: portB, addresses: [`${subnet}.2/24`],
    peers: [{ name: 'a', publicKey: ka.publicKey, allowedIps: [`${subnet}.1/32`], persistentKeepalive: 1 }],
  });
  const a = await startWarren(lab, nsA, {
    ...common, name: `a-${wire}`, privateKey: ka.privateKey, listenPort: portA, addresses: [`${subnet}.1/24`],
    peers: [{ name: 'b', publicKey: kb.publicKey, endpoint: `192.168.77.2:${portB}`, allowedIps: [`${subnet}.2/32`], persistentKeepalive: 1 }],
  });
  return [a, b];
}

/** A session's worth of traffic: pings, a rate-limited download, then idle keepalives. */
async function session(subnet: string, httpPort: number): Promise<void> {
  await waitFor('tunnel up', async () => (await lab.exec(nsA, ['ping', '-c', '1', '-W', '1', `${subnet}.2`], { check: false })).code === 0, { timeoutMs: 20_000 });
  await lab.exec(nsA, ['ping', '-c', '600', '-i', '0.005', '-s', '200', '-q', `${subnet}.2`], { check: false, timeoutMs: 30_000 });
  const big = join(lab.tmpDir, `big-${httpPort}.bin`);
  writeFileSync(big, Buffer.concat(Array.from({ length: 200 }, () => crypto.getRandomValues(new Uint8Array(65536)))));
  const srv = lab.spawn(nsB, [BUN, join(FIXTURES, 'file-server.ts'), big, String(httpPort)], { log: `invisible-http-${httpPort}` });
  await waitFor('http server', async () => (await lab.exec(nsB, ['curl', '-s', '-o', '/dev/null', `http://127.0.0.1:${httpPort}/`], { check: false })).code === 0);
  // ~13 MB at 4 MB/s: long enough for rekeys in the middle of the transfer.
  await lab.exec(nsA, ['curl', '-sS', '--limit-rate', '4M', '-o', '/dev/null', `http://${subnet}.2:${httpPort}/`], { timeoutMs: 60_000 });
  await lab.kill(srv);
  await Bun.sleep(4_000); // idle: keepalives and rekeys only
}

beforeAll(async () => {
  lab = await Lab.create('invisible');
  nsA = await lab.ns('a');
  nsB = await lab.ns('b');
  nsM = await lab.ns('m');
  vethA = (await lab.veth(nsA, nsB, { a: '192.168.77.1/24', b: '192.168.77.2/24' })).a;
  vethM = (await lab.veth(nsM, nsB, { a: '192.168.78.3/24', b: '192.168.78.2/24' })).a;
  // The capture starts before the daemons, so it holds the very first handshakes too.
  const { pcap } = await captureWhile(lab, nsA, vethA, 'udp port 40111', async () => {
    const [a, b] = await pair('native', '10.96.0', 40111, 40112);
    await session('10.96.0', 8095);
    await Promise.all([a.stop(), b.stop()]);
  });
  nativePcap = pcap;
  datagrams = readUdp(pcap);
}, 180_000);

afterAll(async () => {
  await lab?.cleanup();
});

describe('the native wire cannot be fingerprinted', () => {
  test('at least 10,000 datagrams were captured, each under the MTU', () => {
    console.log(`captured ${datagrams.length} datagrams`);
    expect(datagrams.length).toBeGreaterThanOrEqual(10_000);
    expect(Math.max(...datagrams.map((d) => d.payload.length))).toBeLessThanOrEqual(1472);
  });

  test('(a) every byte offset 0–63 is uniform (chi-square, Bonferroni, family-wise 0.001)', () => {
    const u = byteUniformityByOffset(datagrams.map((d) => d.payload), 64, 0.001);
    console.log(describeUniformity(u));
    expect(u.undersampled).toEqual([]);
    expect(u.pass).toBe(true);
  });

  test('(b) handshake datagrams have no fixed length', () => {
    const wire = new NativeWire(deriveWireKeys(secret), 'bucket');
    const handshakes = datagrams.filter((d) => wire.openHandshake(d.payload) !== null);
    const lengths = handshakes.map((d) => d.payload.length);
    const distinct = new Set(lengths).size;
    console.log(`${handshakes.length} handshake datagrams, ${distinct} distinct lengths: ${[...lengths].sort((x, y) => x - y).join(' ')}`);
    expect(handshakes.length).toBeGreaterThanOrEqual(8); // the first handshake and the rekeys, both ways
    expect(distinct).toBeGreaterThanOrEqual(Math.ceil(handshakes.length * 0.6));
    const counts = new Map<number, number>();
    for (const l of lengths) counts.set(l, (counts.get(l) ?? 0) + 1);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(Math.max(2, handshakes.length * 0.2));
  });

  test('(c) nDPI and tshark see nothing but unknown UDP', async () => {
    // The session itself is one flow: nDPI must never name it WireGuard or a VPN, by bytes or by port.
    const seen = await inspectCapture(nativePcap, { offsets: 16 });
    console.log(`the session's flow: nDPI ${seen.flows.map((f) => `${f.proto} (${f.confidence})`).join(', ')}; tshark: ${JSON.stringify(seen.topProtocols)}`);
    expect(seen.flows.length).toBeGreaterThan(0);
    expect(seen.flows.filter((f) => f.proto.includes('WireGuard') || f.category === 'VPN')).toEqual([]);
    // One flow is one draw: nDPI calls about 12 % of flows of truly random bytes RTP (its RTP test
    // is a first byte of 0x80–0xBF in its first packets), so "Unknown" on a single flow is a coin
    // with a 1-in-8 chance of the wrong side. The wire's bytes are therefore judged over many
    // flows: the same datagrams, in order, 30 per 5-tuple. Random-looking bytes give nDPI's profile
    // of random data (mostly Unknown, never WireGuard) and tshark's (data).
    const reflowed = datagrams.map((d, i) => ({ ...d, srcPort: 20000 + Math.floor(i / 30), dstPort: 30000 + Math.floor(i / 30) }));
    const path = join(lab.artifactsDir, 'native-reflowed.pcap');
    writeUdpPcap(path, reflowed);
    const many = await inspectCapture(path, { offsets: 16 });
    const unknown = many.flows.filter((f) => f.proto === 'Unknown').length;
    console.log(`re-flowed: ${many.flows.length} flows, ${unknown} Unknown, others: ${JSON.stringify(Object.fromEntries([...new Set(many.flows.map((f) => f.proto))].map((p) => [p, many.flows.filter((f) => f.proto === p).length])))}; tshark: ${JSON.stringify(many.topProtocols)}`);
    expect(many.flows.length).toBeGreaterThanOrEqual(300);
    expect(randomnessFindings(many)).toEqual([]);
    // And by content alone (port guessing off): no flow is WireGuard.
    const byContent = await inspectCapture(nativePcap, { offsets: 16, ndpi: { guess: false } });
    expect(byContent.flows.filter((f) => f.proto.includes('WireGuard'))).toEqual([]);
  }, 120_000);

  test('(c, control) the same tools name Warren\'s own WireGuard mode WireGuard', async () => {
    const { pcap } = await captureWhile(lab, nsA, vethA, 'udp port 51820', async () => {
      const [a, b] = await pair('wireguard', '10.96.1', 51820, 51821);
      await waitFor('wg tunnel up', async () => (await lab.exec(nsA, ['ping', '-c', '1', '-W', '1', '10.96.1.2'], { check: false })).code === 0, { timeoutMs: 20_000 });
      await lab.exec(nsA, ['ping', '-c', '400', '-i', '0.005', '-s', '600', '-q', '10.96.1.2'], { check: false, timeoutMs: 30_000 });
      await Promise.all([a.stop(), b.stop()]);
    });
    const seen = await inspectCapture(pcap, { offsets: 16 });
    expect(seen.flows.some((f) => f.proto.includes('WireGuard'))).toBe(true);
    // …by its bytes, not just its port.
    const byContent = await inspectCapture(pcap, { offsets: 16, ndpi: { guess: false } });
    expect(byContent.flows.some((f) => f.proto.includes('WireGuard'))).toBe(true);
    expect((seen.topProtocols.wg ?? 0) / seen.protocols.length).toBeGreaterThan(0.9);
    expect(randomnessFindings(seen).length).toBeGreaterThan(0);
  }, 120_000);

  test('(d) replayed datagrams and random probes get zero bytes in reply', async () => {
    const [a, b] = await pair('native', '10.96.2', 40141, 40142);
    await waitFor('tunnel up', async () => (await lab.exec(nsA, ['ping', '-c', '1', '-W', '1', '10.96.2.2'], { check: false })).code === 0, { timeoutMs: 20_000 });
    // Captured handshakes and data of this very session (so its sessions are live), then random bytes.
    const { pcap } = await captureWhile(lab, nsA, vethA, 'udp port 40141', async () => {
      await lab.exec(nsA, ['ping', '-c', '20', '-i', '0.05', '-q', '10.96.2.2'], { check: false });
      await Bun.sleep(2_500); // a rekey happens: its initiation is in the capture
    });
    const toB = readUdp(pcap).filter((d) => d.dstPort === 40142).map((d) => Buffer.from(d.payload).toString('hex'));
    expect(toB.length).toBeGreaterThan(10);
    // A goes quiet, so everything B receives from now on is the attacker's.
    await a.stop();
    const before = ((await b.status()).counters as Record<string, number>);
    const { pcap: replies } = await captureWhile(lab, nsM, vethM, 'udp and src host 192.168.78.2', async () => {
      for (let i = 0; i < toB.length; i += 50) {
        await lab.exec(nsM, [BUN, join(FIXTURES, 'udp-send.ts'), '192.168.78.2:40142', ...toB.slice(i, i + 50)]);
      }
      await lab.exec(nsM, [BUN, join(FIXTURES, 'udp-send.ts'), '192.168.78.2:40142', '--random', '500']);
      await Bun.sleep(500);
    });
    const after = ((await b.status()).counters as Record<string, number>);
    console.log(`replayed ${toB.length} + 500 random; B counted: replay ${after.dropReplay! - before.dropReplay!}, handshake replay ${after.handshakeReplay! - before.handshakeReplay!}, invalid ${after.handshakeInvalid! - before.handshakeInvalid!}, bad mac ${after.handshakeBadMac! - before.handshakeBadMac!}, malformed ${after.dropMalformed! - before.dropMalformed!}`);
    expect(readUdp(replies)).toHaveLength(0);
    expect(after.rxDatagrams! - before.rxDatagrams!).toBeGreaterThanOrEqual(toB.length + 500 - 5);
    expect(after.initiationsReceived).toBe(before.initiationsReceived); // no replayed initiation accepted
    expect(b.proc.exitCode()).toBeNull();
    await b.stop();
  }, 120_000);
});
