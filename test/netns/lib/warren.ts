/**
 * Starts the Warren daemon inside a lab namespace, the way a user would: a TOML config file
 * (the contract in appliance/config), `warren daemon --config FILE`, then `warren status --json`
 * over the control socket until it answers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import { type Lab, LabError, type LabProcess, REPO_ROOT, waitFor } from './netns.ts';
import { genKeyPair, type KeyPair, publicKeyOf } from './wireguard-go.ts';

export const WARREN_BIN = join(REPO_ROOT, 'warren');

export interface WarrenPeer {
  name: string;
  publicKey: string;
  presharedKey?: string;
  endpoint?: string;
  allowedIps: string[];
  persistentKeepalive?: number;
  /** A configured member that relays. */
  relay?: boolean;
}

export interface WarrenConfig {
  iface: string;
  privateKey: string;
  /** Write the key to a 0600 file and use `private_key_file` instead of inlining it. */
  privateKeyFile?: string;
  listenPort: number;
  addresses: string[];
  mtu?: number;
  wire?: string;
  socket: string;
  /** Protocol timers in seconds (rekey_after_time, …); tests shorten them. */
  timers?: Record<string, number>;
  /** [limits] settings (cookie_after_handshakes_per_second, …). */
  limits?: Record<string, number>;
  /** The network secret (base64); required by the native wire. */
  networkSecret?: string;
  padding?: string;
  cipher?: string;
  /** More [interface] settings, e.g. { advertise: [...] }. */
  interfaceExtra?: Record<string, unknown>;
  /** More top-level sections, e.g. { network: { file }, discovery: { … } }. */
  sections?: Record<string, unknown>;
  peers: WarrenPeer[];
}

/** Renders Warren's TOML config. Pure, so the contract can be checked without root. */
export function warrenConfigToml(c: WarrenConfig): string {
  const iface: Record<string, unknown> = { name: c.iface };
  if (c.privateKeyFile !== undefined) iface.private_key_file = c.privateKeyFile;
  else iface.private_key = c.privateKey;
  iface.listen_port = c.listenPort;
  if (c.addresses.length > 0) iface.address = c.addresses; // none: the overlay addresses of the network
  iface.mtu = c.mtu ?? 1420;
  iface.wire = c.wire ?? 'wireguard';
  if (c.padding !== undefined) iface.padding = c.padding;
  if (c.cipher !== undefined) iface.cipher = c.cipher;
  Object.assign(iface, c.interfaceExtra ?? {});
  const doc: Record<string, unknown> = { interface: iface, control: { socket: c.socket } };
  if (c.timers !== undefined) doc.timers = c.timers;
  if (c.limits !== undefined) doc.limits = c.limits;
  if (c.networkSecret !== undefined) doc.network = { name: 'lab', secret: c.networkSecret };
  Object.assign(doc, c.sections ?? {});
  doc.peer = c.peers.map((p) => {
    const peer: Record<string, unknown> = { name: p.name, public_key: p.publicKey };
    if (p.presharedKey !== undefined) peer.preshared_key = p.presharedKey;
    if (p.endpoint !== undefined) peer.endpoint = p.endpoint;
    peer.allowed_ips = p.allowedIps;
    if (p.persistentKeepalive !== undefined) peer.persistent_keepalive = p.persistentKeepalive;
    if (p.relay) peer.relay = true;
    return peer;
  });
  return stringify(doc);
}

export interface WarrenOptions {
  /** Label for files and logs; defaults to the namespace's role. */
  name?: string;
  /** Generated with `wg genkey` when absent. */
  privateKey?: string;
  privateKeyInFile?: boolean;
  listenPort?: number;
  addresses: string[];
  mtu?: number;
  wire?: string;
  timers?: Record<string, number>;
  limits?: Record<string, number>;
  networkSecret?: string;
  padding?: string;
  cipher?: string;
  sections?: Record<string, unknown>;
  /** Use this existing key file (e.g. made by `warren init`) instead of a generated key. */
  privateKeyPath?: string;
  peers?: WarrenPeer[];
  /** How long to wait for the control socket to answer (default 20 s: Bun cold start). */
  startTimeoutMs?: number;
  env?: Record<string, string>;
  /** The TUN's name (default: a fresh one); pass the old node's to restart it as it was. */
  iface?: string;
  /** More [interface] settings, e.g. { advertise: [...] }. */
  interfaceExtra?: Record<string, unknown>;
}

