// Header protection for native data messages, after QUIC (RFC 9001 §5.4.4, ChaCha20 variant):
// the 12-byte header (receiver index LE32 | counter LE64) is XORed with a mask computed from a
// 16-byte sample of the ciphertext that follows it — so the payload is never passed over twice.
//
//   sample  = ciphertext[0..16)   (the AEAD output; always ≥ 16 bytes, the tag alone is 16)
//   mask    = ChaCha20(header key, nonce = sample[4..16), block counter = LE32(sample[0..4)))[0..12)
//
// Native fast path: libsodium's crypto_stream_chacha20_ietf_xor_ic; reference: @noble/ciphers.

import { chacha20 } from '@noble/ciphers/chacha.js';
import { loadStream } from '../../ffi/sodium.ts';

export const HEADER_BYTES = 12;
export const SAMPLE_BYTES = 16;

export type MaskFn = (key: Uint8Array, sample: Uint8Array, out12: Uint8Array) => void;

export const nobleMask: MaskFn = (key, sample, out) => {
  const counter = ((sample[0] ?? 0) | ((sample[1] ?? 0) << 8) | ((sample[2] ?? 0) << 16) | ((sample[3] ?? 0) << 24)) >>> 0;
  out.fill(0);
  chacha20(key, sample.subarray(4, 16), out, out, counter);
};

export function maskFunction(): MaskFn {
  if (process.env.WARREN_CRYPTO === 'noble') return nobleMask;
  return loadStream() ?? nobleMask;
}
