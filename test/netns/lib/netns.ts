/**
 * The network-namespace lab every integration test and benchmark uses.
 *
 * A Lab owns, for one run: namespaces named `warren-<id>-<role>` (the id starts with this
 * process's PID, so a later run can recognise leftovers of a dead one), the processes it spawned
 * (tracked by PID), wireguard-go control sockets, a private temp dir (keys, configs) and an
 * artifacts dir under `artifacts/netns/` (logs, pcaps) that is kept for inspection.
 *
 * Nothing here touches the root namespace's links, routes, rules or nftables: veth pairs are
 * created from inside the first namespace straight into the second. `cleanup()` removes
 * everything the Lab made; it also runs on process exit, SIGINT, SIGTERM and SIGHUP.
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dir, '../../..');
export const ARTIFACTS_ROOT = join(REPO_ROOT, 'artifacts', 'netns');
export const NS_PREFIX = 'warren-';
const IFNAMSIZ = 15; // usable characters of a Linux interface name (IFNAMSIZ 16 minus the NUL)

export type LabErrorKind = 'exec-failed' | 'timeout' | 'process-died' | 'bad-argument';

export class LabError extends Error {
  constructor(
    readonly kind: LabErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'LabError';
  }
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Throw a LabError carrying the command and its output when it exits non-zero (default true). */
  check?: boolean;
  timeoutMs?: number;
  stdin?: string;
  env?: Record<string, string>;
}

