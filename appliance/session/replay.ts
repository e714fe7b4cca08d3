// Sliding replay window for transport counters: the bitmap ring of RFC 6479 ("IPsec
// Anti-Replay Algorithm without Bit Shifting"), sized as WireGuard's (whitepaper §5.4.6):
// 2,048 bits of ring, of which 2,048 − 32 form the window.
//
// Call `accept(counter)` only after the packet authenticated: marking an unauthenticated
// counter would let a forger burn counters of the real sender.

const BLOCK_BITS = 32;
const RING_BLOCKS = 64; // power of two
const WINDOW_SIZE = (RING_BLOCKS - 1) * BLOCK_BITS;

export class ReplayWindow {
  private readonly ring = new Uint32Array(RING_BLOCKS);
  private last = 0; // highest counter accepted
  private any = false;

  /** True (and remembered) if `counter` is new and within the window; false for a replay or one too old. */
  accept(counter: number, limit: number): boolean {
    if (!Number.isSafeInteger(counter) || counter < 0 || counter >= limit) return false;
    const block = Math.floor(counter / BLOCK_BITS);
    if (!this.any || counter > this.last) {
      const current = Math.floor(this.last / BLOCK_BITS);
      let diff = this.any ? block - current : RING_BLOCKS;
      if (diff > RING_BLOCKS) diff = RING_BLOCKS;
      for (let i = 1; i <= diff; i++) this.ring[(current + i) & (RING_BLOCKS - 1)] = 0;
      if (!this.any) this.ring.fill(0);
      this.last = counter;
      this.any = true;
    } else if (this.last - counter > WINDOW_SIZE) {
      return false;
    }
    const idx = block & (RING_BLOCKS - 1);
    const bit = 1 << (counter % BLOCK_BITS);
    const old = this.ring[idx] ?? 0;
    if (old & bit) return false;
    this.ring[idx] = old | bit;
    return true;
  }
}

export const REPLAY_WINDOW_SIZE = WINDOW_SIZE;
