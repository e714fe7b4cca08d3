// Sliding replay window for transport counters: the bitmap ring of RFC 6479 ("IPsec
// Anti-Replay Algorithm without Bit Shifting"), sized as WireGuard's (whitepaper §5.4.6):
// 2,048 bits of ring, of which 2,048 − 32 form the window.
//
// Call `accept(counter)` only after the packet authenticated: marking an unauthenticated
// counter would let a forger burn counters of the real sender.
//
// A window lives in REPLAY_WORDS 32-bit words: a ReplayWindow's own, or a region of the receive
// table's SharedArrayBuffer (dataplane/recv-table.ts), where the data-plane worker and the main
// thread (relayed datagrams) accept counters of one session into one window under the table's
// mutex (ffi/fastpath.c reads the same layout).
//   word 0 unused · word 1 any counter yet · words 2–3 the highest counter (a float64) · 4.. the ring

const BLOCK_BITS = 32;
const RING_BLOCKS = 64; // power of two
const WINDOW_SIZE = (RING_BLOCKS - 1) * BLOCK_BITS;

const W_ANY = 1;
const W_LAST = 2; // float64 index = (base + 2) / 2
const W_RING = 4;
/** 32-bit words of one window; its base must be even (the float64 is 8-byte aligned). */
export const REPLAY_WORDS = W_RING + RING_BLOCKS;

/** Empties a window (a new session in its place); call under its lock when shared. */
export function resetWindow(words: Int32Array, base: number): void {
  words[base + W_ANY] = 0;
  words.fill(0, base + W_RING, base + W_RING + RING_BLOCKS);
}

/**
 * The window at `base` of `words` (with `last`, a Float64Array over the same buffer): true (and
 * remembered) if `counter` is new and within the window. Not locked: the caller holds the lock.
 */
export function acceptCounter(words: Int32Array, last: Float64Array, base: number, counter: number, limit: number): boolean {
  if (!Number.isSafeInteger(counter) || counter < 0 || counter >= limit) return false;
  const ring = base + W_RING;
  const li = (base + W_LAST) >> 1;
  const block = Math.floor(counter / BLOCK_BITS);
  const any = words[base + W_ANY] === 1;
  const prev = any ? (last[li] ?? 0) : 0;
  if (!any || counter > prev) {
    const current = Math.floor(prev / BLOCK_BITS);
    let diff = any ? block - current : RING_BLOCKS;
    if (diff > RING_BLOCKS) diff = RING_BLOCKS;
    for (let i = 1; i <= diff; i++) words[ring + ((current + i) & (RING_BLOCKS - 1))] = 0;
    last[li] = counter;
    words[base + W_ANY] = 1;
  } else if (prev - counter > WINDOW_SIZE) {
    return false;
  }
  const idx = ring + (block & (RING_BLOCKS - 1));
  const bit = 1 << (counter % BLOCK_BITS);
  const old = words[idx] ?? 0;
  if (old & bit) return false;
  words[idx] = old | bit;
  return true;
}

/** What a session's receive path needs of its window. */
export interface Replay {
  accept(counter: number, limit: number): boolean;
}

/** A session's own window, used by one thread (no data-plane worker, and tests). */
export class ReplayWindow implements Replay {
  private readonly words = new Int32Array(REPLAY_WORDS);
  private readonly last = new Float64Array(this.words.buffer);

  /** True (and remembered) if `counter` is new and within the window; false for a replay or one too old. */
  accept(counter: number, limit: number): boolean {
    return acceptCounter(this.words, this.last, 0, counter, limit);
  }
}

export const REPLAY_WINDOW_SIZE = WINDOW_SIZE;
