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
export const STATS_INTS = 8;

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
}

/** Packets (and worker wake-ups) of the start-up warm-up (appliance/warmup.ts): ~60 ms of CPU here. More
 * lowered a cold RTT further (25,000: median 0.92 ms against 1.05 ms) but cost ~10 MB of RSS. */
export const WARM_PACKETS = 2_500;

/** WARREN_WARMUP=0 starts without warming (to measure what the warm-up is worth). */
export function warmupEnabled(): boolean {
  return process.env.WARREN_WARMUP !== '0';
}
