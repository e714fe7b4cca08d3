/**
 * Web admin benchmark: the admin on 127.0.0.1 with the fake API (in a child process, so the load
 * generator does not share its event loop), signed in once, then 50 concurrent clients fetching
 * the dashboard for ~10 s. Prints p50/p95/p99 latency in ms (aim: p95 ≤ 20 ms) and, as a
 * reference run alongside, the same load on a static file (the framework's floor on this
 * machine), then a final JSON line. A benchmark, not a test.
 *   BENCH_CLIENTS (50), BENCH_SECONDS (10)
 *
 * `--appliance` (root): the real thing instead — the gateway lab (test/netns/lib/gateway-lab.ts),
 * the home appliance's own admin on its LAN address with the real AdminApi, the load generated
 * from a LAN device's namespace while that device pushes an iperf3 TCP stream through the tunnel
 * and out of the exit; reports the stream's throughput alongside.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const PASSWORD = 'benchmark password';

async function serve(): Promise<void> {
  const { createAdmin } = await import('../../webui/app.ts');
  const { FakeAdminApi } = await import('../../webui/fake-api.ts');
  const stateDir = mkdtempSync(join(tmpdir(), 'warren-bench-admin-'));
  const admin = createAdmin({ api: new FakeAdminApi({ withNetwork: true }), hostname: '127.0.0.1', port: 0, stateDir });
  console.log(JSON.stringify({ url: admin.url }));
  process.on('SIGTERM', () => {
    void admin.stop().then(() => {
      rmSync(stateDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function signIn(base: string): Promise<string> {
  const cookieOf = (r: Response) => r.headers.get('set-cookie')?.split(';')[0] ?? '';
  const page = await fetch(`${base}/setup`, { redirect: 'manual' });
  const anon = cookieOf(page);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const body = new URLSearchParams({ _csrf: csrf, password: PASSWORD, confirm: PASSWORD });
  const res = await fetch(`${base}/setup`, { method: 'POST', redirect: 'manual', body, headers: { cookie: anon, 'content-type': 'application/x-www-form-urlencoded' } });
  if (res.status !== 303) throw new Error(`bench: sign-in failed (${res.status})`);
  return cookieOf(res);
}

interface Run {
  requests: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  perSecond: number;
}

async function load(url: string, cookie: string, seconds: number): Promise<Run> {
  const times: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const client = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await fetch(url, { headers: { cookie } });
        await res.arrayBuffer();
        if (res.status !== 200) errors++;
      } catch {
        errors++;
      }
      times.push(performance.now() - t0);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const elapsed = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  return { requests: times.length, errors, p50: quantile(times, 0.5), p95: quantile(times, 0.95), p99: quantile(times, 0.99), max: times[times.length - 1] ?? NaN, perSecond: times.length / elapsed };
}

function line(name: string, r: Run): string {
  return `${name.padEnd(24)} p50 ${r.p50.toFixed(2)} ms  p95 ${r.p95.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  max ${r.max.toFixed(1)} ms  ${r.perSecond.toFixed(0)} req/s  (${r.requests} requests, ${r.errors} errors)`;
}

async function main(): Promise<number> {
  const child = Bun.spawn([process.execPath, import.meta.path, 'serve'], { stdout: 'pipe', stderr: 'inherit' });
  try {
    const reader = child.stdout.getReader();
    const first = await reader.read();
    reader.releaseLock();
    const { url } = JSON.parse(new TextDecoder().decode(first.value).split('\n')[0] ?? '{}') as { url: string };
    const cookie = await signIn(url);
    await load(`${url}/`, cookie, 1); // warm-up: JIT, first sample of the throughput sampler
    console.error(`bench: ${CLIENTS} clients, ${SECONDS} s on the dashboard …`);
    const dashboard = await load(`${url}/`, cookie, SECONDS);
    console.error('bench: reference run on /static/app.css …');
    const reference = await load(`${url}/static/app.css`, cookie, Math.max(2, SECONDS / 3));
    console.log(`\n${CLIENTS} concurrent clients, signed in, fake API, admin in its own process on 127.0.0.1`);
    console.log(line('dashboard (GET /)', dashboard));
    console.log(line('reference (static file)', reference));
    console.log(`dashboard p95 / reference p95: ${(dashboard.p95 / reference.p95).toFixed(2)}×   aim: dashboard p95 ≤ 20 ms → ${dashboard.p95 <= 20 ? 'met' : 'NOT met'}`);
    console.log(JSON.stringify({ bench: 'admin', clients: CLIENTS, seconds: SECONDS, dashboard, reference }));
    return dashboard.errors === 0 ? 0 : 1;
  } finally {
    child.kill('SIGTERM');
    await child.exited;
  }
}

/** In a LAN device's namespace: sign in to the appliance's admin, warm up, load, print the run. */
async function loadOnly(url: string, seconds: number): Promise<void> {
  const cookie = await signIn(url);
  await load(`${url}/`, cookie, 1);
  console.log(JSON.stringify(await load(`${url}/`, cookie, seconds)));
}

