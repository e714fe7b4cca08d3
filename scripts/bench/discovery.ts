/**
 * Discovery benchmark (issue "Find each other with no server"): a swarm of lab DHT nodes (200 by
 * default, one process) in an "internet" namespace, two homes routed through it, and repeated
 * trials: a new network (`warren init`, `warren join INVITE`, mutual approval), both appliances
 * started, time until the first ping crosses the tunnel between their overlay addresses.
 * Prints median and p95 (aim: median ≤ 3 s), the appliance's RSS with its DHT node running, and
 * a final JSON line. A benchmark, not a test.
 */
import { join } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import { Lab, REPO_ROOT, waitFor } from '../../test/netns/lib/netns.ts';
import { startWarren, readRssKb, type WarrenNode } from '../../test/netns/lib/warren.ts';
import { startLabDht } from '../../test/netns/lib/dht-lab.ts';

const WARREN = join(REPO_ROOT, 'warren');
const LAB_RANGE = '10.77.0.0/16';
const NODES = Number(process.env.BENCH_DHT_NODES ?? 200);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 8);

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

async function main(): Promise<number> {
  const lab = await Lab.create('bench-disc');
  const times: number[] = [];
  const rss: number[] = [];
  try {
    const nsA = await lab.ns('a');
    const nsB = await lab.ns('b');
    const nsI = await lab.ns('inet');
    await lab.veth(nsI, nsA, { a: '10.77.1.1/24', b: '10.77.1.2/24' });
    await lab.veth(nsI, nsB, { a: '10.77.2.1/24', b: '10.77.2.2/24' });
    await lab.exec(nsI, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await lab.exec(nsA, ['ip', 'route', 'add', 'default', 'via', '10.77.1.1']);
    await lab.exec(nsB, ['ip', 'route', 'add', 'default', 'via', '10.77.2.1']);
    console.error(`bench: starting ${NODES} DHT nodes …`);
    const { bootstrap, proc: dhtProc } = await startLabDht(lab, nsI, { host: '10.77.1.1', nodes: NODES, labRanges: [LAB_RANGE] });
    console.error(`bench: DHT ready (${bootstrap.length} nodes; swarm process RSS ${((readRssKb(dhtProc.pid) ?? 0) / 1024).toFixed(0)} MB)`);
    const cli = async (ns: string, args: string[], stdin?: string) => (await lab.exec(ns, [WARREN, ...args], { stdin })).stdout;
    for (let t = 0; t < TRIALS; t++) {
      const dirA = join(lab.tmpDir, `a${t}`);
      const dirB = join(lab.tmpDir, `b${t}`);
      mkdirSync(dirA);
      mkdirSync(dirB);
      await cli(nsA, ['init', '--name', `bench${t}`, '--data', dirA]);
      const invite = (await cli(nsA, ['invite', '--data', dirA])).match(/warren1:[a-z0-9]+/)?.[0] ?? '';
      const joined = Date.now();
      await cli(nsB, ['join', invite, '--data', dirB]);
      const keyA = (await cli(nsA, ['pubkey'], readFileSync(join(dirA, 'private.key'), 'utf8'))).trim();
      const keyB = (await cli(nsB, ['pubkey'], readFileSync(join(dirB, 'private.key'), 'utf8'))).trim();
      await cli(nsA, ['approve', keyB, '--data', dirA]);
      await cli(nsB, ['approve', keyA, '--data', dirB]);
      const start = (name: string, ns: string, dir: string, port: number): Promise<WarrenNode> =>
        startWarren(lab, ns, {
          name, wire: 'native', privateKeyPath: join(dir, 'private.key'), listenPort: port, addresses: [],
          sections: { network: { file: join(dir, 'network.toml') }, discovery: { bootstrap, lab_ranges: [LAB_RANGE], lookup_interval: 1 } },
          env: { WARREN_LAB: '1' },
        });
      const [a, b] = await Promise.all([start(`a${t}`, nsA, dirA, 40100 + t), start(`b${t}`, nsB, dirB, 40200 + t)]);
      try {
        const peer = await waitFor('A to find B', async () => ((await a.status()).peers as { allowedIps: string[] }[])[0], { timeoutMs: 60_000, intervalMs: 50 });
        const target = peer.allowedIps[0]?.split('/')[0] ?? '';
        await waitFor('first tunnelled ping', async () => (await lab.exec(nsA, ['ping', '-c', '1', '-W', '1', target], { check: false })).code === 0, { timeoutMs: 60_000, intervalMs: 20 });
        const s = (Date.now() - joined) / 1000;
        times.push(s);
        rss.push((readRssKb(a.proc.pid) ?? 0) / 1024);
        console.error(`bench: trial ${t + 1}/${TRIALS}: ${s.toFixed(2)} s from join to the first tunnelled ping`);
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    }
  } finally {
    await lab.cleanup();
  }
  const median = quantile(times, 0.5);
  const p95 = quantile(times, 0.95);
  console.log(`\nDHT nodes: ${NODES}; trials: ${times.length}`);
  console.log(`join → first tunnelled packet: median ${median.toFixed(2)} s, p95 ${p95.toFixed(2)} s (aim: median ≤ 3 s)`);
  console.log(`appliance RSS with its DHT node running: median ${quantile(rss, 0.5).toFixed(1)} MB`);
  console.log(JSON.stringify({ bench: 'discovery', dht_nodes: NODES, trials: times.length, seconds: times, median_s: median, p95_s: p95, rss_mb_median: quantile(rss, 0.5) }));
  return 0;
}

if (process.getuid?.() !== 0) {
  console.error('bench: needs root (network namespaces)');
  process.exit(1);
}
process.exit(await main());
