/**
 * BitTorrent in the lab, with Debian's own programs: opentracker (the lab's tracker, on an
 * address of the "internet" namespace; it only tracks the info hashes it is given), and
 * transmission-daemon instances, each in a namespace with its own config dir, driven over its
 * RPC on 127.0.0.1 inside that namespace (curl, through `ip netns exec`). DHT, local peer
 * discovery and peer exchange are off everywhere: peers find each other through the lab's
 * tracker only, and nothing is ever announced anywhere else.
 */
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { createHash, randomFillSync } from 'node:crypto';
import { join } from 'node:path';
import bencode from 'bencode';
import { type Lab, type LabProcess, LabError, run, waitFor } from './netns.ts';

/** Addresses on the "inet" namespace's lo: outside the exit's subnets (203.0.113.16/28), which members may not reach. */
export const TORRENT_ADDR = { tracker: '198.51.100.80', seeder: '198.51.100.81', peer2: '198.51.100.82' } as const;
export const TORRENT_PORT = { tracker: 6969, client: 51413, seeder: 51001, peer2: 51002 } as const;
export const ANNOUNCE_URL = `http://${TORRENT_ADDR.tracker}:${TORRENT_PORT.tracker}/announce`;

export interface MadeTorrent {
  /** The .torrent file. */
  path: string;
  /** The directory holding the data (a seeder's download dir). */
  dataDir: string;
  fileName: string;
  size: number;
  infoHash: string;
  pieceCount: number;
  sha256: string;
}

/** `size` random bytes in `dir/fileName` and a public torrent of it on the lab's tracker (transmission-create). */
export async function makeTorrent(lab: Lab, dir: string, fileName: string, size: number): Promise<MadeTorrent> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, fileName);
  const hash = createHash('sha256');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(1 << 20);
  for (let left = size; left > 0; left -= chunk.length) {
    const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
    randomFillSync(part);
    hash.update(part);
    writeSync(fd, part);
  }
  closeSync(fd);
  const path = join(lab.tmpDir, `${fileName}.torrent`);
  // No -p: a public torrent. Piece size: transmission-create's own choice for this size.
  await run(['transmission-create', '-o', path, '-t', ANNOUNCE_URL, file], { timeoutMs: 120_000 });
  const show = (await run(['transmission-show', path])).stdout;
  const infoHash = /^\s*Hash:\s*([0-9a-f]{40})\s*$/m.exec(show)?.[1];
  const pieces = /^\s*Piece Count:\s*(\d+)\s*$/m.exec(show)?.[1];
  if (infoHash === undefined || pieces === undefined) throw new LabError('exec-failed', `transmission-show printed no hash or piece count:\n${show}`);
  return { path, dataDir: dir, fileName, size, infoHash, pieceCount: Number(pieces), sha256: hash.digest('hex') };
}

export async function sha256File(path: string): Promise<string> {
  return (await run(['sha256sum', path], { timeoutMs: 60_000 })).stdout.split(' ')[0]!;
}

/**
 * Debian's opentracker on TORRENT_ADDR.tracker in `ns`. Debian builds it with a whitelist (only
 * the listed info hashes are tracked), so the lab's tracker tracks the lab's torrents and nothing
 * else. It chroots into its own directory and drops to `nobody`.
 */
export async function startTracker(lab: Lab, ns: string, ...infoHashes: string[]): Promise<LabProcess> {
  const dir = join(lab.tmpDir, 'opentracker');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'whitelist'), `${infoHashes.join('\n')}\n`);
  const a = TORRENT_ADDR.tracker;
  const p = String(TORRENT_PORT.tracker);
  // -w is read relative to the chroot (-d).
  const proc = lab.spawn(ns, ['opentracker', '-i', a, '-p', p, '-P', p, '-d', dir, '-u', 'nobody', '-w', 'whitelist'], { log: 'opentracker' });
  await waitFor(`opentracker on ${a}:${p} (log: ${proc.logPath})`, async () => {
    if (proc.exitCode() !== null) throw new LabError('process-died', `opentracker exited ${proc.exitCode()}:\n${proc.logTail()}`);
    return (await lab.exec(ns, ['ss', '-Htln', 'src', `${a}:${p}`])).stdout.trim() !== '';
  }, { timeoutMs: 10_000, intervalMs: 100 });
  return proc;
}

