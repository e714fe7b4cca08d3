// What the outbound worker needs to send for a peer, shared through one SharedArrayBuffer.
// The main thread (the session state machine) publishes each peer's sendable keypair and
// endpoint; the worker reads it per batch and reports back what it sent.
//
// Per peer slot:
//   ints    seq, state, remoteIndex, suite, keyGen, port, ipv4, wireSlot — published by the main thread
//           under a seqlock: seq is odd while a write is in progress; a reader retries when seq
//           was odd or changed across its read (so it never uses half of an update)
//   key     32 bytes, under the same seqlock
//   floats  createdMs (published); counter, txPackets, txBytes, lastSentMs, lastDataSentMs,
//           firstUnansweredMs (written by the worker, read by the main thread's timers; aligned
//           8-byte writes, one writer each, so no torn values)
// Times are absolute milliseconds (performance.timeOrigin + performance.now()) so both threads
// share one clock.

const INTS = 8;
const FLOATS = 8;
const KEY = 32;

const I_SEQ = 0;
const I_STATE = 1;
const I_REMOTE = 2;
const I_SUITE = 3;
const I_KEYGEN = 4;
const I_PORT = 5;
const I_IPV4 = 6;
const I_WIRE = 7;

const F_CREATED = 0;
export const F_COUNTER = 1;
export const F_TX_PACKETS = 2;
export const F_TX_BYTES = 3;
export const F_LAST_SENT = 4;
export const F_LAST_DATA_SENT = 5;
export const F_FIRST_UNANSWERED = 6;

export interface SendState {
  remoteIndex: number;
  suite: number; // 0 ChaCha20-Poly1305, 1 AES-256-GCM
  keyGen: number;
  port: number;
  ipv4: number; // big-endian address as an unsigned 32-bit number
  /** The native wire's key slot the session was made under (wire-share.ts). */
  wireSlot: number;
  createdMs: number;
  key: Uint8Array; // 32 bytes, filled by read()
}

export function newSendState(): SendState {
  return { remoteIndex: 0, suite: 0, keyGen: 0, port: 0, ipv4: 0, wireSlot: 0, createdMs: 0, key: new Uint8Array(KEY) };
}

export class SendTable {
  readonly sab: SharedArrayBuffer;
  /** Per slot the published ints (I_*); receive.c reads state, port and address here. */
  readonly ints: Int32Array;
  readonly floats: Float64Array;
  /** Per slot the 32-byte send key (fastpath.c reads it under the seqlock). */
  readonly keys: Uint8Array;

  constructor(
    readonly slots: number,
    sab?: SharedArrayBuffer,
  ) {
    const bytes = slots * (FLOATS * 8 + INTS * 4 + KEY);
    this.sab = sab ?? new SharedArrayBuffer(bytes);
    if (this.sab.byteLength !== bytes) throw new RangeError('send table size does not match its slot count');
    this.floats = new Float64Array(this.sab, 0, slots * FLOATS);
    this.ints = new Int32Array(this.sab, slots * FLOATS * 8, slots * INTS);
    this.keys = new Uint8Array(this.sab, slots * (FLOATS * 8 + INTS * 4), slots * KEY);
  }

  /** Main thread: the peer's sendable state, or null when it has none (no keypair, no endpoint). */
  publish(slot: number, s: Omit<SendState, 'key'> & { key: Uint8Array } | null): void {
    const b = slot * INTS;
    Atomics.add(this.ints, b + I_SEQ, 1); // odd: writing
    if (s) {
      this.ints[b + I_REMOTE] = s.remoteIndex | 0;
      this.ints[b + I_SUITE] = s.suite;
      this.ints[b + I_KEYGEN] = s.keyGen;
      this.ints[b + I_PORT] = s.port;
      this.ints[b + I_IPV4] = s.ipv4 | 0;
      this.ints[b + I_WIRE] = s.wireSlot;
      this.floats[slot * FLOATS + F_CREATED] = s.createdMs;
      this.keys.set(s.key, slot * KEY);
      this.ints[b + I_STATE] = 1;
    } else {
      this.ints[b + I_STATE] = 0;
      this.keys.fill(0, slot * KEY, slot * KEY + KEY);
    }
    Atomics.add(this.ints, b + I_SEQ, 1); // even: done
  }

  /** Worker: a consistent copy of the slot into `out`; false when the peer has nothing sendable. */
  read(slot: number, out: SendState): boolean {
    const b = slot * INTS;
    for (let tries = 0; tries < 100; tries++) {
      const s1 = Atomics.load(this.ints, b + I_SEQ);
      if (s1 & 1) continue;
      const state = this.ints[b + I_STATE];
      out.remoteIndex = (this.ints[b + I_REMOTE] ?? 0) >>> 0;
      out.suite = this.ints[b + I_SUITE] ?? 0;
      out.keyGen = this.ints[b + I_KEYGEN] ?? 0;
      out.port = this.ints[b + I_PORT] ?? 0;
      out.ipv4 = (this.ints[b + I_IPV4] ?? 0) >>> 0;
      out.wireSlot = this.ints[b + I_WIRE] ?? 0;
      out.createdMs = this.floats[slot * FLOATS + F_CREATED] ?? 0;
      out.key.set(this.keys.subarray(slot * KEY, slot * KEY + KEY));
      if (Atomics.load(this.ints, b + I_SEQ) === s1) return state === 1;
    }
    return false;
  }

  /** The generation of the slot's key, cheap to compare before a full read. */
  seq(slot: number): number {
    return Atomics.load(this.ints, slot * INTS + I_SEQ);
  }

  get(slot: number, field: number): number {
    return this.floats[slot * FLOATS + field] ?? 0;
  }

  set(slot: number, field: number, value: number): void {
    this.floats[slot * FLOATS + field] = value;
  }
}
