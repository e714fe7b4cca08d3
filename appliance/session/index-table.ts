// Local session indices (WireGuard whitepaper §5.4.1): random 32-bit numbers that tell an
// incoming response or transport message which handshake or keypair it belongs to, so no
// peer identity travels in the clear.

export class IndexTable<T> {
  private readonly map = new Map<number, T>();
  /** With a low mask: the low bits of every live index, which no two share (the data-plane
   * worker's receive table finds a session at index & mask, dataplane/recv-table.ts). */
  private readonly low = new Set<number>();
  private lowMask = 0;
  constructor(private readonly random: () => number = randomU32) {}

  /** From now on no two live indices share their bits under `mask` (2^k − 1; set before any allocation). */
  setLowMask(mask: number): void {
    if (this.map.size > 0) throw new Error('set the low mask before allocating');
    this.lowMask = mask;
  }

  /** Allocates a fresh non-zero index not in use and binds it to `value`. */
  allocate(value: T): number {
    for (;;) {
      const i = this.random() >>> 0;
      if (i !== 0 && !this.map.has(i) && (this.lowMask === 0 || !this.low.has(i & this.lowMask))) {
        this.map.set(i, value);
        if (this.lowMask) this.low.add(i & this.lowMask);
        return i;
      }
    }
  }

  get(index: number): T | undefined {
    return this.map.get(index);
  }

  delete(index: number): void {
    if (this.map.delete(index) && this.lowMask) this.low.delete(index & this.lowMask);
  }

  get size(): number {
    return this.map.size;
  }
}

export function randomU32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;
}
