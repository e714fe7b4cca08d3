/**
 * Tunnel benchmark: the same measurements over raw veth, a wireguard-go pair (the reference) and
 * a Warren pair, in one run between two lab namespaces, so the ratios compare like with like.
 *
 * Measures: iperf3 TCP with 1 and 4 streams, UDP packets/s at 1,400-byte payloads (received
 * rate and loss at a 2 Gbit/s target), average RTT of 20 pings, and the Warren daemon's RSS.
 * Prints a table, the Warren/wireguard-go ratios, and a final single JSON line.
 *
 * Run as root through scripts/bench/tunnel. BENCH_SECONDS changes the iperf3 duration (default 5).
 */
import { Lab, LabError, waitFor } from '../../test/netns/lib/netns.ts';
import { readRssKb, startWarren, type WarrenNode } from '../../test/netns/lib/warren.ts';
import { genKeyPair, startWireguardGo } from '../../test/netns/lib/wireguard-go.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const UDP_PAYLOAD = 1400;
const UDP_TARGET = '2G';
const IPERF_PORT = '5201';
// The underlay is IPv4-only veth (MTU 1500) and WireGuard adds 60 bytes over IPv4 (20 IP + 8 UDP
// + 32 header/tag), so 1440 fits; it also lets a 1,400-byte UDP payload (1,428-byte packet)
// through unfragmented, which 1420 would not.
const TUNNEL_MTU = 1440;

interface Figures {
  tcp1_mbps: number | null;
  tcp4_mbps: number | null;
  udp_tx_pps: number | null;
  udp_rx_pps: number | null;
  udp_loss_pct: number | null;
  rtt_ms: number | null;
  errors: string[];
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n').filter((l) => l.trim() !== '')[0] ?? text;
}

async function iperf(lab: Lab, ns: string, target: string, extra: string[]): Promise<Record<string, unknown>> {
  const argv = ['iperf3', '-c', target, '-p', IPERF_PORT, '-t', String(SECONDS), '-J', '--connect-timeout', '3000', ...extra];
  const r = await lab.exec(ns, argv, { check: false, timeoutMs: (SECONDS + 30) * 1000 });
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new LabError('exec-failed', `iperf3 printed no JSON (exit ${r.code}): ${r.stderr.trim()}`);
  }
  const obj = json as { error?: string; end?: Record<string, unknown> };
  if (obj.error !== undefined) throw new LabError('exec-failed', `iperf3: ${obj.error}`);
  if (obj.end === undefined) throw new LabError('exec-failed', 'iperf3 JSON has no end section');
  return obj.end;
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new LabError('exec-failed', `iperf3 JSON lacks ${what}`);
  return v;
}

async function measure(lab: Lab, ns: string, target: string): Promise<Figures> {
  const f: Figures = { tcp1_mbps: null, tcp4_mbps: null, udp_tx_pps: null, udp_rx_pps: null, udp_loss_pct: null, rtt_ms: null, errors: [] };
  const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      f.errors.push(`${what}: ${firstLine(e)}`);
    }
  };
  // Ping first: after the UDP flood, queues still draining would inflate the RTT.
  await attempt('ping', async () => {
    const r = await lab.exec(ns, ['ping', '-q', '-c', '20', '-i', '0.05', '-W', '2', target], { check: false, timeoutMs: 30_000 });
    const m = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
    if (m?.[1] === undefined) throw new LabError('exec-failed', `ping got no reply: ${r.stdout.trim().split('\n').pop()}`);
    f.rtt_ms = Number(m[1]);
  });
  await attempt('tcp1', async () => {
    const end = await iperf(lab, ns, target, []);
    f.tcp1_mbps = num((end.sum_received as Record<string, unknown>)?.bits_per_second, 'sum_received') / 1e6;
  });
  await attempt('tcp4', async () => {
    const end = await iperf(lab, ns, target, ['-P', '4']);
    f.tcp4_mbps = num((end.sum_received as Record<string, unknown>)?.bits_per_second, 'sum_received') / 1e6;
  });
  await attempt('udp', async () => {
    const end = await iperf(lab, ns, target, ['-u', '-b', UDP_TARGET, '-l', String(UDP_PAYLOAD)]);
    const rx = end.sum_received as Record<string, unknown>;
    const tx = end.sum_sent as Record<string, unknown>;
    const seconds = num(rx?.seconds, 'sum_received.seconds');
    f.udp_tx_pps = num(tx?.packets, 'sum_sent.packets') / num(tx?.seconds, 'sum_sent.seconds');
    f.udp_rx_pps = num(rx?.bytes, 'sum_received.bytes') / UDP_PAYLOAD / seconds;
    f.udp_loss_pct = num(rx?.lost_percent, 'sum_received.lost_percent');
  });
  return f;
}

