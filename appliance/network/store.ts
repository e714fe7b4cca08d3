// The network file: what a node keeps about the one network it belongs to, in its data directory
// (`network.toml` beside `private.key`). It holds the secret, so it is written with mode 0600.
//
//   name = "home"
//   secret = "<base64, 32 bytes>"
//   key_file = "private.key"        # this node's X25519 private key, relative to this file
//   require_approval = true          # new devices wait in `pending` until approved
//   [[approved]]                     # likewise [[pending]] and [[revoked]]
//   key = "<base64 public key>"
//   name = "laptop"
//   since = 2025-01-01T12:00:00.000Z # when it entered this list
//   generation = 1                   # after a rotation of the secret (rotateNetwork): how many
//   address_secret = "<base64>"      # the secret overlay addresses derive from (the first one)
//   [previous]                       # the secret before, still accepted until `until`
//   secret = "<base64>"
//   until = 2025-01-08T12:00:00.000Z
//
// Each appliance keeps its own lists (DESIGN.md "Identities and networks"): `revoked` holds every
// key this node refuses — approved once and revoked, or denied while pending. Revoking a key does
// not revoke the invite; that needs a new secret (rotateNetwork; network/rotation.ts hands it to
// the members). Overlay addresses stay derived from the network's first secret
// (`address_secret`), so a rotation changes no member's address.
//
// Reads validate once and name the field at fault; writes are atomic (temp file in the same
// directory, fsync, rename, fsync of the directory), so a crash leaves the old file or the new.
// The transitions (approve, deny, revoke, admit) are pure: they return a new Network.

import { closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse, stringify } from 'smol-toml';
import { equalBytes } from '@noble/ciphers/utils.js';
import { INVITE_NAME_MAX_BYTES } from './invite.ts';

export const NETWORK_FILE = 'network.toml';
export const PRIVATE_KEY_FILE = 'private.key';
export const NETWORK_SECRET_BYTES = 32;

export type MemberList = 'approved' | 'pending' | 'revoked';
export const MEMBER_LISTS: readonly MemberList[] = ['approved', 'pending', 'revoked'];

export interface Member {
  /** Public key, base64 (44 characters), as `warren pubkey` prints it. */
  key: string;
  name: string;
  since: Date;
}

export interface Network {
  name: string;
  secret: Uint8Array;
  /** The node's private key file, relative to the network file's directory (or absolute). */
  keyFile: string;
  requireApproval: boolean;
  approved: readonly Member[];
  pending: readonly Member[];
  revoked: readonly Member[];
  /** Rotations of the secret so far (0: the secret the network was created with). */
  generation: number;
  /** What overlay addresses derive from: the network's first secret, kept across rotations. */
  addressSecret: Uint8Array;
  /** The secret before the last rotation, accepted until `until` (members that missed it). */
  previous: PreviousSecret | null;
}

export interface PreviousSecret {
  secret: Uint8Array;
  until: Date;
}

export type NetworkStoreErrorKind = 'read' | 'write' | 'parse' | 'field' | 'not-pending' | 'invalid-argument' | 'exists';

export class NetworkStoreError extends Error {
  override readonly name = 'NetworkStoreError';
  constructor(
    readonly kind: NetworkStoreErrorKind,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const KEY_RE = /^[A-Za-z0-9+/]{43}=$/;

/** Whether `text` is a 32-byte key (or secret) in base64, 44 characters, as the network file holds them. */
export function isKeyText(text: string): boolean {
  return KEY_RE.test(text);
}

/** Checks a base64 key of 32 bytes and returns it trimmed; `what` names it in the error. */
export function checkKeyText(text: string, what: string): string {
  const s = text.trim();
  if (!KEY_RE.test(s)) throw new NetworkStoreError('invalid-argument', `${what}: expected a base64 key of 32 bytes (44 characters, as \`warren pubkey\` prints)`);
  return s;
}

export function checkNetworkName(name: string): string {
  const n = new TextEncoder().encode(name).length;
  if (n < 1 || n > INVITE_NAME_MAX_BYTES) throw new NetworkStoreError('invalid-argument', `network name must be 1 to ${INVITE_NAME_MAX_BYTES} bytes of UTF-8, got ${n}`);
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) throw new NetworkStoreError('invalid-argument', 'network name must not contain control characters');
  return name;
}

/** A new network with a fresh random secret; `random` is a seam for tests. */
export function createNetwork(name: string, random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))): Network {
  const secret = random(NETWORK_SECRET_BYTES);
  if (secret.length !== NETWORK_SECRET_BYTES) throw new NetworkStoreError('invalid-argument', `random source gave ${secret.length} bytes, not ${NETWORK_SECRET_BYTES}`);
  return { name: checkNetworkName(name), secret, keyFile: PRIVATE_KEY_FILE, requireApproval: true, approved: [], pending: [], revoked: [], generation: 0, addressSecret: secret, previous: null };
}

