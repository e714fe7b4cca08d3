/**
 * The reference WireGuard implementation for interop tests: Debian's wireguard-go (userspace,
 * since this machine has no kernel module), configured with `wg set` like a user would.
 *
 * wireguard-go keeps its control socket at /var/run/wireguard/<iface>.sock, shared by every
 * namespace, so each instance gets a lab-unique interface name (Lab.ifname).
 */
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Lab, LabError, type LabProcess, run, waitFor } from './netns.ts';

export const WG_SOCKET_DIR = '/var/run/wireguard';

export interface KeyPair {
  privateKey: string;
  publicKey: string;
}

export async function publicKeyOf(privateKey: string): Promise<string> {
  return (await run(['wg', 'pubkey'], { stdin: `${privateKey}\n` })).stdout.trim();
}

/** A Curve25519 key pair in WireGuard's base64, from `wg genkey` / `wg pubkey`. */
export async function genKeyPair(): Promise<KeyPair> {
  const privateKey = (await run(['wg', 'genkey'])).stdout.trim();
  return { privateKey, publicKey: await publicKeyOf(privateKey) };
}

export async function genPsk(): Promise<string> {
  return (await run(['wg', 'genpsk'])).stdout.trim();
}

/** Writes a key to a 0600 file in the lab's private temp dir (wg reads keys only from files). */
export function writeKeyFile(lab: Lab, name: string, key: string): string {
  const path = join(lab.tmpDir, `${name}.key`);
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

export interface WgPeer {
  publicKey: string;
  presharedKey?: string;
  endpoint?: string;
  allowedIps: string[];
  persistentKeepalive?: number;
}

export interface WgSetOptions {
  privateKey?: string;
  listenPort?: number;
  peers?: WgPeer[];
}

/** `wg set IFACE …` inside `ns`: keys go through files, as wg requires. */
export async function wgSet(lab: Lab, ns: string, iface: string, opts: WgSetOptions): Promise<void> {
  const argv = ['wg', 'set', iface];
  if (opts.privateKey !== undefined) argv.push('private-key', writeKeyFile(lab, `${iface}-private`, opts.privateKey));
  if (opts.listenPort !== undefined) argv.push('listen-port', String(opts.listenPort));
  for (const [i, peer] of (opts.peers ?? []).entries()) {
    argv.push('peer', peer.publicKey, 'allowed-ips', peer.allowedIps.join(','));
    if (peer.presharedKey !== undefined) {
      argv.push('preshared-key', writeKeyFile(lab, `${iface}-psk-${i}-${Date.now()}`, peer.presharedKey));
    }
    if (peer.endpoint !== undefined) argv.push('endpoint', peer.endpoint);
    if (peer.persistentKeepalive !== undefined) argv.push('persistent-keepalive', String(peer.persistentKeepalive));
  }
  await lab.exec(ns, argv);
}

export interface WgDumpPeer {
  publicKey: string;
  presharedKey: string | null;
  endpoint: string | null;
  allowedIps: string[];
  /** Unix seconds of the latest handshake; 0 when none yet. */
  latestHandshake: number;
  rxBytes: number;
  txBytes: number;
  persistentKeepalive: number | null;
}

export interface WgDump {
  privateKey: string;
  publicKey: string;
  listenPort: number;
  fwmark: number | null;
  peers: WgDumpPeer[];
}

const none = (v: string | undefined): string | null => (v === undefined || v === '(none)' || v === 'off' ? null : v);

/** Parses `wg show IFACE dump`: one tab-separated line for the interface, then one per peer. */
export function parseWgDump(text: string): WgDump {
  const lines = text.trim().split('\n').map((l) => l.split('\t'));
  const head = lines[0];
  if (head === undefined || head.length !== 4) throw new LabError('exec-failed', `unexpected wg dump:\n${text}`);
  return {
    privateKey: head[0] ?? '',
    publicKey: head[1] ?? '',
    listenPort: Number(head[2]),
    fwmark: none(head[3]) === null ? null : Number(head[3]),
    peers: lines.slice(1).map((f) => {
      if (f.length !== 8) throw new LabError('exec-failed', `unexpected wg dump peer line: ${f.join('\\t')}`);
      const allowed = none(f[3]);
      const keepalive = none(f[7]);
      return {
        publicKey: f[0] ?? '',
        presharedKey: none(f[1]),
        endpoint: none(f[2]),
        allowedIps: allowed === null ? [] : allowed.split(','),
        latestHandshake: Number(f[4]),
        rxBytes: Number(f[5]),
        txBytes: Number(f[6]),
        persistentKeepalive: keepalive === null ? null : Number(keepalive),
      };
    }),
  };
}

export async function wgShow(lab: Lab, ns: string, iface: string): Promise<WgDump> {
  return parseWgDump((await lab.exec(ns, ['wg', 'show', iface, 'dump'])).stdout);
}

export interface WireguardGoOptions {
  /** Generated with `wg genkey` when absent. */
  privateKey?: string;
  listenPort?: number;
  /** CIDR addresses for the interface, IPv4 and/or IPv6. */
  addresses?: string[];
  mtu?: number;
  peers?: WgPeer[];
  /** Interface name prefix (≤ 4 chars); the lab appends its id. */
  prefix?: string;
  /** wireguard-go's LOG_LEVEL: verbose (default, for debugging interop), error or silent. */
  logLevel?: 'verbose' | 'error' | 'silent';
}

export interface WireguardGo extends KeyPair {
  readonly ns: string;
  readonly iface: string;
  readonly listenPort: number | undefined;
  readonly proc: LabProcess;
  set(opts: WgSetOptions): Promise<void>;
  show(): Promise<WgDump>;
  stop(): Promise<number>;
}

/** Starts wireguard-go in `ns` (foreground, tracked by PID), configures it and brings it up. */
export async function startWireguardGo(lab: Lab, ns: string, opts: WireguardGoOptions = {}): Promise<WireguardGo> {
  const iface = lab.ifname(opts.prefix ?? 'wg');
  const keys = opts.privateKey === undefined ? await genKeyPair() : { privateKey: opts.privateKey, publicKey: await publicKeyOf(opts.privateKey) };
  const socket = join(WG_SOCKET_DIR, `${iface}.sock`);
  lab.trackSocket(socket);
  const proc = lab.spawn(ns, ['wireguard-go', '-f', iface], {
    log: `wireguard-go-${iface}`,
    env: { LOG_LEVEL: opts.logLevel ?? 'verbose', WG_PROCESS_FOREGROUND: '1' },
  });
  await waitFor(`wireguard-go ${iface} in ${ns} (log: ${proc.logPath})`, async () => {
    if (proc.exitCode() !== null) throw new LabError('process-died', `wireguard-go ${iface} exited ${proc.exitCode()}:\n${proc.logTail()}`);
    return existsSync(socket) && (await lab.exec(ns, ['ip', 'link', 'show', iface], { check: false })).code === 0;
  });
  const node: WireguardGo = {
    ...keys,
    ns,
    iface,
    listenPort: opts.listenPort,
    proc,
    set: (o) => wgSet(lab, ns, iface, o),
    show: () => wgShow(lab, ns, iface),
    stop: () => lab.kill(proc, 'SIGTERM'),
  };
  await node.set({ privateKey: keys.privateKey, listenPort: opts.listenPort, peers: opts.peers });
  if (opts.mtu !== undefined) await lab.exec(ns, ['ip', 'link', 'set', iface, 'mtu', String(opts.mtu)]);
  for (const addr of opts.addresses ?? []) {
    await lab.exec(ns, addr.includes(':') ? ['ip', 'addr', 'add', addr, 'dev', iface, 'nodad'] : ['ip', 'addr', 'add', addr, 'dev', iface]);
  }
  await lab.exec(ns, ['ip', 'link', 'set', iface, 'up']);
  return node;
}
