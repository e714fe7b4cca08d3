/**
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s exactly as WireGuard runs it: whitepaper §5.4.2 (first
 * message, initiator → responder), §5.4.3 (second message, responder → initiator) and §5.4.5
 * (transport key derivation). Layout and order of operations as wireguard-go
 * device/noise-protocol.go.
 *
 * The four steps, in the order they happen on the wire:
 *   1. createInitiation  (initiator)  → 148-byte initiation, InitiatorHandshake
 *   2. consumeInitiation (responder)  → peer static key, timestamp, ResponderHandshake
 *   3. createResponse    (responder)  → 92-byte response, transport keys
 *   4. consumeResponse   (initiator)  → transport keys
 *
 * Pure: no clock, no I/O, no globals beyond the two constants derived from CONSTRUCTION and
 * IDENTIFIER. mac1/mac2 are left zero here; cookie.ts fills and checks them. The session layer
 * owns the policy this module cannot see: peer lookup by static key, the per-peer "timestamp
 * strictly greater" replay rule (tai64nAfter), rate limits, index allocation.
 */
import {
  CONSTRUCTION,
  IDENTIFIER,
  KEY_SIZE,
  PUBLIC_KEY_SIZE,
  TIMESTAMP_SIZE,
} from './constants.ts';
import { aeadOpen, aeadSeal, dh, generatePrivateKey, hash, isAllZero, kdf1, kdf2, kdf3, publicKeyOf } from './crypto.ts';
import { decodeInitiation, decodeResponse, encodeInitiation, encodeResponse } from './messages.ts';

export interface StaticIdentity {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/** §5.4.5: the initiator sends with the first KDF2 output; the responder with the second. */
export interface TransportKeys {
  sendKey: Uint8Array;
  receiveKey: Uint8Array;
}

/** Initiator state between steps 1 and 4. Opaque: only this module reads or writes the fields. */
export interface InitiatorHandshake {
  readonly role: 'initiator';
  chainingKey: Uint8Array;
  hash: Uint8Array;
  ephemeralPrivate: Uint8Array;
  remoteStatic: Uint8Array;
  /** Held by reference for DH(S_i, E_r) in step 4; never zeroed here (the caller owns it). */
  local: StaticIdentity;
  localIndex: number;
  /** Set once a response was accepted; the secrets above are zeroed then. */
  done: boolean;
}

/** Responder state between steps 2 and 3. Opaque. */
export interface ResponderHandshake {
  readonly role: 'responder';
  chainingKey: Uint8Array;
  hash: Uint8Array;
  remoteEphemeral: Uint8Array;
  remoteStatic: Uint8Array;
  remoteIndex: number;
  done: boolean;
}

export type HandshakeErrorKind = 'invalid-argument' | 'invalid-public-key' | 'state-consumed';

/** Misuse by the caller (bad key sizes, a low-order configured peer key, a reused state). */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  constructor(
    readonly kind: HandshakeErrorKind,
    message: string,
  ) {
    super(message);
  }
}

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);
/** §5.4.2: Ci = HASH(CONSTRUCTION); Hi = HASH(Ci || IDENTIFIER). Never handed out, never mutated. */
const INITIAL_CHAINING_KEY = hash(utf8.encode(CONSTRUCTION));
const INITIAL_HASH = hash(INITIAL_CHAINING_KEY, utf8.encode(IDENTIFIER));

function requireBytes(value: unknown, length: number, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new HandshakeError('invalid-argument', `${what} must be a ${length}-byte Uint8Array`);
  }
}

function requireIndex(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new HandshakeError('invalid-argument', `${what} must be an unsigned 32-bit integer`);
  }
}

function requireIdentity(local: StaticIdentity): void {
  requireBytes(local?.privateKey, KEY_SIZE, 'local private key');
  requireBytes(local?.publicKey, PUBLIC_KEY_SIZE, 'local public key');
}

/**
 * The running chaining key and hash. Works on its own copies and zeroes every value it replaces,
 * so a failed consume leaves the caller's state intact and leaves no intermediate keys behind.
 */