// ---- Validation ----

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

function fieldError(path: string, field: string, reason: string): NetworkStoreError {
  return new NetworkStoreError('field', `network file ${path}: ${field}: ${reason}`, field);
}

function known(t: Table, allowed: readonly string[], path: string, prefix: string): void {
  for (const k of Object.keys(t)) if (!allowed.includes(k)) throw fieldError(path, prefix + k, `unknown setting (known: ${allowed.join(', ')})`);
}

function member(raw: unknown, path: string, field: string): Member {
  if (!isTable(raw)) throw fieldError(path, field, 'expected a table with key, name and since');
  known(raw, ['key', 'name', 'since'], path, `${field}.`);
  if (typeof raw.key !== 'string' || !KEY_RE.test(raw.key)) throw fieldError(path, `${field}.key`, 'expected a base64 public key of 32 bytes (44 characters)');
  if (typeof raw.name !== 'string') throw fieldError(path, `${field}.name`, 'expected a string');
  if (!(raw.since instanceof Date) || Number.isNaN(raw.since.getTime())) throw fieldError(path, `${field}.since`, 'expected a date and time like 2025-01-01T12:00:00Z');
  return { key: raw.key, name: raw.name, since: new Date(raw.since.getTime()) };
}

/** Validates a parsed network file; `path` only names the file in errors. */
export function validateNetwork(doc: unknown, path: string): Network {
  if (!isTable(doc)) throw fieldError(path, '(top level)', 'expected a table');
  known(doc, ['name', 'secret', 'key_file', 'require_approval', 'generation', 'address_secret', 'previous', ...MEMBER_LISTS], path, '');
  if (typeof doc.name !== 'string') throw fieldError(path, 'name', 'is required: the network name, a string');
  try {
    checkNetworkName(doc.name);
  } catch (e) {
    throw fieldError(path, 'name', (e as Error).message);
  }
  if (typeof doc.secret !== 'string' || !KEY_RE.test(doc.secret)) throw fieldError(path, 'secret', 'expected the network secret: base64 of 32 bytes (44 characters)');
  const keyFile = doc.key_file ?? PRIVATE_KEY_FILE;
  if (typeof keyFile !== 'string' || keyFile === '') throw fieldError(path, 'key_file', 'expected a file name');
  const requireApproval = doc.require_approval ?? true;
  if (typeof requireApproval !== 'boolean') throw fieldError(path, 'require_approval', 'expected true or false');
  const lists = {} as Record<MemberList, Member[]>;
  const seen = new Map<string, string>();
  for (const list of MEMBER_LISTS) {
    const raw = doc[list] ?? [];
    if (!Array.isArray(raw)) throw fieldError(path, list, `expected [[${list}]] sections`);
    lists[list] = raw.map((m, i) => member(m, path, `${list}[${i}]`));
    lists[list].forEach((m, i) => {
      const where = seen.get(m.key);
      if (where) throw fieldError(path, `${list}[${i}].key`, `the same key is already listed at ${where}`);
      seen.set(m.key, `${list}[${i}]`);
    });
  }
  const secret = new Uint8Array(Buffer.from(doc.secret, 'base64'));
  const generation = doc.generation ?? 0;
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 0) throw fieldError(path, 'generation', 'expected a whole number, 0 or more');
  const addressText = doc.address_secret ?? doc.secret;
  if (typeof addressText !== 'string' || !KEY_RE.test(addressText)) throw fieldError(path, 'address_secret', 'expected base64 of 32 bytes (44 characters)');
  let previous: PreviousSecret | null = null;
  if (doc.previous !== undefined) {
    const p = doc.previous;
    if (!isTable(p)) throw fieldError(path, 'previous', 'expected a table with secret and until');
    known(p, ['secret', 'until'], path, 'previous.');
    if (typeof p.secret !== 'string' || !KEY_RE.test(p.secret)) throw fieldError(path, 'previous.secret', 'expected base64 of 32 bytes (44 characters)');
    if (!(p.until instanceof Date) || Number.isNaN(p.until.getTime())) throw fieldError(path, 'previous.until', 'expected a date and time like 2025-01-01T12:00:00Z');
    previous = { secret: new Uint8Array(Buffer.from(p.secret, 'base64')), until: new Date(p.until.getTime()) };
  }
  return { name: doc.name, secret, keyFile, requireApproval, ...lists, generation, addressSecret: new Uint8Array(Buffer.from(addressText, 'base64')), previous };
}

