/**
 * Circuits benchmark (issue "Hard to trace"): the LAN client's TCP throughput (iperf3, 1 stream)
 * and round trip (ping) to a server on the lab's "internet" through 1 hop (the exit directly),
 * 2 hops (relay 1 → exit) and 3 hops (relay 1 → relay 2 → exit), in one run, on one machine.
 * Aim: 3 hops ≥ 0.5× the 1-hop throughput. BENCH_SECONDS (default 5). A benchmark, not a test.
 */
import { Lab, waitFor } from '../../test/netns/lib/netns.ts';
import { ADDR, curlFrom } from '../../test/netns/lib/gateway-lab.ts';
import { buildCircuitLab, startCircuitHome, startHops } from '../../test/netns/lib/circuit-lab.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

async function main(): Promise<number> {
  const lab = await Lab.create('bench-circ');
  const rows: { hops: number; mbit: number; rttMs: number; homeRssMb: number }[] = [];
  try {
    const c = await buildCircuitLab(lab);
    await startHops(lab, c, { r1ToExit: true });
    const server = lab.spawn(c.g.ns.inet, ['iperf3', '-s', '-B', ADDR.web, '-p', '5301'], { log: 'iperf3-server' });
    await waitFor('iperf3 server', async () => (await lab.exec(c.g.ns.inet, ['ss', '-Hltn', 'sport = :5301'])).stdout.trim() !== '', { timeoutMs: 10_000, intervalMs: 100 });
    let iface: string | undefined;
    for (const hops of [1, 2, 3] as const) {
      const home = await startCircuitHome(lab, c, hops, iface);
      iface = home.iface;
      await waitFor(`the client through ${hops} hop(s)`, () => curlFrom(lab, c.g.ns.client, `http://${ADDR.web}/`, 2).then((b) => b ?? undefined), { timeoutMs: 30_000, intervalMs: 300 });
      const ping = await lab.exec(c.g.ns.client, ['ping', '-c', '30', '-i', '0.05', '-q', ADDR.web], { check: false });
      const rtt = Number(/= [\d.]+\/([\d.]+)\//.exec(ping.stdout)?.[1] ?? NaN);
      const r = await lab.exec(c.g.ns.client, ['iperf3', '-c', ADDR.web, '-p', '5301', '-t', String(SECONDS), '-J'], { check: false, timeoutMs: 60_000 });
      const mbit = (JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second / 1e6;
      const homeRssMb = ((await home.status()).rssBytes as number) / 1048576;
      rows.push({ hops, mbit, rttMs: rtt, homeRssMb });
      console.error(`bench: ${hops} hop(s): ${mbit.toFixed(0)} Mbit/s, RTT ${rtt.toFixed(3)} ms, home RSS ${homeRssMb.toFixed(1)} MB`);
      await home.stop();
    }
    await lab.kill(server);
  } finally {
    await lab.cleanup();
  }
  const one = rows.find((r) => r.hops === 1)!;
  console.log(`\nTCP, 1 stream, ${SECONDS} s; RTT: mean of 30 pings (same machine, same run)`);
  for (const r of rows) console.log(`  ${r.hops} hop(s): ${r.mbit.toFixed(0).padStart(5)} Mbit/s (${(r.mbit / one.mbit).toFixed(2)}× 1 hop)  RTT ${r.rttMs.toFixed(3)} ms  home RSS ${r.homeRssMb.toFixed(1)} MB`);
  const three = rows.find((r) => r.hops === 3)!;
  console.log(`3 hops / 1 hop throughput: ${(three.mbit / one.mbit).toFixed(2)}× (aim ≥ 0.5×)`);
  console.log(JSON.stringify({ bench: 'circuits', seconds: SECONDS, rows }));
  return 0;
}

if (process.getuid?.() !== 0) {
  console.error('bench: needs root (network namespaces)');
  process.exit(1);
}
process.exit(await main());
