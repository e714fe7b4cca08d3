/**
 * Sharing benchmark: how long Debian's transmission-daemon takes to download the same torrent
 * from a seeder on the lab's "internet" (the lab's own opentracker; nothing public), in one run:
 *
 *   direct   the home's "tv" device (policy direct): out through the home's NAT router, no Warren
 *   1 hop    the home's "client" device: through the home appliance and the exit
 *   inbound  a second peer on the internet fetching the file from the LAN client alone (the
 *            seeder stopped), through the port the exit holds for it (NAT-PMP, asked by Transmission)
 *   3 hops   the same client once the home sends the LAN through onion circuits r1 → r2 → exit
 *            (lib/circuit-lab.ts)
 *
 * For each: the total time (torrent-add to every piece checked), the time to the first piece data
 * (tracker, connection, and the seeder's unchoke, which Transmission decides every 10 s), and the
 * rate between 10 % and 90 % done, which is the transfer itself. For scale, iperf3 TCP (one
 * stream) on the same paths. Each download starts from a freshly restarted seeder and a tracker
 * that lists no one else.
 *
 * Run as root through scripts/bench/sharing. BENCH_MB sets the torrent's size (default 200),
 * BENCH_RUNS the downloads per path (default 2; direct and 1 hop alternate), BENCH_SECONDS the
 * iperf3 duration (default 5). Prints a table and a final single JSON line.
 */
import { join } from 'node:path';
import { Lab, LabError, waitFor } from '../../test/netns/lib/netns.ts';
import { ADDR, curlFrom } from '../../test/netns/lib/gateway-lab.ts';
import { buildCircuitLab, startCircuitHome, startHops } from '../../test/netns/lib/circuit-lab.ts';
import {
  TORRENT_ADDR,
  TORRENT_PORT,
  addTorrent,
  makeTorrent,
  observeTracker,
  removeTorrent,
  startTracker,
  startTransmission,
  torrentInfo,
  waitComplete,
  waitVerified,
  type Transmission,
} from '../../test/netns/lib/torrent.ts';

const MB = Number(process.env.BENCH_MB ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SIZE = MB * 1024 * 1024;
const IPERF_PORT = 5201;

function log(msg: string): void {
  console.error(`bench: ${msg}`);
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n').filter((l) => l.trim() !== '')[0] ?? text;
}

async function iperfMbps(lab: Lab, ns: string): Promise<number | null> {
  const r = await lab.exec(ns, ['iperf3', '-c', TORRENT_ADDR.seeder, '-p', String(IPERF_PORT), '-t', String(SECONDS), '-J', '--connect-timeout', '3000'], { check: false, timeoutMs: (SECONDS + 30) * 1000 });
  try {
    const end = (JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } } }).end;
    return end?.sum_received?.bits_per_second === undefined ? null : end.sum_received.bits_per_second / 1e6;
  } catch {
    log(`iperf3 from ${ns} printed no JSON: ${r.stderr.trim()}`);
    return null;
  }
}

interface Download {
  /** Seconds from torrent-add to every piece downloaded and checked. */
  total: number;
  /** Seconds from torrent-add to the first piece data (tracker, connect, the seeder's unchoke). */
  firstData: number;
  /** Mbit/s between 10 % and 90 % done: the transfer itself, without Transmission's start and end. */
  steadyMbps: number | null;
}

async function timeDownload(t: Transmission, torrentPath: string): Promise<Download> {
  const t0 = performance.now();
  const at = () => (performance.now() - t0) / 1000;
  await addTorrent(t, torrentPath);
  let firstData: number | null = null;
  let t10: number | null = null;
  let t90: number | null = null;
  let done = false;
  const watch = (async () => {
    while (!done) {
      const i = await torrentInfo(t).catch(() => null);
      if (i !== null && i.sizeWhenDone > 0) {
        const got = 1 - i.leftUntilDone / i.sizeWhenDone;
        if (firstData === null && got > 0) firstData = at();
        if (t10 === null && got >= 0.1) t10 = at();
        if (t90 === null && got >= 0.9) t90 = at();
      }
      await Bun.sleep(100);
    }
  })();
  await waitComplete(t, `${t.name} to download the torrent`, 600_000).finally(() => {
    done = true;
  });
  const total = at();
  await watch;
  const steadyMbps = t10 !== null && t90 !== null && t90 > t10 ? (0.8 * SIZE * 8) / (t90 - t10) / 1e6 : null;
  return { total, firstData: firstData ?? total, steadyMbps };
}

