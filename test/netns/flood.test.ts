// Under attack: a handshake flood and a data flood from an attacker's namespace against an
// appliance on the WireGuard wire (there, anyone who knows its public key can make initiations
// with a valid mac1; on the native wire an outsider's datagrams are all garbage, the second case).
//
//   x (attacker) ── a (target) ── b (a legitimate peer)
//
// Figures (rate sent, what the target counted, its CPU, the control socket's latency) are
// printed; the properties are asserted.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, REPO_ROOT, waitFor } from './lib/netns.ts';
import { startWarren, type WarrenNode } from './lib/warren.ts';

const BUN = join(REPO_ROOT, 'node_modules/.bin/bun');
const FLOOD = join(REPO_ROOT, 'test/netns/fixtures/flood.ts');
const COOKIE_AFTER = 128;

let lab: Lab;
let nsA: string;
let nsB: string;
let nsX: string;
let a: WarrenNode;
let b: WarrenNode;

type Counters = Record<string, number>;
const counters = async (n: WarrenNode): Promise<Counters> => (await n.status()).counters as Counters;

/** utime + stime of a process, in seconds (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** p95 of `n` GET /status round trips on the control socket, in ms (what the admin asks for). */
async function statusP95(socketPath: string, n = 40): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await fetch('http://warren/status', { unix: socketPath } as RequestInit);
    await r.json();
    times.push(performance.now() - t);
    await Bun.sleep(20);
  }
  times.sort((x, y) => x - y);
  return times[Math.floor(n * 0.95)]!;
}

async function ping(ns: string, target: string, count = 2): Promise<boolean> {
  return (await lab.exec(ns, ['ping', '-c', String(count), '-i', '0.2', '-W', '1', target], { check: false, timeoutMs: 20_000 })).code === 0;
}

function startB(): Promise<WarrenNode> {
  return startWarren(lab, nsB, {
    wire: 'wireguard', name: 'b', privateKey: b?.privateKey ?? KEYS.b, addresses: ['10.98.0.2/24'],
    peers: [{ name: 'a', publicKey: a.publicKey, endpoint: '192.168.90.1:51820', allowedIps: ['10.98.0.1/32'] }],
    timers: { rekey_timeout: 1 },
  });
}

const KEYS = { a: '', b: '' };

beforeAll(async () => {
  lab = await Lab.create('flood');
  nsA = await lab.ns('a');
  nsB = await lab.ns('b');
  nsX = await lab.ns('x');
  await lab.veth(nsA, nsB, { a: '192.168.90.1/24', b: '192.168.90.2/24' });
  await lab.veth(nsX, nsA, { a: '192.168.91.2/24', b: '192.168.91.1/24' });
  KEYS.a = (await lab.exec(nsA, [join(REPO_ROOT, 'warren'), 'genkey'])).stdout.trim();
  KEYS.b = (await lab.exec(nsB, [join(REPO_ROOT, 'warren'), 'genkey'])).stdout.trim();
  const pubB = (await lab.exec(nsB, [join(REPO_ROOT, 'warren'), 'pubkey'], { stdin: KEYS.b })).stdout.trim();
  a = await startWarren(lab, nsA, {
    wire: 'wireguard', name: 'a', privateKey: KEYS.a, addresses: ['10.98.0.1/24'],
    peers: [{ name: 'b', publicKey: pubB, allowedIps: ['10.98.0.2/32'] }],
    limits: { cookie_after_handshakes_per_second: COOKIE_AFTER },
  });
  b = await startB();
  await waitFor('b reaches a', () => ping(nsB, '10.98.0.1', 1), { timeoutMs: 20_000, intervalMs: 300 });
}, 90_000);

afterAll(async () => {
  await lab?.cleanup();
});

