// The data-plane worker's native paths (fastpath.c through bun:ffi `cc`): one call per batch
// receives, opens and judges datagrams (the caller accepts counters, counts and writes to the
// TUN); one reads, routes, seals and sends TUN packets. null where libsodium is missing (the
// JavaScript paths run then) or WARREN_FASTPATH=js asks for them (to compare in benchmarks).

import { cc } from 'bun:ffi';

const source = new URL('./fastpath.c', import.meta.url).pathname;

function compile() {
  return cc({
    source,
    symbols: {
      rx_init: { args: [], returns: 'i32' },
      rx_batch: {
        args: ['i32', 'ptr', 'i32', 'ptr', 'ptr', 'i32', 'ptr', 'i32', 'ptr', 'i32', 'ptr', 'ptr', 'f64', 'ptr'],
        returns: 'i32',
      },
      tx_batch: {
        args: ['i32', 'ptr', 'i32', 'i32', 'i32', 'ptr', 'i32', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'ptr', 'f64', 'f64', 'ptr'],
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

/** Verdicts of tx_batch (fastpath.c T_*), 3 result ints per packet: verdict, offset, length. */
export const TX_SENT = 0;
export const TX_MALFORMED = 1;
export const TX_NO_ROUTE = 2;
export const TX_FORWARD = 3;
export const TX_JS = 4;
export const TX_RESULT_INTS = 3;

export type FastPath = ReturnType<typeof compile>;

let loaded: FastPath | null | undefined;

export function loadFastPath(): FastPath | null {
  if (loaded !== undefined) return loaded;
  if (process.env.WARREN_FASTPATH === 'js') return (loaded = null);
  try {
    const s = compile();
    loaded = s.rx_init() === 1 ? s : null;
  } catch {
    loaded = null;
  }
  return loaded;
}
