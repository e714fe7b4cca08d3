// Lab test (root): a real TUN inside a private network namespace. The work happens in a child
// process under `ip netns exec` (a TUN fd belongs to the namespace it was opened in); this file
// makes and always removes the namespace, and checks what the child reports.

import { afterAll, beforeAll, expect, test } from 'bun:test';

const NS = `warren-tun-${process.pid}-a`;

function sh(...cmd: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync(cmd, { stdout: 'pipe', stderr: 'pipe' });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

beforeAll(() => {
  const r = sh('ip', 'netns', 'add', NS);
  if (r.code !== 0) throw new Error(`ip netns add ${NS} failed (root needed): ${r.err}`);
});

afterAll(() => {
  sh('ip', 'netns', 'delete', NS);
});

interface ChildReport {
  name: string;
  received: number[][];
  readError?: string;
  stats: { packets: number; batches: number; ringFull: number };
  stopMs: number;
  wrote: boolean;
  writeStats: { written: number; dropped: number };
  delivered: { data: number[]; port: number; address: string }[];
  sent: number[];
  sentPort: number;
  tooLong: string;
  busy: string;
}

let report: ChildReport;

test('the child opens a TUN in its namespace and reports', async () => {
  const child = Bun.spawn(['ip', 'netns', 'exec', NS, process.execPath, new URL('./tun-child.ts', import.meta.url).pathname], {
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const timer = setTimeout(() => child.kill(), 15_000);
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`tun-child exited ${code}: ${err}`);
  report = JSON.parse(out.trim().split('\n').at(-1)!) as ChildReport;
  expect(report.name).toBe('wtun0');
}, 20_000);

test('packets routed to the TUN are read with correct lengths and contents', () => {
  expect(report.readError).toBeUndefined();
  const udp = report.received.filter((p) => p[0] === 0x45 && p[9] === 17);
  expect(udp).toHaveLength(4);
  const sizes = [1, 100, 1400, 0];
  udp.forEach((p, k) => {
    const size = sizes[k]!;
    expect(p.length).toBe(28 + size); // IPv4 header (20) + UDP header (8) + payload
    expect((p[2]! << 8) | p[3]!).toBe(28 + size); // IPv4 total length
    expect(p.slice(12, 16)).toEqual([10, 200, 0, 1]);
    expect(p.slice(16, 20)).toEqual([10, 200, 0, 2]);
    expect((p[20]! << 8) | p[21]!).toBe(report.sentPort);
    expect((p[22]! << 8) | p[23]!).toBe(5555);
    expect(p.slice(28)).toEqual(Array.from({ length: size }, (_, i) => (i * 7 + k) & 0xff));
  });
  expect(report.stats.packets).toBeGreaterThanOrEqual(4);
  expect(report.stats.batches).toBeGreaterThanOrEqual(1);
  expect(report.stats.ringFull).toBe(0);
});

test('stop() returns within a poll interval', () => {
  expect(report.stopMs).toBeLessThan(500);
});

test('a packet written to the TUN is delivered to a UDP socket in the namespace', () => {
  expect(report.wrote).toBe(true);
  expect(report.writeStats).toEqual({ written: 1, dropped: 0 });
  expect(report.delivered).toHaveLength(1);
  expect(report.delivered[0]!.data).toEqual(report.sent);
  expect(report.delivered[0]!.port).toBe(4242);
  expect(report.delivered[0]!.address).toBe('10.200.0.2');
});

test('a too-long name fails with invalid-argument; a name in use with busy', () => {
  expect(report.tooLong).toBe('invalid-argument');
  expect(report.busy).toBe('busy');
});
