// The single-producer/single-consumer ring shared by the TUN reader Worker (producer) and the
// main thread (consumer), laid out in one SharedArrayBuffer:
//
//   control  Int32Array[16]     HEAD (packets produced), TAIL (packets consumed), STOP, RING_FULL
//   lens     Int32Array[slots]  length of the packet in each slot
//   data     slots × slotSize   packet bytes, slot i at i × slotSize
//
// HEAD and TAIL run freely and wrap at 2^32 (`| 0`); slots is a power of two so `counter &
// (slots - 1)` stays continuous across the wrap. Only the Worker writes HEAD and only the main
// thread writes TAIL, both with Atomics.store after the slot bytes/lengths are written or read:
// the seq-cst store orders them, so a reader that sees a counter also sees the data behind it.
// The producer never passes TAIL + slots: a full ring makes it wait, never overwrite.

export const HEAD = 0;
export const TAIL = 1;
/** Set to 1 by the main thread to ask the Worker to exit. */
export const STOP = 2;
/** Times the Worker found the ring full and had to wait (backpressure events). */
export const RING_FULL = 3;
const CONTROL_INTS = 16; // a cache line, so slot lengths do not share it with the counters

export interface RingLayout {
  readonly sab: SharedArrayBuffer;
  readonly slots: number;
  readonly slotSize: number;
}

export interface RingViews {
  readonly control: Int32Array;
  readonly lens: Int32Array;
  readonly data: Uint8Array;
}

export function createRing(slots: number, slotSize: number): RingLayout {
  if (!Number.isInteger(slots) || slots < 2 || slots > 1 << 20 || (slots & (slots - 1)) !== 0) {
    throw new RangeError(`TUN ring slots must be a power of two between 2 and ${1 << 20}, got ${slots}`);
  }
  if (!Number.isInteger(slotSize) || slotSize < 576 || slotSize > 65_536 || slotSize % 8 !== 0) {
    throw new RangeError(`TUN ring slotSize must be a multiple of 8 between 576 and 65536, got ${slotSize}`);
  }
  const bytes = CONTROL_INTS * 4 + slots * 4 + slots * slotSize;
  return { sab: new SharedArrayBuffer(bytes), slots, slotSize };
}

export function ringViews(ring: RingLayout): RingViews {
  const lensOffset = CONTROL_INTS * 4;
  const dataOffset = lensOffset + ring.slots * 4;
  return {
    control: new Int32Array(ring.sab, 0, CONTROL_INTS),
    lens: new Int32Array(ring.sab, lensOffset, ring.slots),
    data: new Uint8Array(ring.sab, dataOffset, ring.slots * ring.slotSize),
  };
}

/** Messages from the Worker to the main thread. */
export type WorkerReport =
  | { readonly type: 'stopped' }
  | { readonly type: 'error'; readonly errno: number; readonly call: string; readonly message: string };

/** The Worker's start message. */
export interface WorkerStart {
  readonly fd: number;
  readonly ring: RingLayout;
  /** Packets per read batch. */
  readonly batch: number;
  /** How long one poll may block, so the Worker notices STOP. */
  readonly pollMs: number;
  readonly mode: 'cc' | 'ffi';
}
