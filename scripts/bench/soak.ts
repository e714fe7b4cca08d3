/**
 * Soak benchmark: one hub appliance (the subject) and SOAK_MEMBERS member daemons (default 50,
 * one process and one namespace each: the daemon manages routes for its allowed IPs, so two
 * daemons cannot honestly share a namespace), native wire, one network secret. The hub lists
 * every member (allowed IP /32), each member lists the hub with its endpoint; being one network,
 * peer exchange through the hub then meshes the members too (every appliance ends up with a
 * session to every other, as in the product), so the hub's churn includes the mesh's.
 *
 * The underlay is routed, like homes on the internet: a router namespace with one /24 link per
 * appliance. (All namespaces on one bridge would put ~N² entries in the kernel's neighbour
 * table, which is shared by all namespaces and capped host-wide by gc_thresh3 = 1024: sends then
 * fail with ENOBUFS. Routed, each appliance has one neighbour, the router.)
 *
 * Steady traffic for the whole run: every member pings the hub's overlay address (every 0.2 s)
 * and member 1 sends iperf3 TCP at 20 Mbit/s to the hub. After a settle period (60 s), every
 * SOAK_RESTART_SECONDS a random member is restarted (SIGTERM or SIGKILL, then the same keys and
 * config) and timed until a ping crosses the tunnel to the hub again.
 *
 * The hub is sampled every 10 s: RSS, VmHWM, open fds, threads, rx/tx bytes (its status), live
 * sessions, and whether every member that is not being restarted still got ping replies in the
 * period. Prints a table as it goes and a summary with the criteria of the soak issue:
 *   - hub RSS growth ≤ 5 % from the settled start (after the settle period) to the end;
 *   - no fd growth (fds at the end ≤ fds at the settled start);
 *   - zero lost sessions: a restarted member whose tunnel does not answer within 10 s of its
 *     daemon being up again.
 * Writes rss.svg, fds.svg, throughput.svg, samples.json and summary.json to artifacts/soak/<time>/.
 *
 * The daemons run from a snapshot of the committed tree (git archive HEAD into the lab's temp
 * dir) so that edits in the checkout during the run cannot change the code that restarts load;
 * SOAK_TREE=worktree runs the checkout's files as they are.
 *
 * Environment: SOAK_MINUTES (30, after the settle), SOAK_MEMBERS (50), SOAK_RESTART_SECONDS (30),
 * SOAK_SAMPLE_SECONDS (10), SOAK_SETTLE_SECONDS (60), SOAK_IPERF_RATE (20M; 0 disables),
 * SOAK_PING_INTERVAL (0.2), SOAK_SEED (random), SOAK_TREE (head | worktree).
 * Run as root through scripts/bench/soak. A benchmark, not a test.
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, LabError, type LabProcess, REPO_ROOT, run, waitFor } from '../../test/netns/lib/netns.ts';
import { readRssKb, type WarrenPeer, warrenConfigToml } from '../../test/netns/lib/warren.ts';
import { genKeyPair, type KeyPair } from '../../test/netns/lib/wireguard-go.ts';

const env = process.env;
const MINUTES = Number(env.SOAK_MINUTES ?? 30);
const MEMBERS = Number(env.SOAK_MEMBERS ?? 50);
const RESTART_S = Number(env.SOAK_RESTART_SECONDS ?? 30);
const SAMPLE_S = Number(env.SOAK_SAMPLE_SECONDS ?? 10);
const SETTLE_S = Number(env.SOAK_SETTLE_SECONDS ?? 60);
const IPERF_RATE = env.SOAK_IPERF_RATE ?? '20M';
const PING_INTERVAL = env.SOAK_PING_INTERVAL ?? '0.2';
const SEED = Number(env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
const TREE = env.SOAK_TREE ?? 'head';
/** A restarted member whose tunnel does not answer within this long after its daemon is up is a lost session. */
const RECOVERY_LIMIT_MS = 10_000;
const RSS_LIMIT_PCT = 5;

const ROUTER_NS_HUB_NET = '172.16.0';
const HUB_UNDERLAY = `${ROUTER_NS_HUB_NET}.2`;
const HUB_OVERLAY = '10.77.0.1';
const PORT = 51820;
const IPERF_PORT = '5201';
/** One iperf3 client run; a new one follows at once (a run that hangs is ended 30 s late). */
const IPERF_RUN_S = 300;

/** Member i's link to the router: `<net>.1` the router, `<net>.2` the member. */
const memberNet = (i: number): string => `172.${17 + (i >> 8)}.${i & 255}`;
const memberOverlay = (i: number): string => `10.77.${1 + (i >> 8)}.${i & 255}`;

// ---------------------------------------------------------------------------------------------
// Daemons: startWarren's way (TOML config, `warren daemon`, status over the control socket),
// with the entry point of the snapshot instead of the checkout's.

interface Daemon {
  readonly name: string;
  readonly ns: string;
  readonly proc: LabProcess;
  readonly socketPath: string;
  status(): Promise<Record<string, unknown>>;
}

