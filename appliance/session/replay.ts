// Sliding replay window for transport counters: the bitmap ring of RFC 6479 ("IPsec
// Anti-Replay Algorithm without Bit Shifting"), sized as WireGuard's (whitepaper §5.4.6):
// 2,048 bits of ring, of which 2,048 − 32 form the window.
//
// Call `accept(counter)` only after the packet authenticated: marking an unauthenticated
// counter would let a forger burn counters of the real sender.
//
// A window lives in REPLAY_WORDS 32-bit words, its own or a region of a SharedArrayBuffer (the
// receive table, dataplane/recv-table.ts): the data-plane worker and the main thread (relayed
// datagrams) then accept counters of one session into one window, under its lock word.
//   word 0 lock · word 1 any counter yet · words 2–3 the highest counter (a float64) · 4.. the ring

const BLOCK_BITS = 32;
const RING_BLOCKS = 64; // power of two
const WINDOW_SIZE = (RING_BLOCKS - 1) * BLOCK_BITS;

const W_LOCK = 0;
const W_ANY = 1;
const W_LAST = 2; // float64 index = (base + 2) / 2
const W_RING = 4;
/** 32-bit words of one window; its base must be even (the float64 is 8-byte aligned). */
export const REPLAY_WORDS = W_RING + RING_BLOCKS;

/** Takes a window's lock word (held for a few hundred nanoseconds at most by either thread). */
export function lockWindow(words: Int32Array, base: number): void {
  while (Atomics.compareExchange(words, base + W_LOCK, 0, 1) !== 0) {
    // the other thread is inside accept: spin
  }
}

export function unlockWindow(words: Int32Array, base: number): void {
  Atomics.store(words, base + W_LOCK, 0);
}

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

export class ReplayWindow implements Replay {
  private readonly words: Int32Array;
  private readonly last: Float64Array;
  private readonly base: number;

  /** Its own storage, or REPLAY_WORDS words of `words` from `base` (even) on, shared with another thread. */
  constructor(words?: Int32Array, base = 0) {
    if (base & 1) throw new RangeError('a replay window starts at an even word');
    this.words = words ?? new Int32Array(REPLAY_WORDS);
    this.base = words ? base : 0;
    this.last = new Float64Array(this.words.buffer, this.words.byteOffset, Math.floor(this.words.length / 2));
  }

  /** True (and remembered) if `counter` is new and within the window; false for a replay or one too old. */
  accept(counter: number, limit: number): boolean {
    lockWindow(this.words, this.base);
    try {
      return acceptCounter(this.words, this.last, this.base, counter, limit);
    } finally {
      unlockWindow(this.words, this.base);
    }
  }
}

export const REPLAY_WINDOW_SIZE = WINDOW_SIZE;
