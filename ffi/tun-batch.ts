// The TinyCC helpers of tun-batch.c, compiled on first use. Each thread that imports this file
// compiles its own copy (bun:ffi `cc` symbols are per-isolate), which takes a few milliseconds.

import { cc, ptr } from 'bun:ffi';

const source = new URL('./tun-batch.c', import.meta.url).pathname;

function compile() {
  return cc({
    source,
    symbols: {
      tun_read_batch: {
        args: ['i32', 'i32', 'ptr', 'ptr', 'i32', 'i32', 'i32', 'i32'],
        returns: 'i32',
      },
      tun_write_batch: { args: ['i32', 'ptr', 'ptr', 'i32'], returns: 'i32' },
      tun_write_packed: { args: ['i32', 'ptr', 'ptr', 'i32'], returns: 'i32' },
    },
  }).symbols;
}

let compiled: ReturnType<typeof compile> | undefined;
function helpers(): ReturnType<typeof compile> {
  compiled ??= compile();
  return compiled;
}

/** Reads up to `max` packets into ring slots starting at `first` (see tun_read_batch in
 * tun-batch.c). Returns the count, 0 on timeout, or -errno. */
export function readBatch(
  fd: number,
  timeoutMs: number,
  data: Uint8Array,
  lens: Int32Array,
  slots: number,
  slotSize: number,
  first: number,
  max: number,
): number {
  return helpers().tun_read_batch(fd, timeoutMs, data, lens, slots, slotSize, first, max);
}

/** Writes packets[0..count) with one FFI call. `scratch` holds the pointer table; it must stay
 * inside ffi/. Returns the count written or -errno if the first write failed. */
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
      // Pointers are < 2^53 as numbers; split into the two little-endian halves of a u64.
      const addr = ptr(p);
      this.addrs[2 * i] = addr >>> 0;
      this.addrs[2 * i + 1] = Math.floor(addr / 0x1_0000_0000);
      this.lens[i] = p.byteLength;
    }
    // `packets` keeps every buffer alive across the call, so the addresses stay valid.
    return helpers().tun_write_batch(fd, this.addrs, this.lens, n);
  }
}

/** Writes `count` packets stored back to back in `data` with lengths in `lens`. */
export function writePacked(fd: number, data: Uint8Array, lens: Int32Array, count: number): number {
  return helpers().tun_write_packed(fd, data, lens, count);
}