interface DaemonSpec {
  name: string;
  ns: string;
  keys: KeyPair;
  iface: string;
  address: string;
  peers: WarrenPeer[];
}

let warrenBin = join(REPO_ROOT, 'warren');
let networkSecret = '';

async function statusOf(lab: Lab, ns: string, socketPath: string): Promise<Record<string, unknown>> {
  const r = await lab.exec(ns, [warrenBin, 'status', '--json', '--socket', socketPath], { check: false, timeoutMs: 15_000 });
  if (r.code !== 0) throw new LabError('exec-failed', `warren status in ${ns}: exit ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

async function startDaemon(lab: Lab, s: DaemonSpec): Promise<Daemon> {
  const socketPath = join(lab.tmpDir, `${s.name}.sock`);
  const configPath = join(lab.tmpDir, `${s.name}.toml`);
  const toml = warrenConfigToml({
    iface: s.iface, privateKey: s.keys.privateKey, listenPort: PORT, addresses: [s.address], wire: 'native',
    socket: socketPath, networkSecret, peers: s.peers,
  });
  writeFileSync(configPath, toml, { mode: 0o600 });
  const proc = lab.spawn(s.ns, [warrenBin, 'daemon', '--config', configPath], { log: `warren-${s.name}` });
  let lastWhy = 'no answer yet';
  try {
    await waitFor(`${s.name} to answer status`, async () => {
      if (proc.exitCode() !== null) throw new LabError('process-died', `${s.name} exited ${proc.exitCode()}:\n${proc.logTail(15)}`);
      try {
        await statusOf(lab, s.ns, socketPath);
        return true;
      } catch (e) {
        lastWhy = e instanceof Error ? e.message : String(e);
        return false;
      }
    }, { timeoutMs: 45_000, intervalMs: 200 });
  } catch (e) {
    await lab.kill(proc, 'SIGKILL', 2_000);
    throw new LabError('timeout', `${e instanceof Error ? e.message : String(e)}; last status: ${lastWhy}\n${proc.logTail(15)}`);
  }
  return { name: s.name, ns: s.ns, proc, socketPath, status: () => statusOf(lab, s.ns, socketPath) };
}

/** A snapshot of HEAD in the lab's temp dir (node_modules linked), so concurrent edits stay out. */
async function snapshotHead(lab: Lab): Promise<{ bin: string; commit: string }> {
  const commit = (await run(['git', '-C', REPO_ROOT, 'rev-parse', 'HEAD'])).stdout.trim();
  const dir = join(lab.tmpDir, 'tree');
  mkdirSync(dir);
  await run(['sh', '-c', `git -C '${REPO_ROOT}' archive HEAD | tar -x -C '${dir}'`]);
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  return { bin: join(dir, 'warren'), commit };
}

// ---------------------------------------------------------------------------------------------
// Members: their daemon, their continuous ping (parsed incrementally), their restarts.

interface Member {
  i: number;
  name: string;
  ns: string;
  spec: DaemonSpec;
  daemon: Daemon;
  ping: LabProcess | null;
  pingLog: string;
  pingOffset: number;
  /** Set while a restart is in progress (from the signal to the first reply). */
  restartingSince: number | null;
  /** The last moment a restart of this member ended (its first reply, or giving up). */
  lastRestartEnd: number;
}

interface Restart {
  member: string;
  signal: 'SIGTERM' | 'SIGKILL';
  atS: number;
  stopMs: number;
  startMs: number;
  /** From the restarted daemon answering its control socket to the first ping reply through the tunnel. */
  recoveryMs: number | null;
  /** From the new process's spawn to the first reply (includes Bun's start). */
  fromSpawnMs: number | null;
  /** From the signal to the first reply: the member's whole outage. */
  outageMs: number | null;
  lost: boolean;
  error?: string;
}

interface Sample {
  t: number;
  phase: 'settle' | 'soak';
  rssKb: number;
  hwmKb: number;
  fds: number;
  threads: number;
  rxBytes: number;
  txBytes: number;
  rxMbps: number | null;
  txMbps: number | null;
  liveSessions: number;
  peers: number;
  steadyMembers: number;
  steadyReplying: number;
  steadyFailures: string[];
  replies: number;
  restartsSoFar: number;
  membersRssMb: number;
  /** One member per sample, in turn (the mesh): its peers and its live sessions. */
  probe: { member: string; peers: number; live: number } | null;
}

type StatusPeer = { sessionIndex: number | null; lastHandshakeSecondsAgo: number | null; rxBytes: number; txBytes: number };

/** A session that is up: keys in place and a handshake within REJECT_AFTER_TIME (180 s). */
const isLive = (p: StatusPeer): boolean => p.sessionIndex !== null && p.lastHandshakeSecondsAgo !== null && p.lastHandshakeSecondsAgo < 180;

function startPing(lab: Lab, m: Member): void {
  m.ping = lab.spawn(m.ns, ['ping', '-n', '-D', '-i', PING_INTERVAL, HUB_OVERLAY], { log: `ping-${m.name}` });
}

/** Replies (complete "bytes from" lines) the member's ping logged since the last call. */
function newReplies(m: Member): number {
  let text: string;
  try {
    const buf = readFileSync(m.pingLog);
    text = buf.subarray(m.pingOffset).toString('utf8');
  } catch {
    return 0;
  }
  const end = text.lastIndexOf('\n');
  if (end < 0) return 0;
  const done = text.slice(0, end + 1);
  m.pingOffset += Buffer.byteLength(done);
  return done.split('\n').filter((l) => l.includes(' bytes from ')).length;
}

/** Pings the hub through the member's tunnel every 0.1 s until one reply (exit 0) or the deadline. */
async function firstReply(lab: Lab, ns: string, deadlineS: number): Promise<boolean> {
  const r = await lab.exec(ns, ['ping', '-n', '-q', '-c', '1', '-i', '0.1', '-w', String(deadlineS), HUB_OVERLAY], { check: false, timeoutMs: (deadlineS + 10) * 1000 });
  return r.code === 0;
}

/** The underlay's state in a namespace, for an error message. */
async function diagnose(lab: Lab, ns: string): Promise<string> {
  const out: string[] = [];
  for (const argv of [['ip', 'neigh'], ['ip', '-s', 'link', 'show', 'eth0'], ['ip', 'route'], ['ping', '-c', '2', '-W', '1', HUB_UNDERLAY], ['sh', '-c', 'cat /proc/net/snmp | grep -A1 ^Udp:']]) {
    const r = await lab.exec(ns, argv, { check: false, timeoutMs: 10_000 });
    out.push(`$ ${argv.join(' ')}\n${(r.stdout + r.stderr).trim()}`);
  }
  return out.join('\n');
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function restartMember(lab: Lab, m: Member, signal: 'SIGTERM' | 'SIGKILL', t0: number): Promise<Restart> {
  const start = Date.now();
  m.restartingSince = start;
  const rec: Restart = { member: m.name, signal, atS: (start - t0) / 1000, stopMs: 0, startMs: 0, recoveryMs: null, fromSpawnMs: null, outageMs: null, lost: false };
  try {
    await lab.kill(m.daemon.proc, signal, 5_000);
    const spawned = Date.now();
    rec.stopMs = spawned - start;
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        m.daemon = await startDaemon(lab, m.spec);
        lastError = undefined;
        break;
      } catch (e) {
        lastError = e;
      }
    }
    if (lastError !== undefined) throw lastError;
    const up = Date.now();
    rec.startMs = up - spawned;
    if (await firstReply(lab, m.ns, 60)) {
      const replied = Date.now();
      rec.recoveryMs = replied - up;
      rec.fromSpawnMs = replied - spawned;
      rec.outageMs = replied - start;
    }
    rec.lost = rec.recoveryMs === null || rec.recoveryMs > RECOVERY_LIMIT_MS;
  } catch (e) {
    rec.lost = true;
    rec.error = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  } finally {
    m.restartingSince = null;
    m.lastRestartEnd = Date.now();
  }
  return rec;
}

// ---------------------------------------------------------------------------------------------

function countFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

function threadsOf(pid: number): number {
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? -1);
  } catch {
    return -1;
  }
}

function sleepUntil(ms: number): Promise<void> {
  return Bun.sleep(Math.max(0, ms - Date.now()));
}

function log(msg: string): void {
  console.error(`soak: ${msg}`);
}

const mb = (kb: number): string => (kb / 1024).toFixed(1);
const fmt = (v: number | null, d = 1): string => (v === null ? '—' : v.toFixed(d));

const COLS = ['t(s)', 'phase', 'RSS MB', 'HWM MB', 'fds', 'thr', 'rx Mb/s', 'tx Mb/s', 'live', 'replying', 'fail', 'restarts', 'mesh'];
function printHeader(): void {
  console.log(COLS.map((c) => c.padStart(9)).join(''));
}
function printSample(s: Sample): void {
  const cells = [
    String(Math.round(s.t)), s.phase, mb(s.rssKb), mb(s.hwmKb), String(s.fds), String(s.threads), fmt(s.rxMbps, 2), fmt(s.txMbps, 2),
    `${s.liveSessions}/${s.peers}`, `${s.steadyReplying}/${s.steadyMembers}`, String(s.steadyFailures.length), String(s.restartsSoFar),
    s.probe ? `${s.probe.live}/${s.probe.peers}` : '—',
  ];
  console.log(cells.map((c) => c.padStart(9)).join('') + (s.steadyFailures.length ? `  no replies: ${s.steadyFailures.join(',')}` : ''));
}

// ---------------------------------------------------------------------------------------------
// A tiny SVG line chart: axes, ticks, labels, polylines, optional horizontal guides and x marks.

interface Series { label: string; color: string; points: [number, number][] }
interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  guides?: { y: number; label: string; color: string }[];
  xMarks?: { x: number; color: string; label: string }[];
  /** A vertical dashed line across the plot (the end of the settle period). */
  vline?: { x: number; label: string; color: string };
  yZero?: boolean;
}

function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function svgChart(c: Chart): string {
  const W = 960, H = 420, L = 80, R = 30, T = 50, B = 70;
  const xs = c.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...c.series.flatMap((s) => s.points.map((p) => p[1])), ...(c.guides ?? []).map((g) => g.y)];
  const xMax = Math.max(1e-9, ...xs);
  let yMin = c.yZero ? 0 : Math.min(...ys);
  let yMax = Math.max(...ys);
  if (!Number.isFinite(yMin) || !Number.isFinite(yMax)) [yMin, yMax] = [0, 1];
  if (yMax - yMin < 1e-9) [yMin, yMax] = [yMin - 1, yMax + 1];
  const yStep = niceStep(yMax - yMin, 6);
  yMin = Math.floor(yMin / yStep) * yStep;
  yMax = Math.ceil(yMax / yStep) * yStep;
  const xStep = niceStep(xMax, 10);
  const px = (x: number): number => L + (x / xMax) * (W - L - R);
  const py = (y: number): number => H - B - ((y - yMin) / (yMax - yMin)) * (H - T - B);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${esc(c.title)}</text>`);
  for (let y = yMin; y <= yMax + yStep / 1e6; y += yStep) {
    const yy = py(y).toFixed(1);
    out.push(`<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${L - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${Number(y.toPrecision(6))}</text>`);
  }
  for (let x = 0; x <= xMax + xStep / 1e6; x += xStep) {
    const xx = px(x).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${H - B}" y2="${H - B + 5}" stroke="black"/>`);
    out.push(`<text x="${xx}" y="${H - B + 18}" text-anchor="middle">${Number(x.toPrecision(6))}</text>`);
  }
  for (const m of c.xMarks ?? []) {
    const xx = px(m.x).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${H - B}" y2="${H - B - 8}" stroke="${m.color}"><title>${esc(m.label)}</title></line>`);
  }
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="black"/>`);
  out.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="black"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 30}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  out.push(`<text transform="translate(20 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`);
  for (const g of c.guides ?? []) {
    const yy = py(g.y).toFixed(1);
    out.push(`<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" stroke="${g.color}" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${W - R - 4}" y="${(py(g.y) - 4).toFixed(1)}" text-anchor="end" fill="${g.color}">${esc(g.label)}</text>`);
  }
  if (c.vline) {
    const xx = px(c.vline.x).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${T}" y2="${H - B}" stroke="${c.vline.color}" stroke-dasharray="4 4"/>`);
    out.push(`<text x="${(px(c.vline.x) + 4).toFixed(1)}" y="${T + 12}" fill="${c.vline.color}">${esc(c.vline.label)}</text>`);
  }
  for (const s of c.series) {
    const pts = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.6" points="${pts}"/>`);
  }
  let lx = L + 10;
  for (const s of [...c.series, ...(c.xMarks?.length ? [{ label: 'member restarts (ticks on the x axis)', color: '#999' }] : [])]) {
    out.push(`<rect x="${lx}" y="${H - 16}" width="14" height="3" fill="${s.color}"/>`);
    out.push(`<text x="${lx + 18}" y="${H - 12}">${esc(s.label)}</text>`);
    lx += 40 + s.label.length * 7;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  if (MEMBERS < 1 || MEMBERS > 1000) throw new Error('SOAK_MEMBERS must be 1..1000');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/-\d+Z$/, 'Z');
  const outDir = join(REPO_ROOT, 'artifacts', 'soak', stamp);
  mkdirSync(outDir, { recursive: true });
  const lab = await Lab.create('soak');
  const samples: Sample[] = [];
  const restarts: Restart[] = [];
  const members: Member[] = [];
  let commit = 'worktree';
  let stopping = false;
  const background: Promise<unknown>[] = [];
  let verdict = 1;
  try {
    log(`seed ${SEED}; ${MEMBERS} members; settle ${SETTLE_S} s, soak ${MINUTES} min, a restart every ${RESTART_S} s; lab logs in ${lab.artifactsDir}`);
    if (TREE === 'head') {
      const snap = await snapshotHead(lab);
      warrenBin = snap.bin;
      commit = snap.commit;
      log(`daemons run from a snapshot of HEAD ${commit.slice(0, 12)}`);
    } else if (TREE !== 'worktree') {
      throw new Error('SOAK_TREE must be head or worktree');
    }
    networkSecret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');

    // The underlay: a router namespace, one /24 link to each appliance (the header says why not a bridge).
    const rt = await lab.ns('rt');
    await lab.exec(rt, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    const hubNs = await lab.ns('hub');
    await lab.veth(hubNs, rt, { a: `${HUB_UNDERLAY}/24`, b: `${ROUTER_NS_HUB_NET}.1/24`, nameA: 'eth0', nameB: 'hub' });
    await lab.exec(hubNs, ['ip', 'route', 'add', 'default', 'via', `${ROUTER_NS_HUB_NET}.1`]);
    log(`creating ${MEMBERS} member namespaces …`);
    const memberNs: string[] = [];
    for (let i = 1; i <= MEMBERS; i++) {
      const ns = await lab.ns(`m${i}`);
      const net = memberNet(i);
      await lab.veth(ns, rt, { a: `${net}.2/24`, b: `${net}.1/24`, nameA: 'eth0', nameB: `m${i}` });
      await lab.exec(ns, ['ip', 'route', 'add', 'default', 'via', `${net}.1`]);
      memberNs.push(ns);
    }

    const hubKeys = await genKeyPair();
    const memberKeys: KeyPair[] = [];
    for (let i = 1; i <= MEMBERS; i++) memberKeys.push(await genKeyPair());

    log('starting the hub …');
    const hub = await startDaemon(lab, {
      name: 'hub', ns: hubNs, keys: hubKeys, iface: 'wsoak', address: `${HUB_OVERLAY}/16`,
      peers: memberKeys.map((k, j) => ({ name: `m${j + 1}`, publicKey: k.publicKey, allowedIps: [`${memberOverlay(j + 1)}/32`] })),
    });
    const hubPid = hub.proc.pid;

    log(`starting ${MEMBERS} members …`);
    const started = Date.now();
    const specs: DaemonSpec[] = memberKeys.map((k, j) => ({
      name: `m${j + 1}`, ns: memberNs[j]!, keys: k, iface: 'wsoak', address: `${memberOverlay(j + 1)}/16`,
      peers: [{ name: 'hub', publicKey: hubKeys.publicKey, endpoint: `${HUB_UNDERLAY}:${PORT}`, allowedIps: [`${HUB_OVERLAY}/32`], persistentKeepalive: 25 }],
    }));
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < specs.length) {
        const spec = specs[next++]!;
        const daemon = await startDaemon(lab, spec);
        const i = Number(spec.name.slice(1));
        members.push({ i, name: spec.name, ns: spec.ns, spec, daemon, ping: null, pingLog: join(lab.artifactsDir, `ping-${spec.name}.log`), pingOffset: 0, restartingSince: null, lastRestartEnd: 0 });
      }
    }));
    members.sort((a, b) => a.i - b.i);
    log(`members up in ${((Date.now() - started) / 1000).toFixed(1)} s; first pings …`);
    next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < members.length) {
        const m = members[next++]!;
        if (!(await firstReply(lab, m.ns, 20))) {
          throw new Error(`${m.name} cannot ping the hub through the tunnel:\n${m.daemon.proc.logTail(10)}\n${await diagnose(lab, m.ns)}`);
        }
      }
    }));
    log(`all ${MEMBERS} tunnels answer; hub RSS ${mb(readRssKb(hubPid) ?? 0)} MB, fds ${countFds(hubPid)}`);

    // Steady traffic.
    for (const m of members) startPing(lab, m);
    if (IPERF_RATE !== '0') {
      lab.spawn(hubNs, ['iperf3', '-s', '-p', IPERF_PORT], { log: 'iperf3-server' });
      await waitFor('iperf3 server', async () => (await lab.exec(hubNs, ['ss', '-Hltn', `sport = :${IPERF_PORT}`])).stdout.trim() !== '');
      const iperfMember = members[0]!;
      background.push((async () => {
        let runs = 0;
        while (!stopping) {
          const p = lab.spawn(iperfMember.ns, ['iperf3', '-c', HUB_OVERLAY, '-p', IPERF_PORT, '-t', String(IPERF_RUN_S), '-b', IPERF_RATE, '--connect-timeout', '3000'], { log: 'iperf3-client' });
          runs++;
          const timer = Bun.sleep((IPERF_RUN_S + 30) * 1000).then(() => 'timeout' as const);
          const stopWatch = (async () => { while (!stopping && p.exitCode() === null) await Bun.sleep(250); })();
          await Promise.race([p.exited, timer, stopWatch]);
          await lab.kill(p, 'SIGTERM', 3_000);
          if (!stopping) await Bun.sleep(200);
        }
        return runs;
      })());
    }

    const t0 = Date.now();
    const settleEnd = t0 + SETTLE_S * 1000;
    const end = settleEnd + MINUTES * 60_000;
    const rng = mulberry32(SEED);

    // Restarts: sequential, the first 5 s after the settle, then every RESTART_S.
    background.push((async () => {
      for (let k = 0; ; k++) {
        const at = settleEnd + 5_000 + k * RESTART_S * 1000;
        if (at + 20_000 > end) break;
        await sleepUntil(at);
        if (stopping) break;
        const m = members[Math.floor(rng() * members.length)]!;
        const signal = rng() < 0.5 ? 'SIGTERM' : 'SIGKILL';
        const r = await restartMember(lab, m, signal, t0);
        restarts.push(r);
        log(`restart ${restarts.length}: ${r.member} ${r.signal} at ${r.atS.toFixed(0)} s: stop ${r.stopMs} ms, start ${r.startMs} ms, ` +
          `tunnel answers ${r.recoveryMs ?? '—'} ms after the daemon is up (outage ${r.outageMs ?? '—'} ms)${r.lost ? ' LOST' : ''}${r.error ? ` (${r.error})` : ''}`);
      }
    })());

    // Sampling.
    let prev: { t: number; rx: number; tx: number } | null = null;
    let periodStart = t0;
    for (let k = 0; ; k++) {
      const at = t0 + k * SAMPLE_S * 1000;
      if (at > end + 1) break;
      await sleepUntil(at);
      if (hub.proc.exitCode() !== null) throw new Error(`the hub exited ${hub.proc.exitCode()}:\n${hub.proc.logTail(20)}`);
      const now = Date.now();
      // fds and RSS first, while no status connection of ours is open.
      const fds = countFds(hubPid);
      const rssKb = readRssKb(hubPid) ?? 0;
      const hwmKb = readRssKb(hubPid, 'VmHWM') ?? 0;
      const threads = threadsOf(hubPid);
      const st = await hub.status();
      const peers = (st.peers ?? []) as StatusPeer[];
      const rx = peers.reduce((n, p) => n + p.rxBytes, 0);
      const tx = peers.reduce((n, p) => n + p.txBytes, 0);
      const live = peers.filter(isLive).length;
      let probe: Sample['probe'] = null;
      const probed = members[k % members.length]!;
      if (probed.restartingSince === null) {
        try {
          const ps = ((await probed.daemon.status()).peers ?? []) as StatusPeer[];
          probe = { member: probed.name, peers: ps.length, live: ps.filter(isLive).length };
        } catch {
          // restarted meanwhile: no probe this time
        }
      }
      let steady = 0;
      let replying = 0;
      let replies = 0;
      const failures: string[] = [];
      for (const m of members) {
        if (m.ping !== null && m.ping.exitCode() !== null && m.restartingSince === null) startPing(lab, m); // ping gave up during a restart
        const n = newReplies(m);
        replies += n;
        // Steady in this period: not restarting now, and no restart ended after the period began.
        if (k === 0 || m.restartingSince !== null || m.lastRestartEnd >= periodStart) continue;
        steady++;
        if (n > 0) replying++;
        else failures.push(m.name);
      }
      const dt = prev ? (now - prev.t) / 1000 : 0;
      const s: Sample = {
        t: (now - t0) / 1000, phase: now < settleEnd ? 'settle' : 'soak', rssKb, hwmKb, fds, threads, rxBytes: rx, txBytes: tx,
        rxMbps: prev ? ((rx - prev.rx) * 8) / dt / 1e6 : null, txMbps: prev ? ((tx - prev.tx) * 8) / dt / 1e6 : null,
        liveSessions: live, peers: peers.length, steadyMembers: steady, steadyReplying: replying, steadyFailures: failures, replies,
        restartsSoFar: restarts.length, membersRssMb: members.reduce((n, m) => n + (readRssKb(m.daemon.proc.pid) ?? 0), 0) / 1024, probe,
      };
      if (k % 20 === 0) printHeader();
      printSample(s);
      samples.push(s);
      prev = { t: now, rx, tx };
      periodStart = now;
      writeFileSync(join(outDir, 'samples.json'), JSON.stringify({ samples, restarts }, null, 1));
    }
    stopping = true;
    await Promise.all(background);

    verdict = report(outDir, samples, restarts, { commit, hubPid });
  } finally {
    stopping = true;
    await lab.cleanup();
  }
  return verdict;
}

