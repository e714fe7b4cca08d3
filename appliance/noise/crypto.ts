/**
 * The primitives of the WireGuard handshake, as named in the whitepaper §5.4 "Messages":
 * DH / DH-GENERATE / DH-PUBKEY (X25519, RFC 7748), AEAD (ChaCha20-Poly1305, RFC 8439, with the
 * nonce 32 zero bits || 64-bit little-endian counter), XAEAD (XChaCha20-Poly1305,
 * draft-irtf-cfrg-xchacha), HASH (BLAKE2s-256, RFC 7693), MAC (keyed BLAKE2s-128), HMAC
 * (HMAC-BLAKE2s, RFC 2104) and KDF1/KDF2/KDF3 (the HKDF-style chain of §5.4).
 *
 * Thin wrappers over the pinned noble libraries: no crypto is implemented here, only the exact
 * WireGuard parameterisation, length checks at every entry, and zeroing of intermediates.
 */
import { loadX25519, type NativeX25519 } from '../../ffi/sodium.ts';
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { randomBytes } from '@noble/hashes/utils.js';
import {
  AEAD_NONCE_SIZE,
  AEAD_TAG_SIZE,
  HASH_SIZE,
  KEY_SIZE,
  MAC_SIZE,
  PUBLIC_KEY_SIZE,
  XAEAD_NONCE_SIZE,
} from './constants.ts';

export type NoiseCryptoErrorKind = 'invalid-length' | 'invalid-counter' | 'invalid-argument';

/** A programming error at a crypto entry point (wrong key size, counter out of range …). */
export class NoiseCryptoError extends Error {
  override readonly name = 'NoiseCryptoError';
  constructor(
    readonly kind: NoiseCryptoErrorKind,
    message: string,
  ) {
    super(message);
  }
}

const MAX_COUNTER = (1n << 64n) - 1n;
/** BLAKE2s accepts keys of 1..32 bytes (RFC 7693 §2.1). */
const BLAKE2S_MAX_KEY = 32;

function assertBytes(value: unknown, what: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new NoiseCryptoError('invalid-argument', `${what} must be a Uint8Array`);
  }
  if (length !== undefined && value.length !== length) {
    throw new NoiseCryptoError(
      'invalid-length',
      `${what} must be ${length} bytes, got ${value.length}`,
    );
  }
}

/** HASH(parts[0] || parts[1] || …): BLAKE2s-256. */
export function hash(...parts: Uint8Array[]): Uint8Array {
  const h = blake2s.create();
  for (const [i, part] of parts.entries()) {
    assertBytes(part, `hash input ${i}`);
    h.update(part);
  }
  return h.digest();
}

/** MAC(key, data): keyed BLAKE2s with a 16-byte output (§5.4), used for mac1, mac2 and cookies. */
export function mac(key: Uint8Array, data: Uint8Array): Uint8Array {
  assertBytes(key, 'mac key');
  assertBytes(data, 'mac input');
  if (key.length < 1 || key.length > BLAKE2S_MAX_KEY) {
    throw new NoiseCryptoError('invalid-length', `mac key must be 1..32 bytes, got ${key.length}`);
  }
  return blake2s(data, { key, dkLen: MAC_SIZE });
}

/** HMAC(key, data): HMAC-BLAKE2s-256 (RFC 2104 over a 64-byte block), with a 32-byte key. */
export function hmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  assertBytes(key, 'hmac key', KEY_SIZE);
  assertBytes(data, 'hmac input');
  return nobleHmac(blake2s, key, data);
}

/**
 * KDFn(key, input) of §5.4: τ0 = HMAC(key, input), τ1 = HMAC(τ0, 0x1),
 * τi = HMAC(τ0, τ(i−1) || i). Returns τ1..τn; τ0 is zeroed.
 */
function kdf(key: Uint8Array, input: Uint8Array, n: 1 | 2 | 3): Uint8Array[] {
  assertBytes(key, 'kdf key', KEY_SIZE);
  assertBytes(input, 'kdf input');
  const prk = hmac(key, input);
  const out: Uint8Array[] = [];
  let previous: Uint8Array = new Uint8Array(0);
  const block = new Uint8Array(HASH_SIZE + 1);
  for (let i = 1; i <= n; i++) {
    block.set(previous, 0);
    block[previous.length] = i;
    previous = hmac(prk, block.subarray(0, previous.length + 1));
    out.push(previous);
  }
  prk.fill(0);
  block.fill(0);
  return out;
}

export function kdf1(key: Uint8Array, input: Uint8Array): Uint8Array {
  const [t1] = kdf(key, input, 1);
  return t1 as Uint8Array;
}

export function kdf2(key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array] {
  const [t1, t2] = kdf(key, input, 2);
  return [t1 as Uint8Array, t2 as Uint8Array];
}

export function kdf3(key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  const [t1, t2, t3] = kdf(key, input, 3);
  return [t1 as Uint8Array, t2 as Uint8Array, t3 as Uint8Array];
}

/** §5.4 AEAD nonce: 32 bits of zeros followed by the 64-bit little-endian counter. */
function aeadNonce(counter: number | bigint): Uint8Array {
  let value: bigint;
  if (typeof counter === 'number') {
    if (!Number.isSafeInteger(counter) || counter < 0) {
      throw new NoiseCryptoError('invalid-counter', `counter must be a non-negative safe integer`);
    }
    value = BigInt(counter);
  } else if (typeof counter === 'bigint') {
    value = counter;
  } else {
    throw new NoiseCryptoError('invalid-counter', 'counter must be a number or bigint');
  }
  if (value < 0n || value > MAX_COUNTER) {
    throw new NoiseCryptoError('invalid-counter', 'counter must fit in 64 bits');
  }
  const nonce = new Uint8Array(AEAD_NONCE_SIZE);
  new DataView(nonce.buffer).setBigUint64(4, value, true);
  return nonce;
}

