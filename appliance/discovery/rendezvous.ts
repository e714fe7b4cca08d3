/**
 * Where a network meets on the mainline DHT each hour (DESIGN.md "Discovery").
 *
 * Everything is derived from the 32-byte network secret and the hour number
 * (Math.floor(unixSeconds / 3600)) with HKDF (RFC 5869) over BLAKE2s, one distinct label per use,
 * the way wire/keys.ts derives the wire keys:
 *   - the hour's BEP 44 signing key pair: an Ed25519 seed (RFC 8032 §5.1.5), so every member
 *     derives the same key pair and can write the hour's items, while an outsider cannot;
 *   - the salt of slot s in that hour (BEP 44 "salt", at most 64 bytes), so many members fit
 *     under one key: one mutable item per slot;
 *   - the hour's record key (XChaCha20-Poly1305, record.ts), so the DHT stores only ciphertext.
 * The item's DHT target is SHA-1(public key || salt) (BEP 44 "Mutable Items").
 *
 * Each hour's outputs are independent PRF outputs of (secret, hour): an observer who saw every
 * target, key and item of hour H learns nothing that links them to hour H+1.
 *
 * Pure: no I/O, no clock (the caller passes the hour).
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { ed25519 } from './ed25519.ts';

export const NETWORK_SECRET_BYTES = 32;
/** Seconds per rendezvous period: the hour number is floor(unixSeconds / 3600). */
export const SECONDS_PER_HOUR = 3600;
/** Mutable items per hour. Members pick a slot (preferredSlot); more slots, fewer collisions, more lookups. */
export const DISCOVERY_SLOTS = 16;
/** BEP 44 "Mutable Items": "The salt string MUST NOT be longer than 64 bytes." We use 32. */
export const BEP44_MAX_SALT_BYTES = 64;
export const SALT_BYTES = 32;
/** BEP 44 targets are SHA-1 hashes (BEP 5 node ids are 160 bits). */
export const TARGET_BYTES = 20;

const HKDF_SALT = new TextEncoder().encode('warren discovery v1');
const LABEL_SIGNING_SEED = 'dht signing seed';
const LABEL_SLOT_SALT = 'dht slot salt';
const LABEL_RECORD_KEY = 'dht record key';
const LABEL_SLOT_CHOICE = 'dht slot choice';