class Transcript {
  private constructor(
    private ck: Uint8Array,
    private h: Uint8Array,
  ) {}

  /** §5.4.2: the state both sides start from, with the responder's static key mixed in. */
  static start(responderStatic: Uint8Array): Transcript {
    return new Transcript(Uint8Array.from(INITIAL_CHAINING_KEY), hash(INITIAL_HASH, responderStatic));
  }

  static resume(chainingKey: Uint8Array, h: Uint8Array): Transcript {
    return new Transcript(Uint8Array.from(chainingKey), Uint8Array.from(h));
  }

  get hash(): Uint8Array {
    return this.h;
  }

  mixHash(data: Uint8Array): void {
    const next = hash(this.h, data);
    this.h.fill(0);
    this.h = next;
  }

  /** C = KDF1(C, input). */
  mixKey(input: Uint8Array): void {
    const next = kdf1(this.ck, input);
    this.ck.fill(0);
    this.ck = next;
  }

  /** (C, κ) = KDF2(C, input); returns κ, which the caller zeroes. */
  mixKeyForCipher(input: Uint8Array): Uint8Array {
    const [next, key] = kdf2(this.ck, input);
    this.ck.fill(0);
    this.ck = next;
    return key;
  }

  /** §5.4.3: (C, τ, κ) = KDF3(C, Q); H = HASH(H || τ); returns κ. */
  mixPresharedKey(psk: Uint8Array): Uint8Array {
    const [next, tau, key] = kdf3(this.ck, psk);
    this.ck.fill(0);
    this.ck = next;
    this.mixHash(tau);
    tau.fill(0);
    return key;
  }

  /** §5.4.5: (T_i→r, T_r→i) = KDF2(C, ε). */
  split(): [Uint8Array, Uint8Array] {
    return kdf2(this.ck, EMPTY);
  }

  /** Hands over copies of the state and wipes this transcript. */
  export(): { chainingKey: Uint8Array; hash: Uint8Array } {
    const out = { chainingKey: Uint8Array.from(this.ck), hash: Uint8Array.from(this.h) };
    this.wipe();
    return out;
  }

  wipe(): void {
    this.ck.fill(0);
    this.h.fill(0);
  }
}

/** AEAD with the key zeroed afterwards, whatever happens. */
function sealOnce(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  try {
    return aeadSeal(key, 0, plaintext, aad);
  } finally {
    key.fill(0);
  }
}