/** AEAD(key, counter, plaintext, aad): ChaCha20-Poly1305, returns ciphertext || 16-byte tag. */
export function aeadSeal(
  key: Uint8Array,
  counter: number | bigint,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  assertBytes(key, 'aead key', KEY_SIZE);
  assertBytes(plaintext, 'aead plaintext');
  assertBytes(aad, 'aead aad');
  return chacha20poly1305(key, aeadNonce(counter), aad).encrypt(plaintext);
}

/** Inverse of aeadSeal; null when the tag does not verify. */
export function aeadOpen(
  key: Uint8Array,
  counter: number | bigint,
  ciphertext: Uint8Array,
  aad: Uint8Array,
): Uint8Array | null {
  assertBytes(key, 'aead key', KEY_SIZE);
  assertBytes(ciphertext, 'aead ciphertext');
  assertBytes(aad, 'aead aad');
  const nonce = aeadNonce(counter);
  if (ciphertext.length < AEAD_TAG_SIZE) return null;
  try {
    return chacha20poly1305(key, nonce, aad).decrypt(ciphertext);
  } catch {
    return null; // noble throws on a bad tag; an unauthenticated packet is not exceptional
  }
}

/** XAEAD(key, nonce24, plaintext, aad): XChaCha20-Poly1305, returns ciphertext || tag. */
export function xaeadSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  assertBytes(key, 'xaead key', KEY_SIZE);
  assertBytes(nonce, 'xaead nonce', XAEAD_NONCE_SIZE);
  assertBytes(plaintext, 'xaead plaintext');
  assertBytes(aad, 'xaead aad');
  return xchacha20poly1305(key, nonce, aad).encrypt(plaintext);
}

/** Inverse of xaeadSeal; null when the tag does not verify. */
export function xaeadOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array,
): Uint8Array | null {
  assertBytes(key, 'xaead key', KEY_SIZE);
  assertBytes(nonce, 'xaead nonce', XAEAD_NONCE_SIZE);
  assertBytes(ciphertext, 'xaead ciphertext');
  assertBytes(aad, 'xaead aad');
  if (ciphertext.length < AEAD_TAG_SIZE) return null;
  try {
    return xchacha20poly1305(key, nonce, aad).decrypt(ciphertext);
  } catch {
    return null;
  }
}

/**
 * DH(private, public): X25519. Null when the peer's key is of low order, i.e. when the shared
 * secret would be all zeros (RFC 7748 §6.1; the whitepaper §5.4 requires rejecting it). noble
 * refuses the low-order points before running the ladder, which is also what closes the timing
 * oracle; the all-zero check stays as a belt-and-braces guard.
 */
/**
 * X25519 (RFC 7748): libsodium's native code where installed, @noble/curves otherwise (and as the
 * reference the native path is tested against: test/unit/noise/x25519-native.test.ts). Besides
 * speed, native saves memory: noble's first scalar multiplication leaves ~8.5 MiB of compiled
 * BigInt code behind, a seventh of an idle appliance's budget. noble is loaded only if needed.
 */
interface X25519 {
  getSharedSecret(priv: Uint8Array, pub: Uint8Array): Uint8Array;
  getPublicKey(priv: Uint8Array): Uint8Array;
}
let x25519Impl: X25519 | undefined;
function x25519(): X25519 {
  if (x25519Impl) return x25519Impl;
  const native: NativeX25519 | null = process.env.WARREN_CRYPTO === 'noble' ? null : loadX25519();
  // A synchronous require keeps dh() synchronous; Bun loads ES modules this way too.
  x25519Impl = native ?? (require('@noble/curves/ed25519.js') as { x25519: X25519 }).x25519;
  return x25519Impl;
}

/** The noble reference, for tests that compare it with the native path. */
export function nobleX25519(): X25519 {
  return (require('@noble/curves/ed25519.js') as { x25519: X25519 }).x25519;
}

export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null {
  assertBytes(privateKey, 'private key', KEY_SIZE);
  assertBytes(publicKey, 'public key', PUBLIC_KEY_SIZE);
  let shared: Uint8Array;
  try {
    shared = x25519().getSharedSecret(privateKey, publicKey);
  } catch {
    return null; // lengths were checked above, so this is a low-order (all-zero) rejection
  }
  if (isAllZero(shared)) return null;
  return shared;
}

/**
 * DH-GENERATE(): 32 random bytes, clamped as `wg genkey` does (RFC 7748 §5), so keys we write
 * out look like the ones WireGuard tools produce. `random` is a seam for tests.
 */
export function generatePrivateKey(random: (n: number) => Uint8Array = randomBytes): Uint8Array {
  const key = random(KEY_SIZE);
  assertBytes(key, 'random output', KEY_SIZE);
  const clamped = Uint8Array.from(key);
  clamped[0] = (clamped[0] as number) & 248;
  clamped[31] = ((clamped[31] as number) & 127) | 64;
  return clamped;
}

/** DH-PUBKEY(private): X25519 with the base point. */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  assertBytes(privateKey, 'private key', KEY_SIZE);
  return x25519().getPublicKey(privateKey);
}

/**
 * Equality whose running time depends only on the lengths (which are public in every use here:
 * MACs, tags, keys), never on where the first difference is.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  assertBytes(a, 'left operand');
  assertBytes(b, 'right operand');
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** True when every byte is zero; constant time in the contents. */
export function isAllZero(bytes: Uint8Array): boolean {
  assertBytes(bytes, 'input');
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i] as number;
  return acc === 0;
}
