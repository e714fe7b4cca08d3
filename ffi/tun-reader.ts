// Reads a TUN fd on a Worker thread and hands packets to the main thread in batches, without
// busy polling: the Worker blocks in poll(2); the main thread sleeps in Atomics.waitAsync until
// the Worker publishes a new HEAD. Stages on the main thread:
//   1. wait: Atomics.waitAsync on HEAD while the ring is empty
//   2. deliver: one onBatch call with views of every packet published so far
//   3. release: Atomics.store TAIL (and notify, in case the Worker waits for room)
// Ring layout and ordering rules: tun-ring.ts.

import { SysError, kindOfErrno } from './sys-error.ts';
import { createRing, HEAD, RING_FULL, ringViews, STOP, TAIL, type RingViews, type WorkerReport, type WorkerStart } from './tun-ring.ts';

export interface TunReaderOptions {
  /** Ring slots, a power of two; default 512. */
  slots?: number;
  /** Bytes per slot, at least the link MTU; default 2048. */
  slotSize?: number;
  /** Internal, for scripts/bench/tun-io.ts: 'cc' (default, TinyCC batch read) or 'ffi'
   * (one bun:ffi read per packet). */
  mode?: 'cc' | 'ffi';
  /**
   * Another worker speaking the same ring protocol (it produces into the ring, answers STOP,
   * reports 'stopped'/'error'); default tun-reader-worker.ts. The outbound data-plane worker
   * uses this to hand the main thread only the packets it cannot send itself.
   */
  worker?: URL;
  /** Extra fields merged into that worker's start message (must be structured-cloneable). */
  init?: Record<string, unknown>;
}

export interface TunReaderStats {
  packets: number;
  batches: number;
  /** Times the Worker found the ring full and waited for the main thread. */
  ringFull: number;
}

/** Packets per read batch in the Worker (FACTS.md: 64 was best). */
const READ_BATCH = 64;
/** Longest a Worker poll blocks, which bounds how long stop() waits. */
const POLL_MS = 100;

export class TunReader {
  private readonly ring;
  private readonly views: RingViews;
  private readonly packets: Uint8Array[];
  private readonly mode: 'cc' | 'ffi';
  private readonly workerUrl: URL;
  private readonly init: Record<string, unknown>;
  private worker: Worker | undefined;
  private stopping: Promise<void> | undefined;
  /** Resolves when the Worker has left its loop (reported 'stopped' or 'error'). */
  private stopped: Promise<void> = Promise.resolve();
  private counts = { packets: 0, batches: 0 };

  constructor(
    private readonly fd: number,
    opts: TunReaderOptions = {},
  ) {
    this.ring = createRing(opts.slots ?? 512, opts.slotSize ?? 2048);
    this.views = ringViews(this.ring);
    this.packets = new Array<Uint8Array>(this.ring.slots);
    this.mode = opts.mode ?? 'cc';
    this.workerUrl = opts.worker ?? new URL('./tun-reader-worker.ts', import.meta.url);
    this.init = opts.init ?? {};
  }

  get stats(): Readonly<TunReaderStats> {
    return { ...this.counts, ringFull: Atomics.load(this.views.control, RING_FULL) };
  }

  /** Starts reading. packets[0..count) are views into the shared ring, valid only during the
   * callback (copy what you keep). Called on the main thread. A read error other than EAGAIN
   * (e.g. the device was deleted) stops the reader and is passed to onError (default: thrown
   * from the event loop). An exception thrown by onBatch ends delivery (the ring is released
   * first) and surfaces as an unhandled rejection: it is a bug in the caller. */
  start(onBatch: (packets: Uint8Array[], count: number) => void, onError?: (error: SysError) => void): void {
    if (this.worker !== undefined) throw new Error('TunReader.start called twice: create a new TunReader to restart');
    const worker = new Worker(this.workerUrl.href);
    this.worker = worker;
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
    worker.onmessage = (event: MessageEvent<WorkerReport>) => {
      const report = event.data;
      Atomics.store(this.views.control, STOP, 1);
      Atomics.notify(this.views.control, HEAD);
      resolveStopped();
      if (report.type === 'error') {
        const error = new SysError(kindOfErrno(report.errno), report.errno, report.call, report.message);
        if (onError) onError(error);
        else throw error;
      }
    };
    this.stopped = stopped;
    const start: WorkerStart = { fd: this.fd, ring: this.ring, batch: READ_BATCH, pollMs: POLL_MS, mode: this.mode };
    worker.postMessage({ ...this.init, ...start });
    void this.deliver(onBatch);
  }

  /** Stops the Worker (within one poll interval, ≤ 100 ms) and the delivery loop. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const { control } = this.views;
      Atomics.store(control, STOP, 1);
      Atomics.notify(control, TAIL); // wake a Worker waiting for room
      Atomics.notify(control, HEAD); // wake our own delivery loop
      const worker = this.worker;
      if (worker === undefined) return;
      await this.stopped;
      worker.terminate();
    })();
    return this.stopping;
  }

  private async deliver(onBatch: (packets: Uint8Array[], count: number) => void): Promise<void> {
    const { control, lens } = this.views;
    const { slots, slotSize, sab } = this.ring;
    const dataOffset = this.views.data.byteOffset;
    const mask = slots - 1;
    const packets = this.packets;
    let tail = Atomics.load(control, TAIL);
    while (Atomics.load(control, STOP) === 0) {
      const head = Atomics.load(control, HEAD);
      if (head === tail) {
        const wait = Atomics.waitAsync(control, HEAD, head);
        if (wait.async) await wait.value;
        continue;
      }
      const count = (head - tail) | 0;
      for (let i = 0; i < count; i++) {
        const slot = (tail + i) & mask;
        packets[i] = new Uint8Array(sab, dataOffset + slot * slotSize, lens[slot]!);
      }
      this.counts.packets += count;
      this.counts.batches++;
      try {
        onBatch(packets, count);
      } finally {
        tail = head;
        Atomics.store(control, TAIL, tail);
        Atomics.notify(control, TAIL);
      }
    }
  }
}
