/**
 * Warren on the BitTorrent mainline DHT (BEP 5) through bittorrent-dht, storing member records
 * as BEP 44 mutable items (DESIGN.md "Discovery").
 *
 * Stages, in the order they run:
 *   createDht  check the bootstrap list against the lab guard, open the UDP socket (guarded
 *              under WARREN_LAB=1), start bittorrent-dht with Ed25519 `verify`, wait until it
 *              is listening and bootstrapped (bounded);
 *   publish    for the current and the next hour: seal the record with that hour's record key,
 *              `put` it under the hour's key pair and the slot's salt, seq = record timestamp;
 *              bittorrent-dht signs through our `sign` hook over the BEP 44 buffer;
 *   lookup     `get` every slot of the current hour (the previous hour when none answers),
 *              re-check each item's key and signature, open the records, keep the valid ones;
 *   close      destroy the DHT and its socket.
 *
 * Timing caveats: every network step is bounded by a timeout; a `get` or `put` that outlives its
 * timeout keeps running inside bittorrent-dht until its own query timeouts end, and its late
 * callback is ignored.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import DHT, { type GetResult } from 'bittorrent-dht';
import { ed25519 } from './ed25519.ts';
import { verifyEd25519, verifyMutableItem } from './bep44.ts';
import { guardSocket, labGuardFromEnv, type LabGuard, type SendingSocket } from './lab-guard.ts';
import { openRecord, sealRecord, type MemberRecord, type RecordFields } from './record.ts';
import { hourKeyPair, hourOf, hourTargets, recordKey, slotSalt } from './rendezvous.ts';

/** The public mainline routers: production only. Tests and the lab pass their own nodes. */
export const PUBLIC_BOOTSTRAP: readonly string[] = [
  'router.bittorrent.com:6881',
  'router.utorrent.com:6881',
  'dht.transmissionbt.com:6881',
  'dht.libtorrent.org:25401',
];

const DEFAULT_READY_TIMEOUT_MS = 10_000;
const DEFAULT_LOOKUP_TIMEOUT_MS = 10_000;
const DEFAULT_PUBLISH_TIMEOUT_MS = 10_000;

export type DhtErrorKind = 'bad-bootstrap' | 'not-ready' | 'closed';

export class DhtError extends Error {
  override readonly name = 'DhtError';
  constructor(
    readonly kind: DhtErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface DhtOptions {
  /** `ip:port` of nodes to join through; default PUBLIC_BOOTSTRAP; `[]` starts a new network. */
  readonly bootstrap?: readonly string[];
  readonly port?: number;
  readonly host?: string;
  /** CIDRs allowed besides loopback when WARREN_LAB=1 (e.g. the lab's veth subnet). */
  readonly labRanges?: readonly string[];
  /** Where WARREN_LAB is read; default process.env. */
  readonly env?: Record<string, string | undefined>;
  /** The clock, Unix milliseconds; default Date.now. Tests move it across hours. */
  readonly now?: () => number;
  readonly readyTimeoutMs?: number;
  /** A socket to use instead of a fresh udp4 one (tests pass a fake). */
  readonly socket?: SendingSocket & object;
  /** BEP 44 items (and announce tables) kept for others, least recently used evicted; default 1000. */
  readonly maxValues?: number;
}

export interface PublishResult {
  readonly hour: number;
  readonly slot: number;
  readonly target: string;
  /** Nodes that accepted the put; 0 with `error` when none did. */
  readonly stored: number;
  readonly error?: string;
}

/** Hears each valid record as its slot answers, with the hour and slot it was found in. */
export type OnRecord = (record: MemberRecord, where: { hour: number; slot: number }) => void;

export interface MutableItem {
  readonly publicKey: Uint8Array;
  readonly seq: number;
  readonly value: Uint8Array;
  readonly signature: Uint8Array;
}

function parseBootstrap(entries: readonly string[], guard: LabGuard | null): Array<{ host: string; port: number }> {
  return entries.map((entry) => {
    const at = entry.lastIndexOf(':');
    const host = entry.slice(0, at).replace(/^\[(.*)\]$/, '$1');
    const port = Number(entry.slice(at + 1));
    if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new DhtError('bad-bootstrap', `bootstrap entry ${JSON.stringify(entry)} is not host:port`);
    }
    guard?.check(host, port); // before any socket exists: a public router never gets a packet
    return { host, port };
  });
}

/** Runs `start`, settling with what it passes to `finish` or with `fallback` after `ms`; a throw rejects at once. */
function withTimeout<T>(ms: number, fallback: T, start: (finish: (value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (value: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(value);
    };
    const timer = setTimeout(() => finish(fallback), ms);
    try {
      start(finish);
    } catch (err) {
      settled = true;
      clearTimeout(timer);
      reject(err);
    }
  });
}

const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Ed25519 for bittorrent-dht's `verify` option (BEP 44 puts are refused without it). */
function dhtVerify(signature: Buffer, message: Buffer, publicKey: Buffer): boolean {
  return verifyEd25519(signature, message, publicKey);
}

type ClosestFn = (target: Buffer, message: unknown, onReply: (message: { r?: GetResult }) => boolean, done: (err?: Error) => void) => void;

export class WarrenDht {
  readonly #dht: DHT;
  readonly #now: () => number;
  #closed = false;
  /** Warnings bittorrent-dht reported (bad packets, unexpected replies): counted, not thrown. */
  warnings = 0;

