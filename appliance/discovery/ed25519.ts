// Ed25519 for DHT records and BEP 44 items: libsodium's native code where installed, @noble/curves
// otherwise and as the reference the native path is tested against
// (test/unit/discovery/ed25519.test.ts). Native also saves memory: noble's first point
// multiplications leave megabytes of compiled BigInt code resident on a small appliance.

import { loadEd25519 } from '../../ffi/sodium.ts';

export interface Ed25519 {
  getPublicKey(seed: Uint8Array): Uint8Array;
  sign(message: Uint8Array, seed: Uint8Array): Uint8Array;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

/** The noble reference (loaded only when asked for). */
export function nobleEd25519(): Ed25519 {
  return (require('@noble/curves/ed25519.js') as { ed25519: Ed25519 }).ed25519;
}

let impl: Ed25519 | undefined;
function current(): Ed25519 {
  impl ??= (process.env.WARREN_CRYPTO === 'noble' ? null : loadEd25519()) ?? nobleEd25519();
  return impl;
}

export const ed25519: Ed25519 = {
  getPublicKey: (seed) => current().getPublicKey(seed),
  sign: (message, seed) => current().sign(message, seed),
  verify: (signature, message, publicKey) => {
    try {
      return current().verify(signature, message, publicKey);
    } catch {
      return false;
    }
  },
};