/** Pings until the tunnel answers (the first packets wait for the handshake). */
async function tunnelUp(lab: Lab, ns: string, target: string): Promise<void> {
  await lab.exec(ns, ['ping', '-c', '1', '-w', '15', target], { timeoutMs: 20_000 });
}

async function main(): Promise<number> {
  const lab = await Lab.create('bench');
  const out: Record<string, unknown> = { bench: 'tunnel', seconds: SECONDS, udp_payload: UDP_PAYLOAD, udp_target: UDP_TARGET, tunnel_mtu: TUNNEL_MTU };
  const results: { name: string; key: string; figures: Figures | null; note?: string }[] = [];
  const rss: Record<string, RssFigures> = {};
  try {
    const a = await lab.ns('a');
    const b = await lab.ns('b');
    await lab.veth(a, b, { a: '192.168.77.1/24', b: '192.168.77.2/24' });
    lab.spawn(b, ['iperf3', '-s', '-p', IPERF_PORT], { log: 'iperf3-server' });
    await waitFor('iperf3 server', async () => (await lab.exec(b, ['ss', '-Hltn', `sport = :${IPERF_PORT}`])).stdout.trim() !== '');

    log('raw veth …');
    results.push({ name: 'raw veth', key: 'raw', figures: await measure(lab, a, '192.168.77.2') });

    log('wireguard-go …');
    const [ka, kb] = [await genKeyPair(), await genKeyPair()];
    const wb = await startWireguardGo(lab, b, {
      privateKey: kb.privateKey, listenPort: 51821, addresses: ['10.99.1.2/24'], mtu: TUNNEL_MTU, logLevel: 'error',
      peers: [{ publicKey: ka.publicKey, allowedIps: ['10.99.1.1/32'] }],
    });
    const wa = await startWireguardGo(lab, a, {
      privateKey: ka.privateKey, listenPort: 51820, addresses: ['10.99.1.1/24'], mtu: TUNNEL_MTU, logLevel: 'error',
      peers: [{ publicKey: kb.publicKey, endpoint: '192.168.77.2:51821', allowedIps: ['10.99.1.2/32'] }],
    });
    await tunnelUp(lab, a, '10.99.1.2');
    results.push({ name: 'wireguard-go', key: 'wireguard_go', figures: await measure(lab, a, '10.99.1.2') });
    // Stopped before Warren runs, so the two never share the 2 cores.
    await wa.stop();
    await wb.stop();

    // Warren, one variant at a time (BENCH_WARREN=native-aes,native-chacha,wireguard to choose).
    const variants = (process.env.BENCH_WARREN ?? 'native-aes,native-chacha,wireguard').split(',').filter(Boolean);
    let port = 51830;
    let net = 2;
    for (const variant of variants) {
      const opts = VARIANTS[variant];
      if (!opts) throw new Error(`unknown BENCH_WARREN variant "${variant}" (known: ${Object.keys(VARIANTS).join(', ')})`);
      const key = `warren_${variant.replace('-', '_')}`;
      const name = `warren ${variant}`;
      log(`${name} …`);
      const nodes: WarrenNode[] = [];
      const subnet = `10.99.${net++}`;
      try {
        const [ja, jb] = [await genKeyPair(), await genKeyPair()];
        const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');
        const common = { ...opts, networkSecret: secret, mtu: TUNNEL_MTU };
        nodes.push(await startWarren(lab, b, {
          ...common, name: `b-${variant}`, privateKey: jb.privateKey, listenPort: port + 1, addresses: [`${subnet}.2/24`],
          peers: [{ name: 'a', publicKey: ja.publicKey, allowedIps: [`${subnet}.1/32`] }],
        }));
        nodes.push(await startWarren(lab, a, {
          ...common, name: `a-${variant}`, privateKey: ja.privateKey, listenPort: port, addresses: [`${subnet}.1/24`],
          peers: [{ name: 'b', publicKey: jb.publicKey, endpoint: `192.168.77.2:${port + 1}`, allowedIps: [`${subnet}.2/32`] }],
        }));
        port += 2;
        await tunnelUp(lab, a, `${subnet}.2`);
        const pid = nodes[0]?.proc.pid ?? 0; // b: the receiving side of every iperf3 test
        await Bun.sleep(2000);
        const idle = readRssKb(pid, 'VmRSS');
        const figures = await measure(lab, a, `${subnet}.2`);
        const cipher = ((await nodes[1]!.status()).peers as { cipher: string | null }[])[0]?.cipher ?? '?';
        rss[key] = { idle_kb: idle, rss_kb: readRssKb(pid, 'VmRSS'), hwm_kb: readRssKb(pid, 'VmHWM'), cipher };
        results.push({ name, key, figures });
      } catch (e) {
        const reason = firstLine(e);
        console.log(`${name}: unavailable (${reason})`);
        results.push({ name, key, figures: null, note: reason });
      } finally {
        for (const n of nodes) await n.stop().catch(() => 0);
      }
    }
  } finally {
    await lab.cleanup();
  }

  printTable(results, rss);
  for (const r of results) out[r.key] = r.figures === null ? { unavailable: r.note } : { ...r.figures, ...rss[r.key] };
  for (const r of results) if (r.key.startsWith('warren')) out[`ratio_${r.key}_to_wireguard_go`] = ratios(results, r.key);
  console.log(JSON.stringify(out));
  return 0;
}

