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
        args: ['i32', 'ptr', 'i32', 'ptr', 'i32', 'ptr', 'i32', 'ptr', 'i32', 'ptr', 'ptr', 'f64', 'ptr'],
        returns: 'i32',
      },
      dp_run: { args: ['ptr', 'ptr', 'ptr'], returns: 'i32' },
      dp_mono_ms: { args: [], returns: 'f64' },
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

/** dp_run's pointer slots (fastpath.c P_*), int slots (I_*), double slots (D_*) and returns (R_*). */
export const P = {
  R_ARENA: 0, R_ADDRS: 1, KEYSHARE: 2, RECV: 3, S_FLOATS: 4, S_INTS: 5, S_KEYS: 6, ROUTES: 7,
  COUNTERS: 8, GENS: 9, RX_RES: 10, T_READ: 11, T_OUT: 12, T_ADDRS: 13, T_RES: 14, T_CFG: 15,
  STATS: 16, RX_SLOTS: 17, IN_CTRL: 18, IN_LENS: 19, IN_DATA: 20, TUN_CTRL: 21, TUN_LENS: 22,
  TUN_DATA: 23, W_OFFS: 24, W_LENS: 25, MUTEX: 26, COUNT: 27,
} as const;
export const I = {
  TUN: 0, UDP: 1, BELL: 2, POLL_MS: 3, R_SLOT: 4, T_SLOT: 5, MASK: 6, IN_SLOTS: 7, IN_SLOT: 8, IN_HEAD: 9,
  TUN_SLOTS: 10, TUN_SLOT: 11, TUN_HEAD: 12, NATIVE: 13, PEERS: 14, CALL: 15, COUNT: 16,
} as const;
export const D = { OFFSET: 0, REJECT_AFTER: 1, COUNT: 2 } as const;
export const R_WAKE = 1;
export const R_TIMEOUT = 2;
export const R_PUBLISH = 3;
export const R_JS = 4;
export const R_STOP = 5;

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