export function parseNetworkText(text: string, path: string): Network {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new NetworkStoreError('parse', `network file ${path} is not valid TOML: ${(e as Error).message.split('\n')[0]}`);
  }
  return validateNetwork(doc, path);
}

export function formatNetwork(net: Network): string {
  const toToml = (m: Member) => ({ key: m.key, name: m.name, since: m.since });
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  const rotated = net.generation > 0 || !equalBytes(net.addressSecret, net.secret);
  const doc = {
    name: net.name,
    secret: b64(net.secret),
    key_file: net.keyFile,
    require_approval: net.requireApproval,
    ...(rotated ? { generation: net.generation, address_secret: b64(net.addressSecret) } : {}),
    ...(net.previous ? { previous: { secret: b64(net.previous.secret), until: net.previous.until } } : {}),
    approved: net.approved.map(toToml),
    pending: net.pending.map(toToml),
    revoked: net.revoked.map(toToml),
  };
  return `# Warren network file: it holds the network secret, keep it private (mode 0600).\n${stringify(doc)}\n`;
}

// ---- Files ----

/**
 * What changes with every write of a file written by writeFileAtomic — its inode (a new file is
 * renamed in each time), size and modification time — for caches: the time alone can hide a
 * write that falls within one timestamp tick of the last read (CI saw it).
 */
export function fileIdentity(path: string): string {
  const st = statSync(path);
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
}

/** Where the previous good version of a file written by writeFileAtomic is kept. */
export function lastGoodPath(path: string): string {
  return `${path}.last-good`;
}

/**
 * Reads `path` with `parse`; when it exists but does not parse (a hand edit gone wrong, a disk
 * error), the last good version kept beside it is used instead and `report` says so. A file
 * that is missing stays missing (the caller decides what that means).
 */
export function withLastGood<T>(path: string, parse: (p: string) => T, report: (line: string) => void): T {
  try {
    return parse(path);
  } catch (e) {
    const prev = lastGoodPath(path);
    if (!existsSync(path) || !existsSync(prev)) throw e;
    const value = parse(prev);
    report(`${(e as Error).message}; using the last good copy ${prev}`);
    return value;
  }
}

export function loadNetwork(path: string, report?: (line: string) => void): Network {
  if (report) return withLastGood(path, (p) => loadNetwork(p), report);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? ': no network here yet (run `warren init` or `warren join`)' : `: ${(e as Error).message}`;
    throw new NetworkStoreError('read', `cannot read network file ${path}${hint}`);
  }
  return parseNetworkText(text, path);
}

/**
 * Writes `text` to `path` atomically with mode 0600: a temp file in the same directory (so the
 * rename stays on one filesystem), fsync, rename over the target, fsync the directory so the
 * rename itself survives a power cut. The temp file is removed when any step fails.
 */