// --- the tracker's view ----------------------------------------------------------------------------

/** "a.b.c.d:port" for each 6-byte entry of a compact peer list (BEP 23). */
export function compactPeers(b: Uint8Array): string[] {
  const out: string[] = [];
  for (let o = 0; o + 6 <= b.length; o += 6) out.push(`${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}:${(b[o + 4]! << 8) | b[o + 5]!}`);
  return out;
}

/**
 * The peers the tracker holds for `infoHash`, as it would hand them out: an announce from the
 * tracker's own address (port 9, "discard"), withdrawn at once (event=stopped), so the list shows
 * exactly which address and port the tracker recorded for every peer.
 */
export async function observeTracker(lab: Lab, ns: string, infoHash: string): Promise<string[]> {
  const ih = infoHash.replace(/../g, (h) => `%${h}`);
  const base = `${ANNOUNCE_URL}?info_hash=${ih}&peer_id=-WL0001-observer0000&port=9&uploaded=0&downloaded=0&left=0&compact=1`;
  const out = join(lab.tmpDir, 'tracker-answer.bin');
  await lab.exec(ns, ['curl', '-sS', '--max-time', '5', '--interface', TORRENT_ADDR.tracker, '-o', out, `${base}&numwant=200`]);
  await lab.exec(ns, ['curl', '-sS', '--max-time', '5', '--interface', TORRENT_ADDR.tracker, '-o', '/dev/null', `${base}&event=stopped`]);
  const answer = bencode.decode(readFileSync(out)) as Record<string, unknown>;
  if (typeof answer !== 'object' || answer === null || answer instanceof Uint8Array) throw new Error('the tracker did not answer a dictionary');
  const failure = answer['failure reason'];
  if (failure instanceof Uint8Array) throw new Error(`the tracker refused: ${Buffer.from(failure).toString()}`);
  const peers = answer.peers;
  if (!(peers instanceof Uint8Array)) throw new Error('the tracker answered no compact peer list');
  return compactPeers(peers).filter((p) => p !== `${TORRENT_ADDR.tracker}:9`);
}

// --- transmission-daemon --------------------------------------------------------------------------

export interface Transmission {
  readonly name: string;
  readonly ns: string;
  /** Its config dir (-g). */
  readonly dir: string;
  readonly downloads: string;
  readonly rpcPort: number;
  readonly proc: LabProcess;
  /** RPC: the `arguments` of the answer; throws unless the result is "success". */
  rpc(method: string, args?: Record<string, unknown>): Promise<Record<string, unknown>>;
  stop(): Promise<number>;
}

export interface TransmissionOptions {
  name: string;
  ns: string;
  /** Its address: it listens there for peers and sends from there (tracker and peers). */
  bind: string;
  peerPort: number;
  /** NAT-PMP/UPnP: ask the default gateway for the peer port (the LAN client only). */
  portForwarding: boolean;
  /** Its RPC port on 127.0.0.1 (default 9091); daemons sharing a namespace need different ones. */
  rpcPort?: number;
}