export interface HourKeyPair {
  /** The Ed25519 seed (noble's 32-byte secret key). Shared by every member of the network. */
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export interface RendezvousTarget {
  readonly hour: number;
  readonly slot: number;
  /** BEP 44 `k`: the hour's public key. */
  readonly publicKey: Uint8Array;
  /** BEP 44 `salt`. */
  readonly salt: Uint8Array;
  /** SHA-1(k || salt): what a `get` looks up and a `put` stores under. */
  readonly target: Uint8Array;
}

function assertSecret(secret: Uint8Array): void {
  if (!(secret instanceof Uint8Array) || secret.length !== NETWORK_SECRET_BYTES) {
    throw new RangeError(`network secret must be ${NETWORK_SECRET_BYTES} bytes`);
  }
}

function assertHour(hour: number): void {
  // An hour number of 2^32 is the year 491,000: anything larger is a bug, not a date.
  if (!Number.isSafeInteger(hour) || hour < 0 || hour > 0xffffffff) {
    throw new RangeError(`hour must be a non-negative integer below 2^32, got ${hour}`);
  }
}

function assertSlot(slot: number): void {
  if (!Number.isInteger(slot) || slot < 0 || slot >= DISCOVERY_SLOTS) {
    throw new RangeError(`slot must be an integer in 0..${DISCOVERY_SLOTS - 1}, got ${slot}`);
  }
}

/** HKDF info: label, a zero separator, the hour (u32 big-endian), then any extra bytes. */
function info(label: string, hour: number, extra: Uint8Array = new Uint8Array(0)): Uint8Array {
  const l = new TextEncoder().encode(label);
  const out = new Uint8Array(l.length + 1 + 4 + extra.length);
  out.set(l, 0);
  new DataView(out.buffer).setUint32(l.length + 1, hour, false);
  out.set(extra, l.length + 5);
  return out;
}

function derive(secret: Uint8Array, label: string, hour: number, length: number, extra?: Uint8Array): Uint8Array {
  return hkdf(blake2s, secret, HKDF_SALT, info(label, hour, extra), length);
}

function u16(n: number): Uint8Array {
  return new Uint8Array([(n >>> 8) & 0xff, n & 0xff]);
}

/** The hour number of a Unix time in milliseconds. */
export function hourOf(unixMs: number): number {
  return Math.floor(unixMs / 1000 / SECONDS_PER_HOUR);
}

/** The hour's BEP 44 signing key pair: the same for every member, unknown to anyone else. */
export function hourKeyPair(secret: Uint8Array, hour: number): HourKeyPair {
  assertSecret(secret);
  assertHour(hour);
  const secretKey = derive(secret, LABEL_SIGNING_SEED, hour, 32);
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

/** BEP 44 salt of one slot in one hour. */
export function slotSalt(secret: Uint8Array, hour: number, slot: number): Uint8Array {
  assertSecret(secret);
  assertHour(hour);
  assertSlot(slot);
  return derive(secret, LABEL_SLOT_SALT, hour, SALT_BYTES, u16(slot));
}

/** The hour's XChaCha20-Poly1305 key for member records (record.ts). */
export function recordKey(secret: Uint8Array, hour: number): Uint8Array {
  assertSecret(secret);
  assertHour(hour);
  return derive(secret, LABEL_RECORD_KEY, hour, 32);
}

/** BEP 44 target of a mutable item: SHA-1(k || salt), salt omitted when empty. */
export function mutableTarget(publicKey: Uint8Array, salt: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) throw new RangeError('BEP 44 public key must be 32 bytes');
  if (salt.length > BEP44_MAX_SALT_BYTES) throw new RangeError(`BEP 44 salt must be at most ${BEP44_MAX_SALT_BYTES} bytes`);
  const both = new Uint8Array(publicKey.length + salt.length);
  both.set(publicKey, 0);
  both.set(salt, publicKey.length);
  return sha1(both);
}

/** Every slot of one hour. */
export function hourTargets(secret: Uint8Array, hour: number): RendezvousTarget[] {
  const { publicKey } = hourKeyPair(secret, hour);
  const out: RendezvousTarget[] = [];
  for (let slot = 0; slot < DISCOVERY_SLOTS; slot++) {
    const salt = slotSalt(secret, hour, slot);
    out.push({ hour, slot, publicKey, salt, target: mutableTarget(publicKey, salt) });
  }
  return out;
}

/**
 * What a node looks up and publishes around `hour`: every slot of this hour and of the next
 * (DESIGN.md: "current and next hour"), so records published just before a boundary are
 * already in place when the clocks of other members cross it.
 */
export function targetsFor(secret: Uint8Array, hour: number): RendezvousTarget[] {
  assertHour(hour + 1);
  return [...hourTargets(secret, hour), ...hourTargets(secret, hour + 1)];
}

/**
 * A member's slot for an hour: keyed by the secret, so outsiders cannot tell which slot a given
 * member uses, and re-drawn each hour. `attempt` walks the member's own sequence of slots: a
 * member that finds its slot taken by another moves to its next one, and two members that
 * collided move to unrelated slots rather than colliding again (DiscoveryService).
 */
export function preferredSlot(secret: Uint8Array, hour: number, identityKey: Uint8Array, attempt = 0): number {
  assertSecret(secret);
  assertHour(hour);
  if (identityKey.length !== 32) throw new RangeError('identity key must be 32 bytes');
  if (!Number.isInteger(attempt) || attempt < 0 || attempt > 0xffff) throw new RangeError(`attempt must be an integer in 0..65535, got ${attempt}`);
  const extra = attempt === 0 ? identityKey : new Uint8Array([...identityKey, ...u16(attempt)]);
  const bytes = derive(secret, LABEL_SLOT_CHOICE, hour, 4, extra);
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, false) % DISCOVERY_SLOTS;
}

const LABEL_ANNOUNCE = 'dht announce target';

/**
 * The BEP 5 infohash a member announces itself on this hour (implied port: DHT nodes store the
 * address and port they see, i.e. its NAT's mapping). Per member and per hour, from the secret:
 * only members can compute it, and one hour's says nothing about the next.
 * Exposure: DHT nodes storing it learn that this address announced an unknown infohash.
 */
export function announceTarget(secret: Uint8Array, hour: number, staticKey: Uint8Array): Uint8Array {
  const label = new Uint8Array([...new TextEncoder().encode(LABEL_ANNOUNCE), ...staticKey]);
  return hkdf(blake2s, secret, HKDF_SALT, concatLabel(label, hour), TARGET_BYTES);
}

function concatLabel(label: Uint8Array, hour: number): Uint8Array {
  const out = new Uint8Array(label.length + 8);
  out.set(label);
  new DataView(out.buffer).setBigUint64(label.length, BigInt(hour));
  return out;
}
