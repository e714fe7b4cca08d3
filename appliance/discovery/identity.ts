// A node's Ed25519 identity (it signs the node's DHT records, record.ts), derived from its
// X25519 private key with a labelled HKDF, so there is one secret to keep and back up, and a
// node that moves keeps both keys.

import { hkdf } from '@noble/hashes/hkdf.js';
import { blake2s } from '@noble/hashes/blake2.js';

const SALT = new TextEncoder().encode('warren identity v1');
const LABEL = new TextEncoder().encode('ed25519 record signing seed');

/** The Ed25519 secret seed (32 bytes) belonging to an X25519 private key. */
export function identitySeed(x25519PrivateKey: Uint8Array): Uint8Array {
  if (x25519PrivateKey.length !== 32) throw new RangeError('private key must be 32 bytes');
  return hkdf(blake2s, x25519PrivateKey, SALT, LABEL, 32);
}
