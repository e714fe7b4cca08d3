// What the main thread and the outbound worker (outbound-worker.ts) agree on: the command
// ring's entry format, the worker-wide counters, and the worker's start message.

import type { RingLayout } from '../../ffi/tun-ring.ts';
import type { PaddingMode } from '../wire/padding.ts';

/** Command ring entries: lens[i] = length | peer slot << 14 | keepalive << 30. */
export const CMD_LEN_MASK = 0x3fff;
export const CMD_SLOT_SHIFT = 14;
export const CMD_SLOT_MASK = 0xffff;
export const CMD_KEEPALIVE = 1 << 30;

/** Worker-wide counters, an Int32Array over `stats`. */
export const S_SENT = 0;
export const S_FORWARDED = 1;
export const S_NO_ROUTE = 2;
export const S_SEND_DROPPED = 3;
export const S_MALFORMED = 4;
/** Inbound (the worker receives on the UDP socket): datagrams read, handed to the main thread,
 * dropped for a failed tag, a replayed counter, a source address the peer may not use, a TUN
 * that refused the packet, a full ring to the main thread, or a size beyond a receive slot. */
export const S_RX = 5;
export const S_RX_TO_MAIN = 6;
export const S_RX_AUTH = 7;
export const S_RX_REPLAY = 8;
export const S_RX_SOURCE = 9;
export const S_RX_TUN_DROPPED = 10;
export const S_RX_RING_FULL = 11;
export const S_RX_TOO_BIG = 12;
export const S_RX_ERRORS = 13;
export const S_RX_RAW = 14; // of S_RX_TO_MAIN, those handed over as received (the main thread counts them)
/** Which paths the worker runs: 2 the whole loop native (ffi/fastpath.c), 1 native batches in a
 * JavaScript loop, 0 JavaScript only (no libsodium, or WARREN_FASTPATH=js). */
export const S_FASTPATH = 15;
export const STATS_INTS = 16;

/** Bytes of one received datagram's slot for a link MTU; a larger datagram is dropped (the largest
 * Warren sends, a relayed full-MTU message, is MTU + 100 or so; DHT messages stay under 1,500). */
export function recvSlotBytes(mtu: number): number {
  return Math.max(2048, Math.ceil((mtu + 256) / 8) * 8);
}

/** The ring of datagrams the worker hands to the main thread: per slot a 32-byte record, then the
 * datagram (lens[slot] its length). Record: kind u8 @0, port u16 @2, source IPv4 u32 @4, local
 * index u32 @8, receive time f64 @16 (absolute ms); big-endian. */
export const IN_RECORD = 32;
export const IN_RAW = 0; // as received: the main thread's full receive path (handshakes, DHT, ...)
export const IN_OPENED = 1; // a data message opened in place, its counter accepted (Device.inboundOpened)
export const IN_SLOTS = 256;

export interface OutboundInit {
  fd: number;
  ring: RingLayout;
  batch: number;
  pollMs: number;
  sockFd: number;
  doorbell: number;
  commands: RingLayout;
  table: SharedArrayBuffer;
  slots: number;
  stats: SharedArrayBuffer;
  /** The wire; on the native wire its header keys per key slot (wire-share.ts), which a rotation of
   * the network secret changes while the worker runs. */
  wire: { kind: 'native' | 'wireguard'; headerKeys: SharedArrayBuffer; padding: PaddingMode };
  mtu: number;
  rejectAfterMs: number;
  /** The shared route list (route-share.ts): prefixes → peer slots, updated while running. */
  routes: SharedArrayBuffer;
  routeCapacity: number;
  /** Inbound, when the worker owns the UDP socket (absent or -1: the main thread receives). */
  udpFd?: number;
  /** The receive table (recv-table.ts) and its per-slot figures. */
  recv?: SharedArrayBuffer;
  recvCapacity?: number;
  rx?: SharedArrayBuffer;
  /** Datagrams for the main thread (IN_* records). */
  inbound?: RingLayout;
}

/** Packets (and worker wake-ups) of the start-up warm-up (appliance/warmup.ts): ~60 ms of CPU here. More
 * lowered a cold RTT further (25,000: median 0.92 ms against 1.05 ms) but cost ~10 MB of RSS. */
export const WARM_PACKETS = 2_500;

/** WARREN_WARMUP=0 starts without warming (to measure what the warm-up is worth). */
export function warmupEnabled(): boolean {
  return process.env.WARREN_WARMUP !== '0';
}