/** Starts transmission-daemon in the foreground (so the Lab ends it by PID) and waits for its RPC. */
export async function startTransmission(lab: Lab, o: TransmissionOptions): Promise<Transmission> {
  const dir = join(lab.tmpDir, `transmission-${o.name}`);
  const downloads = join(dir, 'downloads');
  const rpcPort = o.rpcPort ?? 9091;
  mkdirSync(downloads, { recursive: true });
  const settings = {
    'bind-address-ipv4': o.bind,
    'peer-port': o.peerPort,
    'peer-port-random-on-start': false,
    'port-forwarding-enabled': o.portForwarding,
    // Peers come from the lab's tracker only.
    'dht-enabled': false,
    'lpd-enabled': false,
    'pex-enabled': false,
    // TCP only: Transmission 3.00 maps a TCP port with NAT-PMP, and a peer found over TCP is unambiguous.
    'utp-enabled': false,
    'blocklist-enabled': false,
    encryption: 1,
    'rpc-enabled': true,
    'rpc-bind-address': '127.0.0.1',
    'rpc-port': rpcPort,
    'rpc-authentication-required': false,
    'rpc-whitelist-enabled': false,
    'rpc-host-whitelist-enabled': false,
    'download-dir': downloads,
    'incomplete-dir-enabled': false,
    'watch-dir-enabled': false,
    'start-added-torrents': true,
    'speed-limit-down-enabled': false,
    'speed-limit-up-enabled': false,
    'alt-speed-enabled': false,
    'ratio-limit-enabled': false,
    'idle-seeding-limit-enabled': false,
    'download-queue-enabled': false,
    'seed-queue-enabled': false,
    'queue-stalled-enabled': false,
    'cache-size-mb': 16,
    'message-level': 2,
  };
  writeFileSync(join(dir, 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
  const proc = lab.spawn(o.ns, ['transmission-daemon', '-f', '-g', dir, '--log-info'], { log: `transmission-${o.name}` });
  let sessionId = '';
  const rpc = async (method: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> => {
    const body = JSON.stringify({ method, arguments: args });
    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await lab.exec(o.ns, ['curl', '-sS', '--max-time', '10', '-D', '-', '-H', `X-Transmission-Session-Id: ${sessionId}`, '--data-binary', body, `http://127.0.0.1:${rpcPort}/transmission/rpc`], { check: false, timeoutMs: 15_000 });
      if (r.code !== 0) throw new LabError('exec-failed', `transmission ${o.name} RPC ${method}: curl exited ${r.code}: ${r.stderr.trim()}`);
      const split = r.stdout.indexOf('\r\n\r\n');
      const head = r.stdout.slice(0, split);
      const status = Number(/^HTTP\/[\d.]+ (\d+)/.exec(head)?.[1]);
      if (status === 409) {
        sessionId = /^X-Transmission-Session-Id:\s*(\S+)/im.exec(head)?.[1] ?? '';
        continue;
      }
      const answer = JSON.parse(r.stdout.slice(split + 4)) as { result: string; arguments: Record<string, unknown> };
      if (answer.result !== 'success') throw new LabError('exec-failed', `transmission ${o.name} RPC ${method}: ${answer.result}`);
      return answer.arguments;
    }
    throw new LabError('exec-failed', `transmission ${o.name} RPC ${method}: no session id`);
  };
  const t: Transmission = { name: o.name, ns: o.ns, dir, downloads, rpcPort, proc, rpc, stop: () => lab.kill(proc, 'SIGTERM', 15_000) };
  await waitFor(`transmission ${o.name} to answer RPC (log: ${proc.logPath})`, async () => {
    if (proc.exitCode() !== null) throw new LabError('process-died', `transmission-daemon ${o.name} exited ${proc.exitCode()}:\n${proc.logTail()}`);
    // Its own RPC, not another daemon's on the same port of this namespace.
    return rpc('session-get').then((s) => s['config-dir'] === dir, () => false);
  }, { timeoutMs: 20_000, intervalMs: 200 });
  return t;
}

/** Adds a .torrent (by path: the daemon runs as root on the same filesystem). */
export async function addTorrent(t: Transmission, torrentPath: string, downloadDir?: string): Promise<void> {
  const args: Record<string, unknown> = { filename: torrentPath, paused: false };
  if (downloadDir !== undefined) args['download-dir'] = downloadDir;
  const r = await t.rpc('torrent-add', args);
  if (!r['torrent-added'] && !r['torrent-duplicate']) throw new LabError('exec-failed', `transmission ${t.name}: torrent-add answered ${JSON.stringify(r)}`);
}

export interface TorrentPeer {
  address: string;
  port: number;
  isIncoming: boolean;
  flagStr: string;
  clientName: string;
}

export interface TorrentInfo {
  /** 0 stopped, 1 check wait, 2 checking, 3 download wait, 4 downloading, 5 seed wait, 6 seeding. */
  status: number;
  percentDone: number;
  /** Bytes/s. */
  rateDownload: number;
  /** Bytes of pieces that passed their SHA-1 check. */
  haveValid: number;
  haveUnchecked: number;
  sizeWhenDone: number;
  leftUntilDone: number;
  /** Bytes received that failed their piece's SHA-1 check. */
  corruptEver: number;
  pieceCount: number;
  error: number;
  errorString: string;
  peers: TorrentPeer[];
  trackerStats: { lastAnnounceSucceeded: boolean; lastAnnounceResult: string; seederCount: number; leecherCount: number }[];
}

const FIELDS = ['rateDownload', 'status', 'percentDone', 'haveValid', 'haveUnchecked', 'sizeWhenDone', 'leftUntilDone', 'corruptEver', 'pieceCount', 'error', 'errorString', 'peers', 'trackerStats'];

/** The one torrent each of the lab's daemons holds. */
export async function torrentInfo(t: Transmission): Promise<TorrentInfo> {
  const r = await t.rpc('torrent-get', { fields: FIELDS });
  const list = r.torrents as TorrentInfo[];
  if (list.length !== 1) throw new LabError('exec-failed', `transmission ${t.name} holds ${list.length} torrents, not one`);
  return list[0]!;
}

export async function peersOf(t: Transmission): Promise<TorrentPeer[]> {
  return (await torrentInfo(t)).peers;
}

function complete(i: TorrentInfo): boolean {
  return i.percentDone === 1 && i.leftUntilDone === 0 && i.haveValid === i.sizeWhenDone && (i.status === 5 || i.status === 6);
}

function failIfBroken(t: Transmission, i: TorrentInfo): void {
  if (i.error !== 0) throw new LabError('exec-failed', `transmission ${t.name}: error ${i.error}: ${i.errorString}`);
  if (t.proc.exitCode() !== null) throw new LabError('process-died', `transmission-daemon ${t.name} exited ${t.proc.exitCode()}:\n${t.proc.logTail()}`);
}

/** Waits until every piece is there and checked (seeding). */
export async function waitComplete(t: Transmission, what: string, timeoutMs: number): Promise<TorrentInfo> {
  let last: TorrentInfo | undefined;
  try {
    return await waitFor(what, async () => {
      last = await torrentInfo(t);
      failIfBroken(t, last);
      return complete(last) ? last : false;
    }, { timeoutMs, intervalMs: 200 });
  } catch (e) {
    if (e instanceof LabError && e.kind === 'timeout' && last) {
      throw new LabError('timeout', `${e.message}; last state: ${JSON.stringify({ ...last, peers: last.peers.map((p) => `${p.address}:${p.port} ${p.flagStr}`) })}\n--- transmission ${t.name} log ---\n${t.proc.logTail(20)}`);
    }
    throw e;
  }
}

/**
 * Re-checks every piece from disk against the torrent's SHA-1 hashes (torrent-verify) and waits
 * until the torrent is seeding again with all of them valid. The verify is queued before the RPC
 * answers (Transmission runs it in its event thread), so seeding afterwards means checked; a piece
 * that fails sends the torrent back to downloading, which fails here.
 */
export async function waitVerified(t: Transmission, what: string, timeoutMs: number): Promise<TorrentInfo> {
  await t.rpc('torrent-verify', {});
  return waitFor(what, async () => {
    const i = await torrentInfo(t);
    failIfBroken(t, i);
    if (i.status === 3 || i.status === 4) throw new LabError('exec-failed', `transmission ${t.name}: the check found missing or bad pieces (${i.haveValid} of ${i.sizeWhenDone} bytes valid)`);
    return complete(i) ? i : false;
  }, { timeoutMs, intervalMs: 200 });
}

/** Removes the daemon's torrent and its downloaded data (so the next add downloads it again). */
export async function removeTorrent(t: Transmission): Promise<void> {
  const ids = ((await t.rpc('torrent-get', { fields: ['id'] })).torrents as { id: number }[]).map((x) => x.id);
  await t.rpc('torrent-remove', { ids, 'delete-local-data': true });
  await waitFor(`${t.name} to drop its torrent`, async () => ((await t.rpc('torrent-get', { fields: ['id'] })).torrents as unknown[]).length === 0, { timeoutMs: 15_000, intervalMs: 100 });
}