export function writeFileAtomic(path: string, text: string): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // The version being replaced becomes the last good copy (a hard link: no copy, and it is
    // never half-written), then the new one takes its name. A crash between the two leaves the
    // old file in place and the copy equal to it.
    if (existsSync(path)) {
      const keep = `${tmp}.keep`;
      linkSync(path, keep);
      renameSync(keep, lastGoodPath(path));
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed or never created
    }
    throw new NetworkStoreError('write', `cannot write ${path}: ${(e as Error).message}`);
  }
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // some filesystems refuse fsync on a directory; the file itself is already durable
  }
}

export function saveNetwork(path: string, net: Network): void {
  writeFileAtomic(path, formatNetwork(net));
}

/** A lock older than this is a crashed writer's, and is broken. */
const STALE_LOCK_MS = 10_000;
const LOCK_WAIT_MS = 3_000;

/**
 * Read-modify-write of the network file under a lock file beside it (`network.toml.lock`,
 * created exclusively), so the daemon recording a new device and `warren approve` changing the
 * file at the same moment cannot lose each other's change (CI once saw the daemon's "pending"
 * overwrite an approval written a moment before). `change` gets the file as it is now and
 * returns the next state, or the same object for no change. Returns what is in the file after.
 */
export function updateNetwork(path: string, change: (net: Network) => Network, report?: (line: string) => void): Network {
  const lock = `${path}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) unlinkSync(lock);
      } catch {
        // gone meanwhile
      }
      if (Date.now() > deadline) throw new NetworkStoreError('write', `${lock} is held by another writer for over ${LOCK_WAIT_MS / 1000} s; if no warren command is running, remove it`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
  try {
    const now = loadNetwork(path, report);
    const next = change(now);
    if (next !== now) saveNetwork(path, next);
    return next;
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      // already gone
    }
  }
}

// ---- Membership transitions (pure) ----

/** Where a key is listed, if anywhere. */
export function findMember(net: Network, key: string): { list: MemberList; member: Member } | null {
  for (const list of MEMBER_LISTS) {
    const member = net[list].find((m) => m.key === key);
    if (member) return { list, member };
  }
  return null;
}

function moveTo(net: Network, key: string, to: MemberList, now: Date, name?: string): Network {
  const found = findMember(net, key);
  const entry: Member = { key, name: name ?? found?.member.name ?? '', since: now };
  const out: Network = { ...net };
  for (const list of MEMBER_LISTS) out[list] = net[list].filter((m) => m.key !== key);
  out[to] = [...out[to], entry];
  return out;
}

/** Approves a key: a pending request, a revoked member taken back, or a device approved ahead of time. */
export function approve(net: Network, key: string, now: Date, name?: string): Network {
  const k = checkKeyText(key, 'key');
  const found = findMember(net, k);
  if (found?.list === 'approved' && (name === undefined || name === found.member.name)) return net;
  return moveTo(net, k, 'approved', found?.list === 'approved' ? found.member.since : now, name);
}

/** Refuses a pending request; the key moves to `revoked`, so it stops asking. */
export function deny(net: Network, key: string, now: Date): Network {
  const k = checkKeyText(key, 'key');
  const found = findMember(net, k);
  if (found?.list !== 'pending') {
    const where = found ? `it is ${found.list}` : 'it is not known here';
    const next = found?.list === 'approved' ? '; use `warren revoke` to remove an approved member' : '';
    throw new NetworkStoreError('not-pending', `${k} is not waiting for approval: ${where}${next}`);
  }
  return moveTo(net, k, 'revoked', now);
}

/** Revokes a key, whatever its state (unknown keys can be blocked ahead of time). */
export function revoke(net: Network, key: string, now: Date): Network {
  const k = checkKeyText(key, 'key');
  if (findMember(net, k)?.list === 'revoked') return net;
  return moveTo(net, k, 'revoked', now);
}

/**
 * A device with this key has reached us (for discovery to call): returns its standing and the
 * network, with an unknown key recorded as pending — or approved when no approval is required.
 */
export function admit(net: Network, key: string, name: string, now: Date): { standing: MemberList; network: Network } {
  const k = checkKeyText(key, 'key');
  const found = findMember(net, k);
  if (found) return { standing: found.list, network: net };
  const to: MemberList = net.requireApproval ? 'pending' : 'approved';
  return { standing: to, network: moveTo(net, k, to, now, name) };
}

// ---- Rotation of the secret (pure) ----

/** How long the previous secret stays accepted after a rotation, unless told otherwise. */
export const DEFAULT_ROTATION_GRACE_MS = 7 * 24 * 3600_000;
/**
 * The old secret is accepted at least this long after a rotation, whatever grace was asked (0
 * too): members online are told the new secret inside sessions under the old one, so those must
 * live until the notices (every 2 s) have reached them and they have handshaken again.
 */
export const ROTATION_HANDOVER_MS = 20_000;
/** The longest grace a rotation may ask for (one received from a member is held to it too). */
export const MAX_ROTATION_GRACE_MS = 30 * 24 * 3600_000;

/**
 * A new secret for the network (revoking a leaked invite): generation + 1, the secret in use
 * becomes `previous` until `now + graceMs` (at least ROTATION_HANDOVER_MS: 0 means only the
 * handover to the members online). Overlay addresses keep deriving from the first secret.
 * Throws on a grace out of range.
 */
export function rotateNetwork(net: Network, now: Date, graceMs = DEFAULT_ROTATION_GRACE_MS, random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))): Network {
  if (!Number.isFinite(graceMs) || graceMs < 0 || graceMs > MAX_ROTATION_GRACE_MS) {
    throw new NetworkStoreError('invalid-argument', `the previous secret may stay accepted for 0 to ${MAX_ROTATION_GRACE_MS / 3600_000} hours`);
  }
  const secret = random(NETWORK_SECRET_BYTES);
  if (secret.length !== NETWORK_SECRET_BYTES || equalBytes(secret, net.secret)) throw new NetworkStoreError('invalid-argument', 'the random source gave no new secret');
  return {
    ...net,
    secret,
    generation: net.generation + 1,
    previous: { secret: net.secret, until: new Date(now.getTime() + Math.max(graceMs, ROTATION_HANDOVER_MS)) },
  };
}

/** A rotation as one member hands it to another (inside their session: network/rotation.ts). */
export interface RotationNotice {
  generation: number;
  secret: Uint8Array;
  addressSecret: Uint8Array;
  /** Until when the secret before it is accepted. */
  until: Date;
  /** Keys the rotating member had revoked: they are the reason for a rotation, so every member revokes them. */
  revoked: string[];
}

/**
 * Whether a notice is newer than what `net` has: a higher generation, or (two members rotated at
 * once) the same generation with the greater secret, so every member settles on one.
 */
export function isNewer(net: Network, notice: RotationNotice): boolean {
  if (notice.generation !== net.generation) return notice.generation > net.generation;
  return Buffer.compare(Buffer.from(notice.secret), Buffer.from(net.secret)) > 0;
}

/**
 * A member's rotation, taken on: its secret becomes ours, ours the previous one (until the
 * notice's `until`, at most MAX_ROTATION_GRACE_MS from now), and the keys it revoked are revoked
 * here too. The same network unless the notice is not newer or its address secret differs (not
 * this network), in which case `net` itself is returned.
 */
export function adoptRotation(net: Network, notice: RotationNotice, now: Date): Network {
  if (!isNewer(net, notice) || !equalBytes(notice.addressSecret, net.addressSecret)) return net;
  // Joined by an invite made after the rotation: the secret is ours already, only its count is new.
  if (equalBytes(notice.secret, net.secret)) return { ...net, generation: notice.generation };
  const until = new Date(Math.min(notice.until.getTime(), now.getTime() + MAX_ROTATION_GRACE_MS));
  let next: Network = {
    ...net,
    secret: notice.secret.slice(),
    generation: notice.generation,
    previous: until.getTime() > now.getTime() ? { secret: net.secret, until } : null,
  };
  for (const key of notice.revoked) {
    if (KEY_RE.test(key)) next = revoke(next, key, now);
  }
  return next;
}

/** The previous secret forgotten once its time is over (the same network when nothing changes). */
export function expirePrevious(net: Network, now: Date): Network {
  return net.previous && net.previous.until.getTime() <= now.getTime() ? { ...net, previous: null } : net;
}
