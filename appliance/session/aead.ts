// The transport AEADs behind one in-place interface: libsodium's native code where present
// (ffi/sodium.ts), @noble/ciphers as the reference and fallback. Both produce identical bytes
// (test/unit/ffi/sodium.test.ts).

import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { gcm } from '@noble/ciphers/aes.js';
import { loadSodium, type InPlaceAead } from '../../ffi/sodium.ts';

export type { InPlaceAead } from '../../ffi/sodium.ts';
export type Suite = 'chacha20poly1305' | 'aes256gcm';

function noble(name: Suite): InPlaceAead {
  const make = name === 'aes256gcm' ? gcm : chacha20poly1305;
  // noble's GCM takes no output buffer, so the reference copies; it is not the fast path.
  return {
    name,
    seal(key, nonce, buf, start, len) {
      buf.set(make(key, nonce).encrypt(buf.subarray(start, start + len)), start);
    },
    open(key, nonce, buf, start, end) {
      try {
        buf.set(make(key, nonce).decrypt(buf.subarray(start, end)), start);
        return true;
      } catch {
        return false;
      }
    },
  };
}

export const NOBLE_CHACHA = noble('chacha20poly1305');
export const NOBLE_AES = noble('aes256gcm');

/**
 * The fastest implementation of a suite on this machine. `WARREN_CRYPTO=noble` forces the
 * reference (for comparisons in benchmarks).
 */
export function aeadFor(suite: Suite): InPlaceAead {
  const native = process.env.WARREN_CRYPTO === 'noble' ? null : loadSodium();
  if (suite === 'aes256gcm') return native?.aes ?? NOBLE_AES;
  return native?.chacha ?? NOBLE_CHACHA;
}

/** True where AES-256-GCM runs in hardware here (both ends prefer it then). */
export function hasFastAes(): boolean {
  return process.env.WARREN_CRYPTO !== 'noble' && (loadSodium()?.aes ?? null) !== null;
}