function report(outDir: string, samples: Sample[], restarts: Restart[], info: { commit: string; hubPid: number }): number {
  const soak = samples.filter((s) => s.phase === 'soak');
  const first = soak[0];
  const last = soak[soak.length - 1];
  if (first === undefined || last === undefined) {
    console.log('no samples after the settle period');
    return 1;
  }
  const q = (xs: number[], p: number): number | null => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]! : null);
  const rssGrowth = ((last.rssKb - first.rssKb) / first.rssKb) * 100;
  const rssMax = Math.max(...samples.map((s) => s.rssKb));
  // RSS swings with garbage collection (±5 MB between samples), so the end-point criterion depends
  // on where the last sample falls; the medians of the first and last 5 minutes (a quarter of a
  // shorter soak) say it steadier.
  const windowN = Math.max(1, Math.min(Math.round(300 / SAMPLE_S), Math.floor(soak.length / 4)));
  const windowMin = Number(((windowN * SAMPLE_S) / 60).toFixed(1));
  const median = (xs: number[]): number => q([...xs].sort((a, b) => a - b), 0.5) ?? NaN;
  const rssEarly = median(soak.slice(0, windowN).map((s) => s.rssKb));
  const rssLate = median(soak.slice(-windowN).map((s) => s.rssKb));
  const rssWindowGrowth = ((rssLate - rssEarly) / rssEarly) * 100;
  const rssMaxSoak = Math.max(...soak.map((s) => s.rssKb));
  const fdMax = Math.max(...soak.map((s) => s.fds));
  const dt = last.t - first.t;
  const rxAvg = dt > 0 ? ((last.rxBytes - first.rxBytes) * 8) / dt / 1e6 : 0;
  const txAvg = dt > 0 ? ((last.txBytes - first.txBytes) * 8) / dt / 1e6 : 0;
  const rates = soak.slice(1).map((s) => s.rxMbps ?? 0);
  const rxMin = rates.length ? Math.min(...rates) : 0;
  const recov = restarts.map((r) => r.recoveryMs).filter((v): v is number => v !== null).sort((a, b) => a - b);
  const outages = restarts.map((r) => r.outageMs).filter((v): v is number => v !== null).sort((a, b) => a - b);
  const starts = restarts.map((r) => r.startMs).sort((a, b) => a - b);
  const lost = restarts.filter((r) => r.lost);
  const failures = samples.reduce((n, s) => n + s.steadyFailures.length, 0);
  const checks = samples.reduce((n, s) => n + s.steadyMembers, 0);
  const minLive = Math.min(...soak.map((s) => s.liveSessions));
  const probes = soak.flatMap((s) => (s.probe ? [s.probe] : []));
  const meshMedian = q(probes.map((p) => p.live).sort((a, b) => a - b), 0.5);
  const meshMin = probes.length ? Math.min(...probes.map((p) => p.live)) : null;
  const memberRss = last.membersRssMb / Math.max(1, MEMBERS);

  const criteria = [
    { name: `hub RSS growth ≤ ${RSS_LIMIT_PCT} % (settled start → end)`, pass: rssGrowth <= RSS_LIMIT_PCT, value: `${rssGrowth.toFixed(2)} %` },
    { name: 'no fd growth (end ≤ settled start)', pass: last.fds <= first.fds, value: `${first.fds} → ${last.fds}` },
    { name: `zero lost sessions (restarted member answers within ${RECOVERY_LIMIT_MS / 1000} s)`, pass: lost.length === 0 && restarts.length > 0, value: `${lost.length} of ${restarts.length}` },
    { name: 'steady members always answered (per-period ping checks)', pass: failures === 0, value: `${failures} failures in ${checks} checks` },
  ];

  const artifacts = { rss: join(outDir, 'rss.svg'), fds: join(outDir, 'fds.svg'), throughput: join(outDir, 'throughput.svg'), samples: join(outDir, 'samples.json'), summary: join(outDir, 'summary.json') };
  const minutes = (s: Sample): number => s.t / 60;
  const marks = restarts.map((r) => ({ x: r.atS / 60, color: r.lost ? '#d62728' : '#999', label: `${r.member} ${r.signal}` }));
  const vline = { x: SETTLE_S / 60, color: '#2ca02c', label: 'settled start' };
  writeFileSync(artifacts.rss, svgChart({
    title: `Hub RSS over the soak (${MEMBERS} members, a restart every ${RESTART_S} s)`, xLabel: 'minutes', yLabel: 'MB',
    series: [
      { label: 'RSS', color: '#1f77b4', points: samples.map((s) => [minutes(s), s.rssKb / 1024]) },
      { label: 'VmHWM (peak)', color: '#ff7f0e', points: samples.map((s) => [minutes(s), s.hwmKb / 1024]) },
    ],
    guides: [
      { y: first.rssKb / 1024, label: `settled start ${mb(first.rssKb)} MB`, color: '#2ca02c' },
      { y: (first.rssKb / 1024) * (1 + RSS_LIMIT_PCT / 100), label: `+${RSS_LIMIT_PCT} % limit`, color: '#d62728' },
    ],
    xMarks: marks, vline,
  }));
  writeFileSync(artifacts.fds, svgChart({
    title: 'Hub open file descriptors, threads and live sessions', xLabel: 'minutes', yLabel: 'count', yZero: true,
    series: [
      { label: 'open fds (/proc/PID/fd)', color: '#1f77b4', points: samples.map((s) => [minutes(s), s.fds]) },
      { label: 'threads', color: '#9467bd', points: samples.map((s) => [minutes(s), s.threads]) },
      { label: 'live sessions', color: '#2ca02c', points: samples.map((s) => [minutes(s), s.liveSessions]) },
    ],
    xMarks: marks, vline,
  }));
  const withRate = samples.filter((s) => s.rxMbps !== null);
  writeFileSync(artifacts.throughput, svgChart({
    title: 'Hub tunnel throughput (IP bytes from/to all peers, per sampling period)', xLabel: 'minutes', yLabel: 'Mbit/s', yZero: true,
    series: [
      { label: 'received from members', color: '#1f77b4', points: withRate.map((s) => [minutes(s), s.rxMbps ?? 0]) },
      { label: 'sent to members', color: '#ff7f0e', points: withRate.map((s) => [minutes(s), s.txMbps ?? 0]) },
    ],
    xMarks: marks, vline,
  }));

  const summary = {
    bench: 'soak', commit: info.commit, tree: TREE, seed: SEED, members: MEMBERS, minutes: MINUTES, settle_s: SETTLE_S, restart_every_s: RESTART_S,
    sample_every_s: SAMPLE_S, iperf_rate: IPERF_RATE, ping_interval_s: Number(PING_INTERVAL), samples: samples.length,
    rss_settled_start_mb: first.rssKb / 1024, rss_end_mb: last.rssKb / 1024, rss_growth_pct: rssGrowth,
    rss_median_window_min: windowMin, rss_median_first_window_mb: rssEarly / 1024, rss_median_last_window_mb: rssLate / 1024, rss_median_growth_pct: rssWindowGrowth, rss_max_mb: rssMax / 1024, rss_max_soak_mb: rssMaxSoak / 1024, hwm_end_mb: last.hwmKb / 1024,
    fds_settled_start: first.fds, fds_end: last.fds, fds_max: fdMax, threads_start: first.threads, threads_end: last.threads,
    rx_mbps_avg: rxAvg, tx_mbps_avg: txAvg, rx_mbps_min_period: rxMin, min_live_sessions: minLive,
    restarts: restarts.length, restarts_sigterm: restarts.filter((r) => r.signal === 'SIGTERM').length, restarts_sigkill: restarts.filter((r) => r.signal === 'SIGKILL').length,
    recovery_ms_median: q(recov, 0.5), recovery_ms_p95: q(recov, 0.95), recovery_ms_max: recov.length ? recov[recov.length - 1] : null,
    outage_ms_median: q(outages, 0.5), outage_ms_max: outages.length ? outages[outages.length - 1] : null,
    daemon_start_ms_median: q(starts, 0.5), daemon_start_ms_max: starts.length ? starts[starts.length - 1] : null,
    lost_sessions: lost.length, lost: lost.map((r) => ({ member: r.member, at_s: r.atS, recovery_ms: r.recoveryMs, error: r.error })),
    steady_failures: failures, steady_checks: checks, member_rss_mb_avg_end: memberRss,
    member_live_sessions_median: meshMedian, member_live_sessions_min: meshMin, member_probes: probes.length,
    criteria: Object.fromEntries(criteria.map((c) => [c.name, { pass: c.pass, value: c.value }])),
    pass: criteria.every((c) => c.pass),
  };
  writeFileSync(artifacts.summary, JSON.stringify(summary, null, 1));

  const ms = (v: number | null | undefined): string => (v == null ? '—' : `${(v / 1000).toFixed(2)} s`);
  console.log();
  console.log(`Soak: ${MEMBERS} members, ${MINUTES} min after a ${SETTLE_S} s settle, a restart every ${RESTART_S} s (seed ${SEED}), code ${info.commit}`);
  console.log(`hub RSS: settled start ${mb(first.rssKb)} MB, end ${mb(last.rssKb)} MB, growth ${rssGrowth.toFixed(2)} %, max ${mb(rssMaxSoak)} MB in the soak (${mb(rssMax)} MB overall), VmHWM ${mb(last.hwmKb)} MB`);
  console.log(`hub RSS median: first ${windowMin} min of the soak ${mb(rssEarly)} MB, last ${windowMin} min ${mb(rssLate)} MB (${rssWindowGrowth >= 0 ? '+' : ''}${rssWindowGrowth.toFixed(2)} %)`);
  console.log(`hub fds: settled start ${first.fds}, end ${last.fds}, max ${fdMax}; threads ${first.threads} → ${last.threads}`);
  console.log(`hub throughput: received ${rxAvg.toFixed(2)} Mbit/s, sent ${txAvg.toFixed(2)} Mbit/s on average (lowest period received ${rxMin.toFixed(2)} Mbit/s); live sessions never below ${minLive}/${MEMBERS}`);
  console.log(`restarts: ${restarts.length} (${summary.restarts_sigterm} SIGTERM, ${summary.restarts_sigkill} SIGKILL); daemon start median ${ms(summary.daemon_start_ms_median)}, max ${ms(summary.daemon_start_ms_max)}`);
  console.log(`  tunnel answers after the restarted daemon is up: median ${ms(summary.recovery_ms_median)}, p95 ${ms(summary.recovery_ms_p95)}, max ${ms(summary.recovery_ms_max)}; whole outage (signal → reply) median ${ms(summary.outage_ms_median)}, max ${ms(summary.outage_ms_max)}`);
  console.log(`  lost sessions: ${lost.length}${lost.length ? ` (${lost.map((r) => `${r.member}@${r.atS.toFixed(0)}s${r.error ? `: ${r.error}` : ''}`).join('; ')})` : ''}`);
  console.log(`mesh: a member probed each sample had ${meshMedian ?? '—'} live sessions (median; lowest ${meshMin ?? '—'}) of ${MEMBERS} possible (hub + the other members)`);
  console.log(`steady members: ${failures} periods without a reply in ${checks} member-period checks; members' RSS ${memberRss.toFixed(1)} MB each on average`);
  console.log();
  for (const c of criteria) console.log(`${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.value}`);
  console.log();
  for (const [k, v] of Object.entries(artifacts)) console.log(`${k}: ${v}`);
  console.log(JSON.stringify(summary));
  return summary.pass ? 0 : 1;
}

if (process.getuid?.() !== 0) {
  console.error('soak: needs root (network namespaces); run: sudo scripts/bench/soak');
  process.exit(1);
}
process.exit(await main());
