// What the data-plane worker needs to open a peer's data messages, shared through one
// SharedArrayBuffer: every receiving keypair by its local index, and per peer slot what the
// worker received (for the main thread's timers and status).
//
// Keypairs: an entry per local index, at (index & mask) — the device allocates local indices so
// that no two live ones share those low bits (session/index-table.ts), so a lookup is one read.
//   ints    seq, index, state, peer slot, suite, wire slot — written by the main thread under a
//           seqlock (seq odd while writing; a reader retries when it was odd or moved)
//   float   fastUntilMs: past it the worker hands the session's messages to the main thread,
//           which rekeys (§6.2) or drops them
//   key     32 bytes, under the same seqlock
//   replay  the session's replay window (session/replay.ts): the worker accepts direct messages
//           into it and the main thread relayed ones, under the table's mutex (ffi/mutex.ts, the
//           first MUTEX_BYTES of the buffer, so whoever shares the table shares its lock; the
//           worker's native code takes it too)
// State: 0 none · 1 open and deliver · 2 open and hand to the main thread (a responder's session
// not yet confirmed: the main thread promotes it on its first message).
//
// Received, per peer slot (float64s, written by the worker only): last received, packets, bytes.

import { REPLAY_WORDS, acceptCounter, resetWindow, type Replay } from '../session/replay.ts';
import { MUTEX_BYTES, SharedMutex } from '../../ffi/mutex.ts';

const E_SEQ = 0;
const E_INDEX = 1;
const E_STATE = 2;
const E_PEER = 3;
const E_SUITE = 4;
const E_WIRE = 5;
const E_FAST_UNTIL = 6; // float64 at word 6
const E_KEY = 8; // 8 words
const E_REPLAY = 16;
const ENTRY_WORDS = E_REPLAY + REPLAY_WORDS;

export const STATE_NONE = 0;
export const STATE_OPEN = 1;
export const STATE_TO_MAIN = 2;

const RX_FIELDS = 4;
export const RX_LAST = 0;
export const RX_PACKETS = 1;
export const RX_BYTES = 2;
export const RX_KEEPALIVES = 3;

export interface ReceiveState {
  state: number;
  peerSlot: number;
  suite: number;
  wireSlot: number;
  fastUntilMs: number;
  key: Uint8Array; // 32 bytes, filled by read()
}

export function newReceiveState(): ReceiveState {
  return { state: 0, peerSlot: 0, suite: 0, wireSlot: 0, fastUntilMs: 0, key: new Uint8Array(32) };
}

/** Entries for `peers` peers: a power of two at least 8 per peer (three sessions and a handshake each, half full). */
export function receiveCapacity(peers: number): number {
  let n = 16;
  while (n < peers * 8) n *= 2;
  return n;
}

export class ReceiveTable {
  readonly sab: SharedArrayBuffer;
  readonly rxSab: SharedArrayBuffer;
  readonly mask: number;
  /** The entries (after the mutex), as the native code is handed them. */
  readonly words: Int32Array;
  /** The mutex's bytes, as the native code is handed them. */
  readonly mutexBytes: Uint8Array;
  private readonly floats: Float64Array;
  private readonly bytes: Uint8Array;
  readonly rx: Float64Array;
  /** Every change and accept takes it. */
  private readonly mutex: SharedMutex;

  constructor(
    readonly capacity: number,
    readonly peers: number,
    sab?: SharedArrayBuffer,
    rxSab?: SharedArrayBuffer,
  ) {
    if (capacity & (capacity - 1)) throw new RangeError('receive table capacity must be a power of two');
    this.mask = capacity - 1;
    const bytes = MUTEX_BYTES + capacity * ENTRY_WORDS * 4;
    this.sab = sab ?? new SharedArrayBuffer(bytes);
    this.rxSab = rxSab ?? new SharedArrayBuffer(peers * RX_FIELDS * 8);
    if (this.sab.byteLength !== bytes) throw new RangeError('receive table size does not match its capacity');
    this.mutex = new SharedMutex(this.sab);
    this.mutexBytes = new Uint8Array(this.sab, 0, MUTEX_BYTES);
    this.words = new Int32Array(this.sab, MUTEX_BYTES);
    this.floats = new Float64Array(this.sab, MUTEX_BYTES);
    this.bytes = new Uint8Array(this.sab, MUTEX_BYTES);
    this.rx = new Float64Array(this.rxSab);
  }

  // ------------------------------------------------------------ the main thread