const METRICS: { key: keyof Omit<Figures, 'errors'>; label: string; digits: number }[] = [
  { key: 'tcp1_mbps', label: 'TCP 1 stream (Mbit/s)', digits: 0 },
  { key: 'tcp4_mbps', label: 'TCP 4 streams (Mbit/s)', digits: 0 },
  { key: 'udp_tx_pps', label: `UDP ${UDP_PAYLOAD} B sent (pkt/s)`, digits: 0 },
  { key: 'udp_rx_pps', label: `UDP ${UDP_PAYLOAD} B received (pkt/s)`, digits: 0 },
  { key: 'udp_loss_pct', label: 'UDP loss (%)', digits: 1 },
  { key: 'rtt_ms', label: 'RTT avg (ms, lower is better)', digits: 3 },
];

interface RssFigures {
  idle_kb: number | null;
  rss_kb: number | null;
  hwm_kb: number | null;
  cipher: string;
}

const VARIANTS: Record<string, { wire: string; cipher?: string; padding?: string }> = {
  'native-aes': { wire: 'native', cipher: 'aes256gcm' },
  'native-chacha': { wire: 'native', cipher: 'chacha20poly1305' },
  'native-aes-nopad': { wire: 'native', cipher: 'aes256gcm', padding: 'off' },
  wireguard: { wire: 'wireguard' },
};

function ratios(results: { key: string; figures: Figures | null }[], key: string): Record<string, number | null> {
  const wg = results.find((r) => r.key === 'wireguard_go')?.figures;
  const wr = results.find((r) => r.key === key)?.figures;
  const out: Record<string, number | null> = {};
  for (const m of METRICS) {
    if (m.key === 'udp_loss_pct' || m.key === 'udp_tx_pps') continue;
    const x = wr?.[m.key];
    const y = wg?.[m.key];
    out[m.key] = x == null || y == null || y === 0 ? null : Number((x / y).toFixed(3));
  }
  return out;
}

function printTable(results: { name: string; key: string; figures: Figures | null; note?: string }[], rss: Record<string, RssFigures>): void {
  const cols = ['metric', ...results.map((x) => x.name)];
  const rows = METRICS.map((m) => [
    m.label,
    ...results.map((x) => (x.figures?.[m.key] == null ? '—' : (x.figures[m.key] as number).toFixed(m.digits))),
  ]);
  const mb = (kb: number | null | undefined): string => (kb == null ? '—' : (kb / 1024).toFixed(1));
  const rssRow = (label: string, f: (r: RssFigures) => string): string[] => [label, ...results.map((x) => (rss[x.key] ? f(rss[x.key]!) : ''))];
  rows.push(rssRow('cipher negotiated', (r) => r.cipher));
  rows.push(rssRow('Warren RSS idle (MB)', (r) => mb(r.idle_kb)));
  rows.push(rssRow('Warren RSS after load (MB)', (r) => mb(r.rss_kb)));
  rows.push(rssRow('Warren peak RSS, VmHWM (MB)', (r) => mb(r.hwm_kb)));
  for (const m of METRICS) {
    if (m.key === 'udp_loss_pct' || m.key === 'udp_tx_pps') continue;
    rows.push([`ratio to wireguard-go: ${m.label}`, ...results.map((x) => {
      if (!x.key.startsWith('warren')) return '';
      const v = ratios(results, x.key)[m.key];
      return v == null ? '—' : `${v.toFixed(2)}×`;
    })]);
  }
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log();
  console.log(line(cols));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  for (const x of results) for (const e of x.figures?.errors ?? []) console.log(`note: ${x.name} ${e}`);
  console.log();
}

function log(msg: string): void {
  console.error(`bench: ${msg}`);
}

if (process.getuid?.() !== 0) {
  console.error('bench: needs root (network namespaces); run: sudo scripts/bench/tunnel');
  process.exit(1);
}
process.exit(await main());
