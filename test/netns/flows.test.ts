// Many flows through one exit (issue "Made for sharing"): a LAN client behind Warren holds 5,000
// TCP connections open to a server on the "internet" while a UDP stream runs beside them; every
// connection echoes before and after a hold, the UDP stream arrives, and the exit's memory and
// connection-tracking figures are reported. Topology: lib/gateway-lab.ts.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { join } from 'node:path';
import { Lab, REPO_ROOT, waitFor } from './lib/netns.ts';
import type { WarrenNode } from './lib/warren.ts';
import { ADDR, buildGatewayLab, curlFrom, startExit, startHome, type GatewayLab } from './lib/gateway-lab.ts';

const BUN = join(REPO_ROOT, 'node_modules/.bin/bun');
const FLOWS = join(REPO_ROOT, 'test/netns/fixtures/many-flows.ts');
const N = 5000;

let lab: Lab;
let g: GatewayLab;
let home: WarrenNode;
let exit: WarrenNode;

beforeAll(async () => {
  lab = await Lab.create('flows');
  g = await buildGatewayLab(lab);
  exit = await startExit(lab, g);
  home = await startHome(lab, g);
  await waitFor('the client reaches the web through the exit', () => curlFrom(lab, g.ns.client, `http://${ADDR.web}/`).then((b) => b ?? undefined), { timeoutMs: 30_000, intervalMs: 250 });
}, 120_000);

afterAll(async () => {
  await lab?.cleanup();
});

const mb = (bytes: number) => (bytes / 1048576).toFixed(1);

test(`${N} concurrent TCP connections and a UDP stream pass through one exit at once`, async () => {
  const server = lab.spawn(g.ns.inet, ['bash', '-c', `ulimit -n "$(ulimit -Hn)" && exec ${BUN} ${FLOWS} serve ${ADDR.web}:9000`], { log: 'flows-server' });
  const udpServer = lab.spawn(g.ns.inet, ['iperf3', '-s', '-B', ADDR.web, '-p', '5210'], { log: 'iperf3-udp-server' });
  await waitFor('the flows server', async () => server.logTail(5).includes('ready'), { timeoutMs: 15_000, intervalMs: 100 });
  await waitFor('iperf3 server', async () => (await lab.exec(g.ns.inet, ['ss', '-Hltn', 'sport = :5210'])).stdout.trim() !== '', { timeoutMs: 10_000, intervalMs: 100 });
  const before = await exit.status();

  const udp = lab.exec(g.ns.client, ['iperf3', '-c', ADDR.web, '-p', '5210', '-u', '-b', '50M', '-l', '1200', '-t', '20', '-J'], { check: false, timeoutMs: 60_000 });
  const flows = lab.exec(g.ns.client, ['bash', '-c', `ulimit -n "$(ulimit -Hn)" && exec ${BUN} ${FLOWS} open ${ADDR.web}:9000 ${N} 8`], { check: false, timeoutMs: 120_000 });
  // While they are all open: the server's count, the exit's tracked connections and memory.
  let peak = { open: 0, exitConntrack: 0, exitRss: 0, homeRss: 0 };
  const sampler = (async () => {
    for (let i = 0; i < 60; i++) {
      await Bun.sleep(500);
      const line = server.logTail(3).trim().split('\n').at(-1) ?? '';
      const open = line.startsWith('{') ? (JSON.parse(line) as { open: number }).open : 0;
      const e = await exit.status().catch(() => null);
      const h = await home.status().catch(() => null);
      const ct = (e?.conntrack as { count: number } | null)?.count ?? 0;
      peak = {
        open: Math.max(peak.open, open),
        exitConntrack: Math.max(peak.exitConntrack, ct),
        exitRss: Math.max(peak.exitRss, (e?.rssBytes as number) ?? 0),
        homeRss: Math.max(peak.homeRss, (h?.rssBytes as number) ?? 0),
      };
      if (peak.open >= N && i > 20) break;
    }
  })();
  const f = await flows;
  await sampler;
  const u = await udp;
  await lab.kill(server);
  await lab.kill(udpServer);

  const result = JSON.parse(f.stdout.trim().split('\n').at(-1) ?? '{}') as { opened: number; echoed: number; echoedAfterHold: number; failed: number; openMs: number };
  const sum = (JSON.parse(u.stdout) as { end: { sum: { bits_per_second: number; lost_percent: number; packets: number } } }).end.sum;
  const ct = before.conntrack as { count: number; max: number } | null;
  console.log(
    `${result.opened} connections opened in ${(result.openMs / 1000).toFixed(1)} s, ${result.echoed} echoed, ${result.echoedAfterHold} after an 8 s hold, ${result.failed} failed; ` +
      `the server saw up to ${peak.open} open at once; UDP beside them: ${(sum.bits_per_second / 1e6).toFixed(1)} Mbit/s, ${sum.lost_percent.toFixed(2)} % lost of ${sum.packets}; ` +
      `exit: up to ${peak.exitConntrack} tracked connections (kernel limit ${ct?.max ?? '?'}), RSS ${mb(before.rssBytes as number)} → up to ${mb(peak.exitRss)} MB; home RSS up to ${mb(peak.homeRss)} MB`,
  );
  expect(result.opened).toBe(N);
  expect(result.echoed).toBe(N);
  expect(result.echoedAfterHold).toBe(N);
  expect(peak.open).toBeGreaterThanOrEqual(N);
  expect(peak.exitConntrack).toBeGreaterThanOrEqual(N); // the exit tracked them all at once
  expect(sum.bits_per_second).toBeGreaterThan(40e6);
  // Measured 1.3 % lost on a quiet machine, 4.6 % with another test suite running: the losses
  // fall in the second when 5,000 connections open at once on two cores.
  expect(sum.lost_percent).toBeLessThan(10);
  // Warren's own state does not grow with flows (they are the kernel's): no blow-up.
  expect(peak.exitRss - (before.rssBytes as number)).toBeLessThan(64 * 1048576);
}, 180_000);