  /** Publishes a session's receive key at its local index; returns its replay window (shared). */
  add(index: number, s: Omit<ReceiveState, 'key'>, key: Uint8Array): Replay {
    const b = (index & this.mask) * ENTRY_WORDS;
    const w = this.words;
    this.mutex.lock();
    Atomics.add(w, b + E_SEQ, 1);
    w[b + E_INDEX] = index | 0;
    w[b + E_PEER] = s.peerSlot;
    w[b + E_SUITE] = s.suite;
    w[b + E_WIRE] = s.wireSlot;
    this.floats[(b + E_FAST_UNTIL) >> 1] = s.fastUntilMs;
    this.bytes.set(key, (b + E_KEY) * 4);
    resetWindow(w, b + E_REPLAY);
    w[b + E_STATE] = s.state;
    Atomics.add(w, b + E_SEQ, 1);
    this.mutex.unlock();
    return { accept: (counter, limit) => this.accept(index, counter, limit) };
  }

  /** Changes a session's state (a responder's session confirmed: STATE_OPEN). */
  setState(index: number, state: number): void {
    const b = (index & this.mask) * ENTRY_WORDS;
    const w = this.words;
    this.mutex.lock();
    if (w[b + E_INDEX] === (index | 0)) {
      Atomics.add(w, b + E_SEQ, 1);
      w[b + E_STATE] = state;
      Atomics.add(w, b + E_SEQ, 1);
    }
    this.mutex.unlock();
  }

  /** Withdraws a session (retired): its key is wiped here too. */
  remove(index: number): void {
    const b = (index & this.mask) * ENTRY_WORDS;
    const w = this.words;
    if (w[b + E_INDEX] !== (index | 0)) return;
    this.mutex.lock();
    Atomics.add(w, b + E_SEQ, 1);
    w[b + E_STATE] = STATE_NONE;
    w[b + E_INDEX] = 0;
    w.fill(0, b + E_KEY, b + E_KEY + 8);
    Atomics.add(w, b + E_SEQ, 1);
    this.mutex.unlock();
  }

  /** What the worker received for a peer slot (RX_*). */
  received(slot: number, field: number): number {
    return this.rx[slot * RX_FIELDS + field] ?? 0;
  }

  // ------------------------------------------------------------ the worker

  /** A consistent copy of the session at `index` into `out`: its state (STATE_NONE: not ours). */
  read(index: number, out: ReceiveState): number {
    const b = (index & this.mask) * ENTRY_WORDS;
    const w = this.words;
    for (let tries = 0; tries < 100; tries++) {
      const s1 = Atomics.load(w, b + E_SEQ);
      if (s1 & 1) continue;
      if (w[b + E_INDEX] !== (index | 0)) return (out.state = STATE_NONE);
      out.state = w[b + E_STATE] ?? 0;
      out.peerSlot = w[b + E_PEER] ?? 0;
      out.suite = w[b + E_SUITE] ?? 0;
      out.wireSlot = w[b + E_WIRE] ?? 0;
      out.fastUntilMs = this.floats[(b + E_FAST_UNTIL) >> 1] ?? 0;
      out.key.set(this.bytes.subarray((b + E_KEY) * 4, (b + E_KEY) * 4 + 32));
      if (Atomics.load(w, b + E_SEQ) === s1) return out.state;
    }
    return (out.state = STATE_NONE);
  }

  /** Accepts an authenticated counter into the session's window, if the session is still there. */
  accept(index: number, counter: number, limit: number): boolean {
    const b = (index & this.mask) * ENTRY_WORDS;
    const w = this.words;
    this.mutex.lock();
    try {
      if (w[b + E_INDEX] !== (index | 0) || w[b + E_STATE] === STATE_NONE) return false;
      return acceptCounter(w, this.floats, b + E_REPLAY, counter, limit);
    } finally {
      this.mutex.unlock();
    }
  }

  /** The worker's count of what it received for a peer slot. */
  count(slot: number, t: number, bytes: number, keepalive: boolean): void {
    const r = this.rx;
    const o = slot * RX_FIELDS;
    r[o + RX_LAST] = t;
    if (keepalive) r[o + RX_KEEPALIVES] = (r[o + RX_KEEPALIVES] ?? 0) + 1;
    else {
      r[o + RX_PACKETS] = (r[o + RX_PACKETS] ?? 0) + 1;
      r[o + RX_BYTES] = (r[o + RX_BYTES] ?? 0) + bytes;
    }
  }
}
