// Local session indices (WireGuard whitepaper §5.4.1): random 32-bit numbers that tell an
// incoming response or transport message which handshake or keypair it belongs to, so no
// peer identity travels in the clear.

export class IndexTable<T> {
  private readonly map = new Map<number, T>();
  constructor(private readonly random: () => number = randomU32) {}

  /** Allocates a fresh non-zero index not in use and binds it to `value`. */
  allocate(value: T): number {
    for (;;) {
      const i = this.random() >>> 0;
      if (i !== 0 && !this.map.has(i)) {
        this.map.set(i, value);
        return i;
      }
    }
  }

  set(index: number, value: T): void {
    this.map.set(index, value);
  }

  get(index: number): T | undefined {
    return this.map.get(index);
  }

  delete(index: number): void {
    this.map.delete(index);
  }

  get size(): number {
    return this.map.size;
  }
}

export function randomU32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;
}