describe('handshake and data floods', () => {
  test('a handshake flood: cookie replies instead of public-key work, a legitimate peer still gets in, the control socket stays responsive', async () => {
    const before = await counters(a);
    const cpu0 = cpuSeconds(a.proc.pid);
    const flood = lab.spawn(nsX, [BUN, FLOOD, '192.168.91.1:51820', '--initiations', a.publicKey, '--seconds', '10'], { log: 'flood-initiations' });
    await Bun.sleep(1500);
    // B restarts during the flood, so it must complete a new handshake with A under load.
    await lab.kill(b.proc, 'SIGKILL');
    b = await startB();
    const startedAt = performance.now();
    await waitFor('b gets through the flood', () => ping(nsB, '10.98.0.1', 1), { timeoutMs: 20_000, intervalMs: 200 });
    const inMs = performance.now() - startedAt;
    const p95 = await statusP95(a.socketPath);
    await flood.exited;
    const cpu = cpuSeconds(a.proc.pid) - cpu0;
    const out = JSON.parse(readFileSync(flood.logPath, 'utf8').trim().split('\n').pop()!) as { sent: number; seconds: number; rate: number };
    const after = await counters(a);
    const d = (k: string) => after[k]! - before[k]!;
    console.log(`handshake flood: ${out.sent} initiations in ${out.seconds} s (${out.rate}/s sent); a counted: cookie replies ${d('cookieRepliesSent')}, ` +
      `public-key work that failed ${d('handshakeInvalid')}, bad mac ${d('handshakeBadMac')}; b (restarted) through in ${(inMs / 1000).toFixed(1)} s after it started; ` +
      `control /status p95 ${p95.toFixed(1)} ms; a's CPU ${(cpu / out.seconds * 100).toFixed(0)} % of one core`);
    expect(a.proc.exitCode()).toBeNull();
    expect(d('cookieRepliesSent')).toBeGreaterThan(0);
    // Past the first COOKIE_AFTER a second, initiations cost a cookie reply, not a Diffie-Hellman.
    expect(d('handshakeInvalid')).toBeLessThan((COOKIE_AFTER + 50) * (out.seconds + 2));
    expect(d('handshakeInvalid')).toBeLessThan(out.sent / 5);
    expect(p95).toBeLessThan(100);
    expect(await ping(nsB, '10.98.0.1')).toBe(true);
  }, 90_000);

  test('a data flood of random datagrams is dropped before any public-key work and counted in /metrics', async () => {
    const before = await counters(a);
    const cpu0 = cpuSeconds(a.proc.pid);
    const r = await lab.exec(nsX, [BUN, FLOOD, '192.168.91.1:51820', '--garbage', '--seconds', '5'], { timeoutMs: 30_000 });
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { sent: number; seconds: number; rate: number };
    await Bun.sleep(500);
    const cpu = cpuSeconds(a.proc.pid) - cpu0;
    const after = await counters(a);
    const d = (k: string) => after[k]! - before[k]!;
    const dropped = d('dropMalformed') + d('dropUnknownIndex') + d('handshakeBadMac');
    console.log(`data flood: ${out.sent} datagrams in ${out.seconds} s (${out.rate}/s sent); a dropped ${dropped} ` +
      `(malformed ${d('dropMalformed')}, unknown index ${d('dropUnknownIndex')}, bad mac ${d('handshakeBadMac')}), ` +
      `the rest lost in the kernel's queues; public-key work ${d('handshakeInvalid')}; a's CPU ${(cpu / out.seconds * 100).toFixed(0)} % of one core`);
    expect(dropped).toBeGreaterThan(out.sent / 10);
    expect(dropped).toBeLessThanOrEqual(out.sent);
    expect(d('handshakeInvalid')).toBe(0);
    expect(d('initiationsReceived')).toBe(0);
    const metrics = await (await fetch('http://warren/metrics', { unix: a.socketPath } as RequestInit)).text();
    const total = (name: string) => Number(metrics.match(new RegExp(`^warren_${name}_total (\\d+)$`, 'm'))?.[1] ?? NaN);
    expect(total('drop_malformed') + total('drop_unknown_index') + total('handshake_bad_mac')).toBeGreaterThanOrEqual(dropped);
    expect(a.proc.exitCode()).toBeNull();
    expect(await ping(nsB, '10.98.0.1')).toBe(true);
  }, 60_000);
});