  /** BEP 44 items this node keeps for others (a read-only appliance node keeps none). */
  storedValues(): number {
    return (this.#dht as unknown as { _values: { length: number } })._values.length;
  }

  /**
   * A node whose routing table is empty (its bootstrap found no one: the network was not up yet,
   * or every answer was lost) asks its bootstrap nodes again; bittorrent-dht alone would wait for
   * its 15-minute bucket check. True when it did. The service calls this before each round.
   */
  rejoinIfIsolated(): boolean {
    if (!this.#bootstraps || this.#closed || this.#dht.toJSON().nodes.length > 0) return false;
    (this.#dht as unknown as { _bootstrap(populate: boolean): void })._bootstrap(true);
    return true;
  }

  #bootstraps = false;

  constructor(dht: DHT, now: () => number, bootstraps = true) {
    this.#dht = dht;
    this.#bootstraps = bootstraps;
    this.#now = now;
    dht.on('warning', () => this.warnings++);
  }

  /** The raw client, for tests and diagnostics. */
  get client(): DHT {
    return this.#dht;
  }

  address(): { address: string; port: number } {
    const a = this.#dht.address();
    return { address: a.address, port: a.port };
  }

  hour(): number {
    return hourOf(this.#now());
  }

  #assertOpen(): void {
    if (this.#closed) throw new DhtError('closed', 'the DHT was closed; create a new one');
  }

  /** One BEP 44 mutable `get`, verified by us as well as by the library; null when nothing valid answers. */
  getMutable(publicKey: Uint8Array, salt: Uint8Array, target: Uint8Array, timeoutMs = DEFAULT_LOOKUP_TIMEOUT_MS): Promise<MutableItem | null> {
    this.#assertOpen();
    const accept = (res: GetResult | null): MutableItem | null => {
      if (!res || !res.k || !res.sig || typeof res.seq !== 'number' || !res.v) return null;
      const item = { publicKey: new Uint8Array(res.k), seq: res.seq, value: new Uint8Array(res.v), signature: new Uint8Array(res.sig) };
      const ours = Buffer.from(item.publicKey).equals(toBuffer(publicKey));
      return ours && verifyMutableItem({ ...item, salt }) ? item : null;
    };
    const closest = (this.#dht as unknown as { _closest?: ClosestFn; _rpc?: { id: Buffer } })._closest;
    const rpcId = (this.#dht as unknown as { _rpc?: { id: Buffer } })._rpc?.id;
    return withTimeout<MutableItem | null>(timeoutMs, null, (finish) => {
      if (typeof closest === 'function' && rpcId) {
        // The library's get walks the whole traversal looking for a higher seq before it calls
        // back; on a big DHT with departed nodes that outlasts our timeout and the value it had
        // already verified is lost. Our records are newest-wins by timestamp across lookup rounds,
        // so the first valid item ends the walk (bittorrent-dht 11.0.12's internal _closest; the
        // public get below is the fallback if that changes).
        closest.call(this.#dht, toBuffer(target), { q: 'get', a: { id: rpcId, target: toBuffer(target) } }, (message: { r?: GetResult }) => {
          const item = accept(message.r ? { ...message.r, salt: toBuffer(salt) } as GetResult : null);
          if (!item) return true;
          finish(item);
          return false;
        }, () => finish(null));
        return;
      }
      // cache: false — the library's local store keeps items without expiry; ask the network.
      this.#dht.get(toBuffer(target), { salt: toBuffer(salt), cache: false }, (err: Error | null, res: GetResult | null) => finish(err ? null : accept(res)));
    });
  }


  /**
   * Publishes a member record in `slot` for the current and the next hour. The record is sealed
   * with each hour's record key and signed by `identitySecretKey` (the member's Ed25519 seed);
   * the item is signed with the hour's key pair. seq is the record timestamp, so republish with
   * a newer timestamp (storing nodes refuse a seq that does not grow, BEP 44 "put message").
   * Republish well within the hour: a record is stale 2 h after its timestamp.
   */
  async publish(secret: Uint8Array, fields: RecordFields, identitySecretKey: Uint8Array, slot: number, timeoutMs = DEFAULT_PUBLISH_TIMEOUT_MS): Promise<PublishResult[]> {
    this.#assertOpen();
    const now = this.hour();
    const puts = [now, now + 1].map((hour) => {
      const keys = hourKeyPair(secret, hour);
      const salt = slotSalt(secret, hour, slot);
      const sealed = sealRecord(fields, identitySecretKey, recordKey(secret, hour));
      return withTimeout<PublishResult>(timeoutMs, { hour, slot, target: '', stored: 0, error: 'timed out' }, (finish) => {
        const target = this.#dht.put(
          {
            k: toBuffer(keys.publicKey),
            v: toBuffer(sealed),
            salt: toBuffer(salt),
            seq: fields.timestamp,
            // bittorrent-dht passes the BEP 44 buffer (salt, seq, v) it built: we only sign it.
            sign: (message: Buffer) => toBuffer(ed25519.sign(message, keys.secretKey)),
          },
          (err, key, stored) => finish({ hour, slot, target: key ? key.toString('hex') : target.toString('hex'), stored: err ? 0 : stored, ...(err ? { error: err.message } : {}) }),
        );
      });
    });
    return Promise.all(puts);
  }

  /**
   * Valid records of one hour's slots, newest per identity key. `onRecord` hears each one as soon
   * as its slot's query returns, so a caller can connect before the slowest traversal ends.
   */
  async #lookupHour(secret: Uint8Array, hour: number, deadline: number, onRecord?: OnRecord): Promise<MemberRecord[]> {
    const key = recordKey(secret, hour);
    const newest = new Map<string, MemberRecord>();
    await Promise.all(
      hourTargets(secret, hour).map(async (t) => {
        const item = await this.getMutable(t.publicKey, t.salt, t.target, Math.max(1, deadline - Date.now()));
        if (!item) return;
        const opened = openRecord(item.value, key, Math.floor(this.#now() / 1000));
        if (!opened.ok) return; // not ours, tampered or stale: ignored, as DESIGN.md asks
        const id = Buffer.from(opened.record.identityKey).toString('hex');
        const seen = newest.get(id);
        if (!seen || seen.timestamp < opened.record.timestamp) newest.set(id, opened.record);
        onRecord?.(opened.record, { hour, slot: t.slot });
      }),
    );
    return [...newest.values()];
  }

  /**
   * Looks up every slot of the current hour; when none holds a valid record, the previous
   * hour's (members that have not republished since the boundary). Bounded by `timeoutMs`.
   */
  async lookup(secret: Uint8Array, timeoutMs = DEFAULT_LOOKUP_TIMEOUT_MS, onRecord?: OnRecord): Promise<MemberRecord[]> {
    this.#assertOpen();
    const deadline = Date.now() + timeoutMs;
    const hour = this.hour();
    const current = await this.#lookupHour(secret, hour, deadline, onRecord);
    if (current.length > 0 || hour === 0 || Date.now() >= deadline) return current;
    return this.#lookupHour(secret, hour - 1, deadline, onRecord);
  }

  /** Announces this node on `infoHash` with implied_port: the nodes store the address and port they see. */
  announce(infoHash: Uint8Array, timeoutMs = DEFAULT_PUBLISH_TIMEOUT_MS): Promise<boolean> {
    this.#assertOpen();
    return withTimeout<boolean>(timeoutMs, false, (finish) => this.#dht.announce(toBuffer(infoHash), 0, (err) => finish(!err)));
  }

  /** The addresses announced on `infoHash` (BEP 5 get_peers), as `ip:port` strings. */
  findPeers(infoHash: Uint8Array, timeoutMs = DEFAULT_LOOKUP_TIMEOUT_MS): Promise<string[]> {
    this.#assertOpen();
    const wanted = toBuffer(infoHash);
    const found = new Set<string>();
    const onPeer = (peer: { host: string; port: number }, hash: Buffer) => {
      if (hash.equals(wanted)) found.add(`${peer.host}:${peer.port}`);
    };
    this.#dht.on('peer', onPeer);
    return withTimeout<string[]>(timeoutMs, [], (finish) => this.#dht.lookup(wanted, () => finish([...found]))).then((r) => {
      this.#dht.off('peer', onPeer);
      return r.length > 0 ? r : [...found];
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return withTimeout<void>(2_000, undefined, (finish) => this.#dht.destroy(() => finish()));
  }
}

/**
 * BEP 43: a node whose queries carry `ro: 1` is not added to the routing table (our appliances
 * are such nodes: behind NATs, unreachable). bittorrent-dht adds every querier; this keeps the
 * lab's DHT nodes (and any node built here) from doing so, as libtorrent does.
 */
function honourReadOnly(dht: DHT): void {
  const rpc = (dht as unknown as { _rpc?: { socket?: { prependListener?: (ev: string, fn: (q: { ro?: unknown }, peer: { address?: string; host?: string; port: number }) => void) => void }; _addNode?: (node: { host: string; port: number }) => void } })._rpc;
  const add = rpc?._addNode;
  if (!rpc || !add || typeof rpc.socket?.prependListener !== 'function') return;
  const readOnly = new Set<string>();
  rpc.socket.prependListener('query', (q, peer) => {
    if (q.ro !== 1) return;
    if (readOnly.size > 10_000) readOnly.clear();
    readOnly.add(`${peer.address ?? peer.host}:${peer.port}`);
  });
  rpc._addNode = (n) => {
    if (!readOnly.has(`${n.host}:${n.port}`)) add.call(rpc, n);
  };
}

/** Starts a DHT node; resolves once it listens and has bootstrapped, or throws (and cleans up). */
export async function createDht(options: DhtOptions = {}): Promise<WarrenDht> {
  const guard = labGuardFromEnv(options.env ?? process.env, options.labRanges ?? []);
  const bootstrap = parseBootstrap(options.bootstrap ?? PUBLIC_BOOTSTRAP, guard);

  const family = options.host && isIP(options.host) === 6 ? 'udp6' : 'udp4';
  const socket: SendingSocket & object = options.socket ?? dgram.createSocket(family);
  if (guard) guardSocket(socket, guard);

  const dht = new DHT({
    bootstrap: bootstrap.length > 0 ? bootstrap : false,
    verify: dhtVerify,
    socket,
    maxValues: options.maxValues,
    maxTables: options.maxValues,
    // Under the guard, a host name is refused here instead of being resolved through DNS.
    isIP: guard ? (host: string) => (guard.check(host), isIP(host)) : isIP,
  });
  const node = new WarrenDht(dht, options.now ?? Date.now, bootstrap.length > 0);
  honourReadOnly(dht);

  const notReady = new DhtError('not-ready', 'the DHT did not listen and bootstrap in time; check the bootstrap nodes are reachable');
  const ready = await withTimeout<Error | null>(options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS, notReady, (finish) => {
    let listening = false;
    let bootstrapped = false;
    const check = () => listening && bootstrapped && finish(null);
    dht.once('error', (err: Error) => finish(err));
    dht.once('listening', () => ((listening = true), check()));
    dht.once('ready', () => ((bootstrapped = true), check()));
    dht.listen(options.port ?? 0, options.host);
  }).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
  if (ready) {
    await node.close();
    throw ready;
  }
  // Later socket errors are reported as warnings rather than crashing the process.
  dht.on('error', () => node.warnings++);
  return node;
}