function openOnce(key: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | null {
  try {
    return aeadOpen(key, 0, ciphertext, aad);
  } finally {
    key.fill(0);
  }
}

/** Step 1, §5.4.2. Throws HandshakeError when the configured peer key is unusable. */
export function createInitiation(p: {
  local: StaticIdentity;
  remoteStatic: Uint8Array;
  senderIndex: number;
  timestamp: Uint8Array;
  ephemeralPrivate?: Uint8Array;
  /** DH(S_i, S_r), which wireguard-go caches per peer; computed here when absent. */
  precomputedStaticStatic?: Uint8Array;
}): { message: Uint8Array; handshake: InitiatorHandshake } {
  requireIdentity(p.local);
  requireBytes(p.remoteStatic, PUBLIC_KEY_SIZE, 'remote static key');
  requireIndex(p.senderIndex, 'sender index');
  requireBytes(p.timestamp, TIMESTAMP_SIZE, 'timestamp');
  if (p.ephemeralPrivate !== undefined) requireBytes(p.ephemeralPrivate, KEY_SIZE, 'ephemeral private key');
  if (p.precomputedStaticStatic !== undefined) {
    requireBytes(p.precomputedStaticStatic, KEY_SIZE, 'precomputed static-static secret');
  }

  const staticStatic = p.precomputedStaticStatic
    ? Uint8Array.from(p.precomputedStaticStatic)
    : dh(p.local.privateKey, p.remoteStatic);
  if (staticStatic === null || isAllZero(staticStatic)) {
    throw new HandshakeError('invalid-public-key', 'the peer public key is of low order; check its configuration');
  }
  const ephemeralPrivate = p.ephemeralPrivate ? Uint8Array.from(p.ephemeralPrivate) : generatePrivateKey();
  const ephemeralPublic = publicKeyOf(ephemeralPrivate);

  const t = Transcript.start(p.remoteStatic);
  t.mixKey(ephemeralPublic);
  t.mixHash(ephemeralPublic);

  const es = dh(ephemeralPrivate, p.remoteStatic);
  if (es === null) {
    // Unreachable once DH(S_i, S_r) succeeded (same public key), kept for the type and for safety.
    t.wipe();
    ephemeralPrivate.fill(0);
    staticStatic.fill(0);
    throw new HandshakeError('invalid-public-key', 'the peer public key is of low order');
  }
  const staticKey = t.mixKeyForCipher(es);
  es.fill(0);
  const encryptedStatic = sealOnce(staticKey, p.local.publicKey, t.hash);
  t.mixHash(encryptedStatic);

  const timestampKey = t.mixKeyForCipher(staticStatic);
  staticStatic.fill(0);
  const encryptedTimestamp = sealOnce(timestampKey, p.timestamp, t.hash);
  t.mixHash(encryptedTimestamp);

  const message = encodeInitiation({
    senderIndex: p.senderIndex,
    ephemeral: ephemeralPublic,
    encryptedStatic,
    encryptedTimestamp,
  });
  const { chainingKey, hash: h } = t.export();
  return {
    message,
    handshake: {
      role: 'initiator',
      chainingKey,
      hash: h,
      ephemeralPrivate,
      remoteStatic: Uint8Array.from(p.remoteStatic),
      local: p.local,
      localIndex: p.senderIndex,
      done: false,
    },
  };
}

/**
 * Step 2, §5.4.2 from the responder's side. Returns null — never throws — for anything that is not
 * a well-formed initiation encrypted to `local` (mac1/mac2 are cookie.ts's business, checked first).
 */
export function consumeInitiation(p: { local: StaticIdentity; message: Uint8Array }): {
  remoteStatic: Uint8Array;
  remoteIndex: number;
  timestamp: Uint8Array;
  handshake: ResponderHandshake;
} | null {
  requireIdentity(p.local);
  const msg = decodeInitiation(p.message);
  if (msg === null) return null;

  const t = Transcript.start(p.local.publicKey);
  t.mixKey(msg.ephemeral);
  t.mixHash(msg.ephemeral);

  const es = dh(p.local.privateKey, msg.ephemeral);
  if (es === null) return fail(t);
  const staticKey = t.mixKeyForCipher(es);
  es.fill(0);
  const remoteStatic = openOnce(staticKey, msg.encryptedStatic, t.hash);
  if (remoteStatic === null) return fail(t);
  t.mixHash(msg.encryptedStatic);

  const ss = dh(p.local.privateKey, remoteStatic);
  if (ss === null) return fail(t);
  const timestampKey = t.mixKeyForCipher(ss);
  ss.fill(0);
  const timestamp = openOnce(timestampKey, msg.encryptedTimestamp, t.hash);
  if (timestamp === null) return fail(t);
  t.mixHash(msg.encryptedTimestamp);

  const { chainingKey, hash: h } = t.export();
  return {
    remoteStatic,
    remoteIndex: msg.senderIndex,
    timestamp,
    handshake: {
      role: 'responder',
      chainingKey,
      hash: h,
      remoteEphemeral: Uint8Array.from(msg.ephemeral),
      remoteStatic: Uint8Array.from(remoteStatic),
      remoteIndex: msg.senderIndex,
      done: false,
    },
  };
}

function fail(t: Transcript): null {
  t.wipe();
  return null;
}

/** Step 3, §5.4.3 and §5.4.5. The state is single-use: it is wiped, and a second call throws. */
export function createResponse(p: {
  handshake: ResponderHandshake;
  presharedKey: Uint8Array;
  senderIndex: number;
  ephemeralPrivate?: Uint8Array;
}): { message: Uint8Array; keys: TransportKeys } {
  const hs = p.handshake;
  if (hs?.role !== 'responder') throw new HandshakeError('invalid-argument', 'not a responder handshake');
  if (hs.done) throw new HandshakeError('state-consumed', 'this handshake already produced a response');
  requireBytes(p.presharedKey, KEY_SIZE, 'preshared key');
  requireIndex(p.senderIndex, 'sender index');
  if (p.ephemeralPrivate !== undefined) requireBytes(p.ephemeralPrivate, KEY_SIZE, 'ephemeral private key');

  const ephemeralPrivate = p.ephemeralPrivate ? Uint8Array.from(p.ephemeralPrivate) : generatePrivateKey();
  const ephemeralPublic = publicKeyOf(ephemeralPrivate);
  const t = Transcript.resume(hs.chainingKey, hs.hash);
  try {
    t.mixKey(ephemeralPublic);
    t.mixHash(ephemeralPublic);
    // Both peer keys already passed a DH in consumeInitiation, so these cannot be low order;
    // the checks stay because a forged state object must not yield all-zero secrets.
    const ee = dh(ephemeralPrivate, hs.remoteEphemeral);
    if (ee === null) throw new HandshakeError('invalid-public-key', 'initiator ephemeral key is of low order');
    t.mixKey(ee);
    ee.fill(0);
    const se = dh(ephemeralPrivate, hs.remoteStatic);
    if (se === null) throw new HandshakeError('invalid-public-key', 'initiator static key is of low order');
    t.mixKey(se);
    se.fill(0);

    const key = t.mixPresharedKey(p.presharedKey);
    const encryptedNothing = sealOnce(key, EMPTY, t.hash);
    t.mixHash(encryptedNothing);
    const [initiatorToResponder, responderToInitiator] = t.split();

    const message = encodeResponse({
      senderIndex: p.senderIndex,
      receiverIndex: hs.remoteIndex,
      ephemeral: ephemeralPublic,
      encryptedNothing,
    });
    return { message, keys: { sendKey: responderToInitiator, receiveKey: initiatorToResponder } };
  } finally {
    t.wipe();
    ephemeralPrivate.fill(0);
    hs.chainingKey.fill(0);
    hs.hash.fill(0);
    hs.done = true;
  }
}

/**
 * Step 4, §5.4.3 from the initiator's side. Null for anything that is not the response to this
 * handshake (wrong receiver index, bad ephemeral, wrong PSK, forged tag). A rejected response
 * leaves the state untouched, so a forged packet cannot kill a pending handshake; an accepted one
 * wipes it.
 */
export function consumeResponse(p: {
  handshake: InitiatorHandshake;
  message: Uint8Array;
  presharedKey: Uint8Array;
}): { remoteIndex: number; keys: TransportKeys } | null {
  const hs = p.handshake;
  if (hs?.role !== 'initiator') throw new HandshakeError('invalid-argument', 'not an initiator handshake');
  requireBytes(p.presharedKey, KEY_SIZE, 'preshared key');
  if (hs.done) return null;
  const msg = decodeResponse(p.message);
  if (msg === null || msg.receiverIndex !== hs.localIndex) return null;

  const t = Transcript.resume(hs.chainingKey, hs.hash);
  t.mixKey(msg.ephemeral);
  t.mixHash(msg.ephemeral);
  const ee = dh(hs.ephemeralPrivate, msg.ephemeral);
  if (ee === null) return fail(t);
  t.mixKey(ee);
  ee.fill(0);
  const se = dh(hs.local.privateKey, msg.ephemeral);
  if (se === null) return fail(t);
  t.mixKey(se);
  se.fill(0);

  const key = t.mixPresharedKey(p.presharedKey);
  const nothing = openOnce(key, msg.encryptedNothing, t.hash);
  if (nothing === null) return fail(t);
  t.mixHash(msg.encryptedNothing);
  const [initiatorToResponder, responderToInitiator] = t.split();
  t.wipe();

  hs.chainingKey.fill(0);
  hs.hash.fill(0);
  hs.ephemeralPrivate.fill(0);
  hs.done = true;
  return {
    remoteIndex: msg.senderIndex,
    keys: { sendKey: initiatorToResponder, receiveKey: responderToInitiator },
  };
}
