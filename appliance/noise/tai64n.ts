/**
 * TAI64N timestamps as WireGuard uses them: the whitepaper §5.4 TIMESTAMP() and §5.4.2 (a replayed
 * initiation is rejected because its timestamp is not strictly greater than the peer's last one,
 * a check the session layer makes with tai64nAfter); byte format from
 * D. J. Bernstein's libtai (https://cr.yp.to/libtai/tai64.html) as done by wireguard-go
 * tai64n/tai64n.go:
 *
 *   [0..8)  big-endian 2^62 + 10 + Unix seconds
 *   [8..12) big-endian nanoseconds with the low 24 bits cleared ("whitened", ≈16.8 ms steps)
 *
 * Pure: the clock is passed in (`nowMs`), defaulting to Date.now().
 */
import { TAI64_BASE, TAI64N_WHITENER_MASK, TIMESTAMP_SIZE } from './constants.ts';
import { NoiseCryptoError } from './crypto.ts';

const NANOS_PER_MS = 1_000_000;
const MAX_NANOS = 999_999_999;

/** The TAI64N label for wall-clock time `nowMs` (milliseconds since the Unix epoch, may be fractional). */
export function tai64nNow(nowMs: number = Date.now()): Uint8Array {
  if (!Number.isFinite(nowMs) || nowMs < 0) {
    throw new NoiseCryptoError('invalid-argument', 'tai64nNow needs a finite, non-negative time');
  }
  const seconds = Math.floor(nowMs / 1000);
  const rawNanos = Math.floor((nowMs - seconds * 1000) * NANOS_PER_MS);
  const nanos = Math.min(Math.max(rawNanos, 0), MAX_NANOS);
  // Round down to the whitening granularity; `>>> 0` keeps the result an unsigned 32-bit value.
  const whitened = (nanos & ~TAI64N_WHITENER_MASK) >>> 0;
  const out = new Uint8Array(TIMESTAMP_SIZE);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, TAI64_BASE + BigInt(seconds), false);
  view.setUint32(8, whitened, false);
  return out;
}

/** True when `a` is strictly later than `b` (a lexicographic byte comparison, as wireguard-go). */
export function tai64nAfter(a: Uint8Array, b: Uint8Array): boolean {
  for (const [name, t] of [
    ['a', a],
    ['b', b],
  ] as const) {
    if (!(t instanceof Uint8Array) || t.length !== TIMESTAMP_SIZE) {
      throw new NoiseCryptoError('invalid-length', `timestamp ${name} must be ${TIMESTAMP_SIZE} bytes`);
    }
  }
  for (let i = 0; i < TIMESTAMP_SIZE; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y) return x > y;
  }
  return false;
}
