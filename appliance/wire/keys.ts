// Everything the native wire needs is derived from the network secret (DESIGN.md "Identities
// and networks"): HKDF (RFC 5869) over BLAKE2s, one distinct label per use, so knowing one
// derived key says nothing about another. Knowing the secret is what membership means.

import { hkdf } from '@noble/hashes/hkdf.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { hash, kdf1 } from '../noise/crypto.ts';

export const NETWORK_SECRET_BYTES = 32;
const SALT = new TextEncoder().encode('warren network v1');
const LABEL_PSK = 'noise psk';
const LABEL_ENVELOPE = 'handshake envelope';
const LABEL_HEADER = 'header protection';

export interface WireKeys {
  /** Mixed into every handshake as Noise's psk2: a non-member cannot complete one. */
  readonly psk: Uint8Array;
  /** XChaCha20 key that hides handshake messages (envelope.ts). */
  readonly envelope: Uint8Array;
  /** ChaCha20 key for header protection of data messages (header-protection.ts). */
  readonly header: Uint8Array;
}

/**
 * A key (or `length` bytes) for one use, from the network secret: HKDF-BLAKE2s with the
 * network salt and the use's own label. Other modules (overlay addresses) derive through this.
 */
export function deriveFromSecret(secret: Uint8Array, label: string, length = 32): Uint8Array {
  return hkdf(blake2s, secret, SALT, new TextEncoder().encode(label), length);
}

const derive = (secret: Uint8Array, label: string): Uint8Array => deriveFromSecret(secret, label);

export function deriveWireKeys(secret: Uint8Array): WireKeys {
  if (secret.length !== NETWORK_SECRET_BYTES) throw new RangeError(`network secret must be ${NETWORK_SECRET_BYTES} bytes`);
  return { psk: derive(secret, LABEL_PSK), envelope: derive(secret, LABEL_ENVELOPE), header: derive(secret, LABEL_HEADER) };
}

/** The handshake PSK: the network's, combined with a peer's own preshared key when one is set. */
export function combinePsk(networkPsk: Uint8Array, peerPsk: Uint8Array): Uint8Array {
  return peerPsk.every((b) => b === 0) ? networkPsk : hash(networkPsk, peerPsk);
}

/** Binds a transport key to the negotiated cipher suite, so a tampered choice yields keys that do not match. */
export function bindSuite(key: Uint8Array, suite: string): Uint8Array {
  return kdf1(key, new TextEncoder().encode(`warren suite ${suite}`));
}
