// The data-plane worker's native receive path (receive.c through bun:ffi `cc`): one call per
// batch receives, opens and judges the datagrams; the caller accepts counters, counts and writes.
// null where libsodium is missing (the JavaScript path runs then) or WARREN_RX=js asks for it.

import { cc } from 'bun:ffi';

const source = new URL('./receive.c', import.meta.url).pathname;

function compile() {
  return cc({
    source,
    symbols: {
      rx_init: { args: [], returns: 'i32' },
      rx_batch: {
        args: ['i32', 'ptr', 'i32', 'ptr', 'ptr', 'i32', 'ptr', 'i32', 'ptr', 'i32', 'ptr', 'ptr', 'f64', 'ptr'],
        returns: 'i32',
      },
    },
  }).symbols;
}

/** Verdicts of rx_batch (receive.c V_*). */
export const RX_TOO_BIG = 0;
export const RX_RAW = 1;
export const RX_AUTH = 2;
export const RX_OPENED = 3;
export const RX_KEEPALIVE = 4;
export const RX_DELIVER = 5;
export const RX_SOURCE = 6;
/** Result ints per datagram. */
export const RX_RESULT_INTS = 8;

export type NativeReceive = ReturnType<typeof compile>;

let loaded: NativeReceive | null | undefined;

export function loadNativeReceive(): NativeReceive | null {
  if (loaded !== undefined) return loaded;
  if (process.env.WARREN_RX === 'js') return (loaded = null);
  try {
    const s = compile();
    loaded = s.rx_init() === 1 ? s : null;
  } catch {
    loaded = null;
  }
  return loaded;
}