/** The one runner every command of the lab goes through. Runs in the root namespace. */
export async function run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const { check = true, timeoutMs = 60_000 } = opts;
  const proc = Bun.spawn(argv, {
    stdin: opts.stdin === undefined ? 'ignore' : new TextEncoder().encode(opts.stdin),
    stdout: 'pipe',
    stderr: 'pipe',
    env: opts.env ? { ...process.env, ...opts.env } : undefined,
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  const shown = argv.join(' ');
  if (timedOut) throw new LabError('timeout', `\`${shown}\` did not finish within ${timeoutMs} ms\n${stderr}`);
  if (check && code !== 0) {
    throw new LabError('exec-failed', `\`${shown}\` exited ${code}\nstdout: ${stdout.trim()}\nstderr: ${stderr.trim()}`);
  }
  return { code, stdout, stderr };
}

function runSync(argv: string[]): ExecResult {
  const r = Bun.spawnSync(argv, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Polls `probe` until it returns a value other than undefined/false, or throws a timeout. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, intervalMs = 50 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new LabError('timeout', `timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(intervalMs);
  }
}

/** True while `pid` exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

export function tail(path: string, lines = 30): string {
  if (!existsSync(path)) return `(no log at ${path})`;
  return readFileSync(path, 'utf8').split('\n').slice(-lines - 1).join('\n');
}

/** A background process the Lab started; killed by PID at cleanup. */
export interface LabProcess {
  readonly pid: number;
  readonly ns: string;
  readonly argv: readonly string[];
  readonly logPath: string;
  /** Resolves with the exit code (or 128+signal). */
  readonly exited: Promise<number>;
  exitCode(): number | null;
  logTail(lines?: number): string;
}

export interface VethOptions {
  a?: string;
  b?: string;
  a6?: string;
  b6?: string;
  nameA?: string;
  nameB?: string;
  mtu?: number;
}

export interface Capture {
  readonly path: string;
  readonly proc: LabProcess;
  /** Stops tcpdump (SIGINT flushes the pcap) and returns the pcap's path. */
  stop(): Promise<string>;
}

const liveLabs = new Set<Lab>();
let handlersInstalled = false;
let labsInProcess = 0;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const lab of liveLabs) lab.cleanupSync();
  });
  const signals: [NodeJS.Signals, number][] = [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]];
  for (const [signal, num] of signals) {
    process.on(signal, () => {
      for (const lab of liveLabs) lab.cleanupSync();
      process.exit(128 + num);
    });
  }
}

function letters(n: number): string {
  let s = '';
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return s;
}

export class Lab {
  private readonly namespaces = new Set<string>();
  private readonly processes = new Set<LabProcess>();
  private readonly sockets = new Set<string>();
  private counter = 0;
  private closed = false;

  private constructor(
    readonly name: string,
    /** `<pid><letters>`: unique among live runs, parseable for the stale sweep. */
    readonly id: string,
    readonly artifactsDir: string,
    /** Private, removed at cleanup: keys and configs go here. Short, so unix socket paths fit. */
    readonly tmpDir: string,
  ) {}

  static async create(name: string): Promise<Lab> {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new LabError('bad-argument', `lab name '${name}' must be [a-z0-9-]`);
    if (process.getuid?.() !== 0) throw new LabError('bad-argument', 'the netns lab needs root (namespaces, veth, TUN)');
    await Lab.sweepStale();
    const id = `${process.pid}${letters(labsInProcess++)}`;
    const artifactsDir = join(ARTIFACTS_ROOT, `${name}-${id}`);
    mkdirSync(artifactsDir, { recursive: true });
    const tmpDir = mkdtempSync(join(tmpdir(), `warren-${id}-`));
    const lab = new Lab(name, id, artifactsDir, tmpDir);
    installExitHandlers();
    liveLabs.add(lab);
    return lab;
  }

  /**
   * Deletes `warren-<pid><letters>-*` namespaces left by runs whose PID is gone (a SIGKILLed test),
   * ending the processes still inside them by PID. Live runs' namespaces are never touched.
   */
  static async sweepStale(): Promise<string[]> {
    const listed = await run(['ip', 'netns', 'list'], { check: false });
    const swept: string[] = [];
    for (const line of listed.stdout.split('\n')) {
      const ns = line.split(' ')[0] ?? '';
      const owner = /^warren-(\d+)[a-z]+-/.exec(ns)?.[1];
      if (owner === undefined || pidAlive(Number(owner))) continue;
      killNamespacePids(ns);
      runSync(['ip', 'netns', 'del', ns]);
      swept.push(ns);
    }
    return swept;
  }

  nsName(role: string): string {
    return `${NS_PREFIX}${this.id}-${role}`;
  }

  /** Creates namespace `warren-<id>-<role>` with `lo` up and returns its name. */
  async ns(role: string): Promise<string> {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(role)) throw new LabError('bad-argument', `role '${role}' must be [a-z0-9-]`);
    const ns = this.nsName(role);
    await run(['ip', 'netns', 'add', ns]);
    this.namespaces.add(ns);
    await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A unique interface name `<prefix><id><n>`; wireguard-go sockets are shared across namespaces. */
  ifname(prefix: string): string {
    const name = `${prefix}${this.id}${this.counter++}`;
    if (name.length > IFNAMSIZ) throw new LabError('bad-argument', `interface name '${name}' exceeds ${IFNAMSIZ} chars; use a shorter prefix`);
    return name;
  }

  /** Creates a veth pair between two lab namespaces (never via the root namespace), addressed and up. */
  async veth(nsA: string, nsB: string, opts: VethOptions = {}): Promise<{ a: string; b: string }> {
    const n = this.counter++;
    const a = opts.nameA ?? `veth${n}a`;
    const b = opts.nameB ?? `veth${n}b`;
    await run(['ip', '-n', nsA, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b, 'netns', nsB]);
    for (const [ns, dev, v4, v6] of [[nsA, a, opts.a, opts.a6], [nsB, b, opts.b, opts.b6]] as const) {
      if (opts.mtu !== undefined) await run(['ip', '-n', ns, 'link', 'set', dev, 'mtu', String(opts.mtu)]);
      if (v4 !== undefined) await run(['ip', '-n', ns, 'addr', 'add', v4, 'dev', dev]);
      // nodad: the address is usable at once instead of after ~1 s of duplicate detection.
      if (v6 !== undefined) await run(['ip', '-n', ns, 'addr', 'add', v6, 'dev', dev, 'nodad']);
      await run(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    }
    return { a, b };
  }

  /** Runs a command inside a namespace; throws with its output when it fails (unless check: false). */
  exec(ns: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return run(['ip', 'netns', 'exec', ns, ...argv], opts);
  }

  /** Starts a background process in a namespace; stdout and stderr go to artifacts/…/<log>.log. */
  spawn(ns: string, argv: string[], opts: { log: string; env?: Record<string, string> }): LabProcess {
    const logPath = join(this.artifactsDir, `${opts.log}.log`);
    const fd = openSync(logPath, 'a');
    // `ip netns exec` execs the command after setns, so the PID is the command's own.
    const child = Bun.spawn(['ip', 'netns', 'exec', ns, ...argv], {
      stdin: 'ignore',
      stdout: fd,
      stderr: fd,
      env: opts.env ? { ...process.env, ...opts.env } : undefined,
    });
    closeSync(fd);
    let code: number | null = null;
    const exited = child.exited.then((c) => {
      code = c;
      return c;
    });
    const proc: LabProcess = {
      pid: child.pid,
      ns,
      argv,
      logPath,
      exited,
      exitCode: () => code,
      logTail: (lines = 30) => tail(logPath, lines),
    };
    this.processes.add(proc);
    return proc;
  }

  /** Signals a tracked process, waits for it, and SIGKILLs it after `timeoutMs`. Returns its exit code. */
  async kill(proc: LabProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5_000): Promise<number> {
    if (proc.exitCode() === null) {
      try {
        process.kill(proc.pid, signal);
      } catch {
        // already gone: `exited` settles below
      }
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs));
      if ((await Promise.race([proc.exited, timer])) === 'timeout') {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch {
          // raced with its exit
        }
      }
    }
    const code = await proc.exited;
    this.processes.delete(proc);
    return code;
  }

  /** Starts tcpdump on `iface` in `ns` writing a pcap to the artifacts dir; waits until it listens. */
  async capture(ns: string, iface: string, filter = ''): Promise<Capture> {
    const base = `${ns.slice(NS_PREFIX.length + this.id.length + 1)}-${iface}-${this.counter++}`;
    const path = join(this.artifactsDir, `${base}.pcap`);
    // -Z root: Debian's tcpdump would otherwise drop to user tcpdump and fail to write here.
    // --immediate-mode: without it packets wait in the kernel ring and a short capture is empty.
    // -B: a 16 MiB kernel buffer, so bursts at line rate are not dropped before tcpdump reads them.
    const argv = ['tcpdump', '-i', iface, '-n', '-U', '--immediate-mode', '-B', '16384', '-Z', 'root', '-w', path];
    if (filter !== '') argv.push(filter);
    const proc = this.spawn(ns, argv, { log: `tcpdump-${base}` });
    await waitFor(`tcpdump on ${ns}/${iface} (log: ${proc.logPath})`, () => {
      if (proc.exitCode() !== null) throw new LabError('process-died', `tcpdump exited:\n${proc.logTail()}`);
      return tail(proc.logPath).includes('listening on');
    });
    return {
      path,
      proc,
      stop: async () => {
        await this.kill(proc, 'SIGINT');
        return path;
      },
    };
  }

  /** Registers a file (a wireguard-go control socket) to remove at cleanup. */
  trackSocket(path: string): void {
    this.sockets.add(path);
  }

  liveProcesses(): LabProcess[] {
    return [...this.processes].filter((p) => p.exitCode() === null && pidAlive(p.pid));
  }

  ownedNamespaces(): string[] {
    return [...this.namespaces];
  }

  /** Ends tracked processes (SIGTERM, then SIGKILL after 3 s), deletes namespaces, sockets, tmp. */
  async cleanup(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.processes].map((p) => this.kill(p, 'SIGTERM', 3_000)));
    this.cleanupSync();
  }

  /** The synchronous part, also used from exit and signal handlers where nothing can be awaited. */
  cleanupSync(): void {
    if (this.closed) return;
    this.closed = true;
    liveLabs.delete(this);
    const alive = [...this.processes].filter((p) => p.exitCode() === null);
    for (const p of alive) signal(p.pid, 'SIGTERM');
    const deadline = Date.now() + 2_000;
    while (alive.some((p) => pidAlive(p.pid)) && Date.now() < deadline) Bun.sleepSync(20);
    for (const p of alive) if (pidAlive(p.pid)) signal(p.pid, 'SIGKILL');
    this.processes.clear();
    for (const ns of this.namespaces) {
      killNamespacePids(ns); // anything a tracked process left behind inside our own namespace
      runSync(['ip', 'netns', 'del', ns]);
    }
    this.namespaces.clear();
    for (const path of this.sockets) rmSync(path, { force: true });
    this.sockets.clear();
    rmSync(this.tmpDir, { recursive: true, force: true });
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already exited
  }
}

function killNamespacePids(ns: string): void {
  const pids = runSync(['ip', 'netns', 'pids', ns]).stdout.split('\n').filter((s) => /^\d+$/.test(s));
  for (const pid of pids) signal(Number(pid), 'SIGKILL');
  if (pids.length > 0) {
    const deadline = Date.now() + 2_000;
    while (pids.some((p) => pidAlive(Number(p))) && Date.now() < deadline) Bun.sleepSync(20);
  }
}

/** Lists every namespace on the machine named `warren-<id>-*` (used by tests of cleanup). */
export function namespacesOf(id: string): string[] {
  if (!existsSync('/run/netns')) return [];
  return readdirSync('/run/netns').filter((n) => n.startsWith(`${NS_PREFIX}${id}-`));
}

/** Runs `fn` with a fresh Lab and always cleans up, for a single bun test or a script. */
export async function withLab<T>(name: string, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await Lab.create(name);
  try {
    return await fn(lab);
  } finally {
    await lab.cleanup();
  }
}

/** Reads a pcap back as tcpdump's one-line-per-packet text (`-nn`), optionally filtered. */
export async function readPcap(path: string, filter = ''): Promise<string[]> {
  const argv = ['tcpdump', '-nn', '-r', path];
  if (filter !== '') argv.push(filter);
  const r = await run(argv);
  return r.stdout.split('\n').filter((l) => l !== '');
}