function describe(d: Download): string {
  return `${d.total.toFixed(1)} s (first data after ${d.firstData.toFixed(1)} s, 10→90 % at ${d.steadyMbps === null ? '—' : d.steadyMbps.toFixed(0)} Mbit/s)`;
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

type Path = 'direct' | 'hop1' | 'hop3';
const LABEL: Record<Path, string> = {
  direct: 'direct (tv, home NAT, no Warren)',
  hop1: 'warren, 1 hop (client → home → exit)',
  hop3: 'warren, 3 hops (home → r1 → r2 → exit)',
};

async function main(): Promise<number> {
  const lab = await Lab.create('sharing');
  const out: Record<string, unknown> = { bench: 'sharing', torrent_mb: MB, runs: RUNS };
  const runs: Record<Path, Download[]> = { direct: [], hop1: [], hop3: [] };
  let inbound: Download | null = null;
  const iperf: Partial<Record<Path, number | null>> = {};
  const errors: string[] = [];
  const notes: string[] = [];
  try {
    log('building the lab (home, exit, two relays) and starting Warren, 1 hop …');
    const c = await buildCircuitLab(lab);
    const g = c.g;
    for (const a of [TORRENT_ADDR.tracker, TORRENT_ADDR.seeder, TORRENT_ADDR.peer2]) await lab.exec(g.ns.inet, ['ip', 'addr', 'add', `${a}/32`, 'dev', 'lo']);
    await startHops(lab, c);
    let home = await startCircuitHome(lab, c, 1);
    const leavesAs = async (ns: string, want: string | null) => {
      const seen = await waitFor(`${ns} to reach the web`, () => curlFrom(lab, ns, `http://${ADDR.web}/`, 2).then((b) => b ?? undefined), { timeoutMs: 60_000, intervalMs: 300 });
      if (want !== null && seen !== `client=${want}`) throw new LabError('exec-failed', `${ns} leaves as ${seen}, not ${want}`);
      return seen;
    };
    await leavesAs(g.ns.client, ADDR.exitPublic);
    await leavesAs(g.ns.tv, ADDR.routerPublic);

    log(`making a ${MB} MiB torrent …`);
    const torrent = await makeTorrent(lab, join(lab.tmpDir, 'seed'), `bench-${MB}MB.bin`, SIZE);
    out.pieces = torrent.pieceCount;
    await startTracker(lab, g.ns.inet, torrent.infoHash);
    const startSeeder = () => startTransmission(lab, { name: 'seeder', ns: g.ns.inet, bind: TORRENT_ADDR.seeder, peerPort: TORRENT_PORT.seeder, portForwarding: false });
    const announced = (t: Transmission) => waitFor('the seeder to announce itself', async () => (await torrentInfo(t)).trackerStats[0]?.lastAnnounceSucceeded === true, { timeoutMs: 30_000, intervalMs: 250 });
    let seeder = await startSeeder();
    await addTorrent(seeder, torrent.path, torrent.dataDir);
    await waitVerified(seeder, 'the seeder to check its copy', 120_000);
    await announced(seeder);
    /**
     * Every download starts from a seeder that knows no one: a seeder that has met the LAN client
     * knows its listening port (the extended handshake) and dials it back through the exit's port
     * when it returns, and the two connections between them cost Transmission rechoke rounds of
     * 10 s. The direct device has no inbound port, so without this the paths would differ.
     */
    const trackerQuiet = async (when: string) => {
      let listed: string[] = [];
      await waitFor('the tracker to list no downloader', async () => {
        listed = (await observeTracker(lab, g.ns.inet, torrent.infoHash)).filter((p) => !p.startsWith(`${TORRENT_ADDR.seeder}:`));
        return listed.length === 0;
      }, { timeoutMs: 30_000, intervalMs: 500 }).catch(() => notes.push(`the tracker still listed ${listed.join(', ')} ${when}`));
    };
    const restartSeeder = async () => {
      // …and a tracker that lists no one else (the last download's "stopped" announce is in): a
      // fresh seeder would otherwise be handed the LAN client's public port and dial it.
      await trackerQuiet('when the seeder restarted');
      if (seeder.proc.exitCode() === null) await seeder.stop();
      seeder = await startSeeder(); // same config dir: it resumes the torrent, complete
      await waitComplete(seeder, 'the restarted seeder to seed', 60_000);
      await announced(seeder);
    };

    lab.spawn(g.ns.inet, ['iperf3', '-s', '-B', TORRENT_ADDR.seeder, '-p', String(IPERF_PORT)], { log: 'iperf3-server' });
    await waitFor('the iperf3 server', async () => (await lab.exec(g.ns.inet, ['ss', '-Hltn', `sport = :${IPERF_PORT}`])).stdout.trim() !== '');
    log(`iperf3 TCP, 1 stream, ${SECONDS} s, to the seeder's address: direct, 1 hop …`);
    iperf.direct = await iperfMbps(lab, g.ns.tv);
    iperf.hop1 = await iperfMbps(lab, g.ns.client);

    const direct = await startTransmission(lab, { name: 'direct', ns: g.ns.tv, bind: ADDR.tv, peerPort: TORRENT_PORT.client, portForwarding: false });
    const client = await startTransmission(lab, { name: 'client', ns: g.ns.client, bind: ADDR.client, peerPort: TORRENT_PORT.client, portForwarding: true });
    const measure = async (path: Path, run: number, keep = false) => {
      const t = path === 'direct' ? direct : client;
      try {
        await restartSeeder();
        const d = await timeDownload(t, torrent.path);
        runs[path].push(d);
        log(`run ${run}, ${path}: ${describe(d)}`);
      } catch (e) {
        errors.push(`run ${run} ${path}: ${firstLine(e)}`);
        log(`run ${run}, ${path}: failed (${firstLine(e)})`);
      }
      if (!keep) await removeTorrent(t).catch(() => undefined);
    };
    // Direct and 1 hop alternate; the client keeps its last copy for the inbound measurement.
    for (let run = 1; run <= RUNS; run++) {
      await measure('direct', run);
      await measure('hop1', run, run === RUNS);
    }

    log('inbound: a second peer fetches the file from the LAN client through the exit\'s port …');
    try {
      if ((await torrentInfo(client)).percentDone !== 1) throw new Error('the LAN client holds no complete copy');
      await seeder.stop();
      const peer2 = await startTransmission(lab, { name: 'peer2', ns: g.ns.inet, bind: TORRENT_ADDR.peer2, peerPort: TORRENT_PORT.peer2, portForwarding: false, rpcPort: 9092 });
      inbound = await timeDownload(peer2, torrent.path);
      log(`inbound: ${describe(inbound)}`);
      // Gone before the 3-hop downloads, the seeder alone serves them. Removing the torrent first
      // announces "stopped" (Transmission 3.00 does not deliver it when it exits at once).
      await removeTorrent(peer2).catch(() => undefined);
      await removeTorrent(client).catch(() => undefined);
      await trackerQuiet('after the inbound measurement');
      await peer2.stop();
    } catch (e) {
      errors.push(`inbound: ${firstLine(e)}`);
      log(`inbound: failed (${firstLine(e)})`);
    }

    log('the home switches the LAN to 3-hop circuits (r1 → r2 → exit) …');
    try {
      await home.stop();
      home = await startCircuitHome(lab, c, 3, home.iface);
      const seen = await leavesAs(g.ns.client, null);
      log(`the client now leaves as ${seen.replace('client=', '')} (the exit's WAN, reached through the circuit)`);
      iperf.hop3 = await iperfMbps(lab, g.ns.client);
      for (let run = 1; run <= RUNS; run++) await measure('hop3', run);
    } catch (e) {
      errors.push(`3 hops: ${firstLine(e)}`);
      log(`3 hops: failed (${firstLine(e)})`);
    }
  } finally {
    await lab.cleanup();
  }

  const fmt = (x: number | null | undefined, digits = 1) => (x == null ? '—' : x.toFixed(digits));
  const summary = (ds: Download[]) => ({
    total: median(ds.map((d) => d.total)),
    firstData: median(ds.map((d) => d.firstData)),
    steady: median(ds.flatMap((d) => (d.steadyMbps === null ? [] : [d.steadyMbps]))),
  });
  const m: Record<Path, ReturnType<typeof summary>> = { direct: summary(runs.direct), hop1: summary(runs.hop1), hop3: summary(runs.hop3) };
  const i = summary(inbound === null ? [] : [inbound]);
  const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : a / b);
  const x = (r: number | null) => (r === null ? '—' : `${r.toFixed(2)}×`);
  console.log();
  console.log(`torrent: ${MB} MiB, ${out.pieces ?? '?'} pieces; ${RUNS} download(s) per path, medians; Debian transmission-daemon 3.00, one seeder, TCP only`);
  console.log();
  const rows = [
    ['path', 'total (s)', 'first data (s)', '10→90 % (Mbit/s)', 'totals of all runs (s)', 'iperf3 TCP (Mbit/s)'],
    ...(['direct', 'hop1', 'hop3'] as const).map((p) => [LABEL[p], fmt(m[p].total), fmt(m[p].firstData), fmt(m[p].steady, 0), runs[p].map((d) => d.total.toFixed(1)).join(' '), fmt(iperf[p], 0)]),
    ['inbound via the exit\'s port (LAN client uploads, 1 hop)', fmt(i.total), fmt(i.firstData), fmt(i.steady, 0), fmt(inbound?.total), ''],
  ];
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  for (const [n, r] of rows.entries()) {
    console.log(r.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  '));
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  const ratios = {
    hop1_to_direct_time: ratio(m.hop1.total, m.direct.total),
    hop1_to_direct_rate: ratio(m.hop1.steady, m.direct.steady),
    hop3_to_direct_time: ratio(m.hop3.total, m.direct.total),
    hop3_to_direct_rate: ratio(m.hop3.steady, m.direct.steady),
    hop3_to_hop1_rate: ratio(m.hop3.steady, m.hop1.steady),
  };
  console.log();
  console.log(`1 hop / direct: download time ${x(ratios.hop1_to_direct_time)}, 10→90 % rate ${x(ratios.hop1_to_direct_rate)}`);
  console.log(`3 hops / direct: download time ${x(ratios.hop3_to_direct_time)}, 10→90 % rate ${x(ratios.hop3_to_direct_rate)} (3 hops / 1 hop rate ${x(ratios.hop3_to_hop1_rate)})`);
  for (const e of errors) console.log(`error: ${e}`);
  for (const n of notes) console.log(`note: ${n}`);
  console.log();
  const round = (r: number | null) => (r === null ? null : Number(r.toFixed(3)));
  Object.assign(out, {
    ...runs,
    inbound,
    medians: m,
    ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, round(v)])),
    iperf3_tcp1_mbps: iperf,
    errors,
    notes,
  });
  console.log(JSON.stringify(out));
  return errors.length === 0 ? 0 : 1;
}

if (process.getuid?.() !== 0) {
  console.error('bench: needs root (network namespaces); run: sudo scripts/bench/sharing');
  process.exit(1);
}
process.exit(await main());
