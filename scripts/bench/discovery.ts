/**
 * Discovery benchmark (issue "Find each other with no server"): a swarm of lab DHT nodes (200 by
 * default, one process) in an "internet" namespace, two homes routed through it, and repeated
 * trials: a new network (`warren init`, `warren join INVITE`, mutual approval), both appliances
 * started, time until the first ping crosses the tunnel between their overlay addresses.
 * Prints median and p95 (aim: median ≤ 3 s), the appliance's RSS with its DHT node running, and
 * a final JSON line. A benchmark, not a test.
 */
import { Lab, waitFor } from '../../test/netns/lib/netns.ts';
import { readRssKb } from '../../test/netns/lib/warren.ts';
import { buildHomes, makeNetwork, startMember } from '../../test/netns/lib/homes.ts';
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
    console.error(`bench: starting ${NODES} DHT nodes …`);
    const homes = await buildHomes(lab, NODES);
    const { nsA, nsB } = homes;
    console.error(`bench: DHT ready (${homes.bootstrap.length} nodes; swarm process RSS ${((readRssKb(homes.dht.pid) ?? 0) / 1024).toFixed(0)} MB)`);
    for (let t = 0; t < TRIALS; t++) {
      const { dirA, dirB, joinedAt } = await makeNetwork(lab, homes, `bench${t}`, String(t));
      const joined = joinedAt; // from `warren join INVITE` (the other side's `init` and `invite` came before)
      const [a, b] = await Promise.all([startMember(lab, homes, `a${t}`, nsA, dirA, 40100 + t), startMember(lab, homes, `b${t}`, nsB, dirB, 40200 + t)]);
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
