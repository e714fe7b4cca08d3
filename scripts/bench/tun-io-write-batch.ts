// Batched TUN write variants for scripts/bench/tun-io.ts (TinyCC, tun-io-write-batch.c). They lost
// to or tied with one FFI write per packet, so ffi/ does not carry them.
import { cc, ptr } from 'bun:ffi';

const { symbols } = cc({
  source: new URL('./tun-io-write-batch.c', import.meta.url).pathname,
  symbols: {
    tun_write_batch: { args: ['i32', 'ptr', 'ptr', 'i32'], returns: 'i32' },
    tun_write_packed: { args: ['i32', 'ptr', 'ptr', 'i32'], returns: 'i32' },
  },
});

/** Writes packets[0..count) with one FFI call through a table of their addresses. */
export class BatchWriter {
  private readonly addrs: Uint32Array;
  private readonly lens: Int32Array;
  constructor(readonly capacity: number) {
    this.addrs = new Uint32Array(capacity * 2);
    this.lens = new Int32Array(capacity);
  }

  write(fd: number, packets: readonly Uint8Array[], count: number): number {
    const n = Math.min(count, this.capacity);
    for (let i = 0; i < n; i++) {
      const p = packets[i]!;
      // A pointer is < 2^53 as a number; store it as the two little-endian halves of a u64.
      const addr = ptr(p);
      this.addrs[2 * i] = addr >>> 0;
      this.addrs[2 * i + 1] = Math.floor(addr / 0x1_0000_0000);
      this.lens[i] = p.byteLength;
    }
    // `packets` keeps every buffer alive across the call, so the addresses stay valid.
    return symbols.tun_write_batch(fd, this.addrs, this.lens, n);
  }
}

/** Writes `count` packets stored back to back in `data` with lengths in `lens`. */
export function writePacked(fd: number, data: Uint8Array, lens: Int32Array, count: number): number {
  return symbols.tun_write_packed(fd, data, lens, count);
}