export interface WarrenNode extends KeyPair {
  readonly ns: string;
  readonly iface: string;
  readonly listenPort: number;
  readonly configPath: string;
  readonly socketPath: string;
  readonly proc: LabProcess;
  /** `warren status --json` inside the namespace, parsed. */
  status(): Promise<Record<string, unknown>>;
  /** SIGTERM, then SIGKILL after 5 s; resolves with the exit code. */
  stop(): Promise<number>;
  /** VmRSS of the daemon (the Bun process itself: `warren` and `ip netns exec` both exec). */
  rssKb(): number | null;
}

async function statusOnce(lab: Lab, ns: string, socketPath: string): Promise<{ ok: true; json: Record<string, unknown> } | { ok: false; why: string }> {
  const r = await lab.exec(ns, [WARREN_BIN, 'status', '--json', '--socket', socketPath], { check: false, timeoutMs: 10_000 });
  if (r.code !== 0) return { ok: false, why: `exit ${r.code}: ${r.stderr.trim() || r.stdout.trim()}` };
  try {
    const json: unknown = JSON.parse(r.stdout);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, why: `status is not a JSON object: ${r.stdout.slice(0, 200)}` };
    return { ok: true, json: json as Record<string, unknown> };
  } catch {
    return { ok: false, why: `status printed no JSON: ${r.stdout.slice(0, 200)}` };
  }
}

export function readRssKb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m?.[1] === undefined ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/** Writes the config, starts `warren daemon` in `ns` and waits until its control socket answers. */
export async function startWarren(lab: Lab, ns: string, opts: WarrenOptions): Promise<WarrenNode> {
  const name = opts.name ?? ns.split('-').slice(2).join('-');
  const iface = opts.iface ?? lab.ifname('wrn');
  const givenKey = opts.privateKeyPath !== undefined ? readFileSync(opts.privateKeyPath, 'utf8').trim() : opts.privateKey;
  const keys = givenKey === undefined ? await genKeyPair() : { privateKey: givenKey, publicKey: await publicKeyOf(givenKey) };
  const socketPath = join(lab.tmpDir, `${name}.sock`);
  const configPath = join(lab.tmpDir, `${name}.toml`);
  let privateKeyFile: string | undefined;
  if (opts.privateKeyPath !== undefined) {
    privateKeyFile = opts.privateKeyPath;
  } else if (opts.privateKeyInFile === true) {
    privateKeyFile = join(lab.tmpDir, `${name}-warren.key`);
    writeFileSync(privateKeyFile, `${keys.privateKey}\n`, { mode: 0o600 });
  }
  const listenPort = opts.listenPort ?? 51820;
  const toml = warrenConfigToml({
    iface,
    privateKey: keys.privateKey,
    privateKeyFile,
    listenPort,
    addresses: opts.addresses,
    mtu: opts.mtu,
    wire: opts.wire,
    socket: socketPath,
    timers: opts.timers,
    limits: opts.limits,
    networkSecret: opts.networkSecret,
    padding: opts.padding,
    cipher: opts.cipher,
    sections: opts.sections,
    interfaceExtra: opts.interfaceExtra,
    peers: opts.peers ?? [],
  });
  writeFileSync(configPath, toml, { mode: 0o600 });

  const proc = lab.spawn(ns, [WARREN_BIN, 'daemon', '--config', configPath], { log: `warren-${name}`, env: opts.env });
  let lastWhy = 'no answer yet';
  const node: WarrenNode = {
    ...keys,
    ns,
    iface,
    listenPort,
    configPath,
    socketPath,
    proc,
    status: async () => {
      const r = await statusOnce(lab, ns, socketPath);
      if (!r.ok) throw new LabError('exec-failed', `warren status in ${ns}: ${r.why}`);
      return r.json;
    },
    stop: () => lab.kill(proc, 'SIGTERM'),
    rssKb: () => readRssKb(proc.pid),
  };
  try {
    await waitFor(
      `warren in ${ns} to answer status on ${socketPath}`,
      async () => {
        if (proc.exitCode() !== null) {
          throw new LabError('process-died', `warren daemon in ${ns} exited ${proc.exitCode()} (config ${configPath}); log tail:\n${proc.logTail()}`);
        }
        const r = await statusOnce(lab, ns, socketPath);
        if (r.ok) return true;
        lastWhy = r.why;
        return false;
      },
      { timeoutMs: opts.startTimeoutMs ?? 20_000, intervalMs: 200 },
    );
  } catch (e) {
    await lab.kill(proc, 'SIGTERM', 2_000);
    if (e instanceof LabError && e.kind === 'timeout') {
      throw new LabError('timeout', `${e.message}; last status attempt: ${lastWhy}; log tail:\n${proc.logTail()}`);
    }
    throw e;
  }
  return node;
}