async function appliance(): Promise<number> {
  const { Lab, waitFor } = await import('../../test/netns/lib/netns.ts');
  const { ADDR, buildGatewayLab, curlFrom, startExit, startHome } = await import('../../test/netns/lib/gateway-lab.ts');
  const lab = await Lab.create('bench-admin');
  try {
    const g = await buildGatewayLab(lab);
    await startExit(lab, g);
    await startHome(lab, g);
    await waitFor('the LAN through the exit', async () => (await curlFrom(lab, g.ns.client, `http://${ADDR.web}/`)) === `client=${ADDR.exitPublic}`, { timeoutMs: 30_000, intervalMs: 250 });
    const url = `http://${ADDR.homeLan}`;
    lab.spawn(g.ns.inet, ['iperf3', '-s', '-B', ADDR.web, '-p', '5201'], { log: 'iperf3-server' });
    await Bun.sleep(500);
    const stream = lab.spawn(g.ns.client, ['iperf3', '-c', ADDR.web, '-p', '5201', '-t', String(SECONDS + 4), '-J'], { log: 'iperf3-client' });
    await Bun.sleep(1500); // the stream at speed before the load starts
    console.error(`bench: ${CLIENTS} clients on the appliance's dashboard for ${SECONDS} s while a TCP stream crosses the tunnel …`);
    const r = await lab.exec(g.ns.client, [process.execPath, import.meta.path, 'load', url, String(SECONDS)], { timeoutMs: (SECONDS + 30) * 1000 });
    const dashboard = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Run;
    await stream.exited;
    const report = JSON.parse(await Bun.file(stream.logPath).text()) as { end?: { sum_received?: { bits_per_second?: number } } };
    const mbit = (report.end?.sum_received?.bits_per_second ?? 0) / 1e6;
    console.log(`\n${CLIENTS} concurrent clients from a LAN device, signed in, the real appliance (admin on ${url}), an iperf3 TCP stream through the tunnel meanwhile`);
    console.log(line('dashboard (GET /)', dashboard));
    console.log(`tunnel stream during the run: ${mbit.toFixed(0)} Mbit/s   aim: dashboard p95 ≤ 20 ms → ${dashboard.p95 <= 20 ? 'met' : 'NOT met'}`);
    console.log(JSON.stringify({ bench: 'admin-appliance', clients: CLIENTS, seconds: SECONDS, dashboard, tunnel_mbit: mbit }));
    return dashboard.errors === 0 ? 0 : 1;
  } finally {
    await lab.cleanup();
  }
}

if (process.argv[2] === 'serve') await serve();
else if (process.argv[2] === 'load') await loadOnly(process.argv[3] ?? '', Number(process.argv[4] ?? SECONDS));
else if (process.argv.includes('--appliance')) process.exit(await appliance());
else process.exit(await main());
