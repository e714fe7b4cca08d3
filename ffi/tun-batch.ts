// The TinyCC batch reader of tun-batch.c, compiled on first use. Each thread that imports this file
// compiles its own copy (bun:ffi `cc` symbols are per-isolate), which takes a few milliseconds.

import { cc } from 'bun:ffi';

const source = new URL('./tun-batch.c', import.meta.url).pathname;

function compile() {
  return cc({
    source,
    symbols: {
      tun_read_batch: {
        args: ['i32', 'i32', 'ptr', 'ptr', 'i32', 'i32', 'i32', 'i32'],
        returns: 'i32',
      },
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