test('fair sharing: a member over its connection cap is refused more; its rate is capped each way', async () => {
  await lab.kill(exit.proc);
  exit = await startExit(lab, g, exit.iface, { member_connections: 100, member_rate_mbit: 20 });
  await waitFor('the client reaches the web through the exit again', () => curlFrom(lab, g.ns.client, `http://${ADDR.web}/`, 2).then((b) => b ?? undefined), { timeoutMs: 30_000, intervalMs: 250 });
  const server = lab.spawn(g.ns.inet, ['bash', '-c', `ulimit -n "$(ulimit -Hn)" && exec ${BUN} ${FLOWS} serve ${ADDR.web}:9001`], { log: 'flows-server-capped' });
  const iperf = lab.spawn(g.ns.inet, ['iperf3', '-s', '-B', ADDR.web, '-p', '5211'], { log: 'iperf3-capped-server' });
  try {
    await waitFor('the flows server', async () => server.logTail(50).includes('ready'), { timeoutMs: 15_000, intervalMs: 100 });
    await waitFor('iperf3 server', async () => (await lab.exec(g.ns.inet, ['ss', '-Hltn', 'sport = :5211'])).stdout.trim() !== '', { timeoutMs: 10_000, intervalMs: 100 });
    const f = await lab.exec(g.ns.client, ['bash', '-c', `ulimit -n "$(ulimit -Hn)" && exec ${BUN} ${FLOWS} open ${ADDR.web}:9001 300 1`], { check: false, timeoutMs: 120_000 });
    const r = JSON.parse(f.stdout.trim().split('\n').at(-1) ?? '{}') as { opened: number; failed: number; echoed: number };
    const mbit = async (reverse: boolean) => {
      const out = await lab.exec(g.ns.client, ['iperf3', '-c', ADDR.web, '-p', '5211', '-t', '4', '-J', ...(reverse ? ['-R'] : [])], { check: false, timeoutMs: 30_000 });
      return (JSON.parse(out.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second / 1e6;
    };
    const up = await mbit(false);
    const down = await mbit(true);
    console.log(`member_connections = 100: ${r.opened} of 300 connections made (${r.failed} refused); member_rate_mbit = 20: ${up.toFixed(1)} Mbit/s up, ${down.toFixed(1)} Mbit/s down`);
    expect(r.opened).toBeLessThanOrEqual(100);
    expect(r.opened).toBeGreaterThanOrEqual(90);
    expect(r.echoed).toBe(r.opened);
    // The kernel's policer lets ~20 % more through than its nominal rate (README); uncapped, this path carries 190–450.
    for (const v of [up, down]) {
      expect(v).toBeGreaterThan(10);
      expect(v).toBeLessThan(27);
    }
  } finally {
    await lab.kill(server);
    await lab.kill(iperf);
  }
}, 180_000);

test('a shaped uplink (exit.wan_mbit = 40): the owner\'s own upload keeps priority over a member\'s', async () => {
  await lab.kill(exit.proc);
  exit = await startExit(lab, g, exit.iface, { wan_mbit: 40 });
  await waitFor('the client reaches the web through the exit again', () => curlFrom(lab, g.ns.client, `http://${ADDR.web}/`, 2).then((b) => b ?? undefined), { timeoutMs: 30_000, intervalMs: 250 });
  expect((await lab.exec(g.ns.exit, ['tc', 'qdisc', 'show', 'dev', 'wan0'])).stdout).toContain('htb 5741:');
  const servers = [5221, 5222].map((port) => lab.spawn(g.ns.inet, ['iperf3', '-s', '-B', ADDR.web, '-p', String(port)], { log: `iperf3-shaped-${port}` }));
  try {
    for (const port of [5221, 5222]) await waitFor(`iperf3 server ${port}`, async () => (await lab.exec(g.ns.inet, ['ss', '-Hltn', `sport = :${port}`])).stdout.trim() !== '', { timeoutMs: 10_000, intervalMs: 100 });
    const mbit = (r: { stdout: string }) => (JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second / 1e6;
    // The owner (the exit's own host) and a member (the LAN client through the tunnel) upload at once.
    const [owner, member] = await Promise.all([
      lab.exec(g.ns.exit, ['iperf3', '-c', ADDR.web, '-p', '5221', '-t', '6', '-J'], { check: false, timeoutMs: 30_000 }),
      lab.exec(g.ns.client, ['iperf3', '-c', ADDR.web, '-p', '5222', '-t', '6', '-J'], { check: false, timeoutMs: 30_000 }),
    ]);
    const o = mbit(owner);
    const m = mbit(member);
    console.log(`uplink shaped to 40 Mbit/s: the owner's upload ${o.toFixed(1)} Mbit/s, a member's ${m.toFixed(1)} Mbit/s at the same time`);
    expect(o + m).toBeLessThan(48);
    expect(o).toBeGreaterThan(3 * m);
    expect(m).toBeGreaterThan(1.5); // members keep their guaranteed tenth
  } finally {
    for (const s of servers) await lab.kill(s);
    await lab.kill(exit.proc);
    exit = await startExit(lab, g, exit.iface);
  }
  expect((await lab.exec(g.ns.exit, ['tc', 'qdisc', 'show', 'dev', 'wan0'])).stdout).not.toContain('htb 5741:');
}, 180_000);
