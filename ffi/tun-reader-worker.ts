// The TUN reader thread. Stages, in order:
//   1. wait for room: if the ring is full, Atomics.wait on TAIL (backpressure, with a timeout so
//      STOP is seen)
//   2. read a batch: wait up to pollMs in poll(POLLIN), then read packets until EAGAIN or the
//      batch limit, straight into ring slots
//   3. publish: Atomics.store HEAD, Atomics.notify the main thread

import { pollFds, POLLIN, readInto, strerror } from './libc.ts';
import { readBatch } from './tun-batch.ts';
import { HEAD, RING_FULL, ringViews, STOP, TAIL, type WorkerReport, type WorkerStart } from './tun-ring.ts';

declare const self: Worker;

const EAGAIN = 11;
const EINTR = 4;

function run(start: WorkerStart): WorkerReport {
  const { fd, ring, batch, pollMs, mode } = start;
  const { slots, slotSize } = ring;
  const { control, lens, data } = ringViews(ring);
  const mask = slots - 1;

  // Per-packet variant: one Uint8Array per slot, full slot length, made once.
  const slotViews: Uint8Array[] = [];
  const pollfd = new Uint8Array(8);
  if (mode === 'ffi') {
    for (let i = 0; i < slots; i++) slotViews.push(data.subarray(i * slotSize, (i + 1) * slotSize));
    new DataView(pollfd.buffer).setInt32(0, fd, true);
    new DataView(pollfd.buffer).setInt16(4, POLLIN, true);
  }

  let head = Atomics.load(control, HEAD);
  while (Atomics.load(control, STOP) === 0) {
    const tail = Atomics.load(control, TAIL);
    const free = slots - ((head - tail) | 0);
    if (free === 0) {
      Atomics.add(control, RING_FULL, 1);
      Atomics.wait(control, TAIL, tail, pollMs);
      continue;
    }
    const max = Math.min(free, batch);
    let n: number;
    if (mode === 'cc') {
      n = readBatch(fd, pollMs, data, lens, slots, slotSize, head & mask, max);
    } else {
      n = 0;
      let polled = false;
      while (n < max) {
        const slot = (head + n) & mask;
        const r = readInto(fd, slotViews[slot]!);
        if (r >= 0) {
          lens[slot] = r;
          n++;
          continue;
        }
        if (r === -EINTR) continue;
        if (r !== -EAGAIN) {
          if (n === 0) n = r;
          break;
        }
        if (n > 0 || polled) break;
        const p = pollFds(pollfd, 1, pollMs);
        if (p === 0) break;
        if (p < 0 && p !== -EINTR) {
          n = p;
          break;
        }
        polled = true;
      }
    }
    if (n < 0) {
      return { type: 'error', errno: -n, call: 'read', message: `Reading from the TUN device failed: ${strerror(-n)} (errno ${-n})` };
    }
    if (n > 0) {
      head = (head + n) | 0;
      Atomics.store(control, HEAD, head);
      Atomics.notify(control, HEAD);
    }
  }
  return { type: 'stopped' };
}

self.onmessage = (event: MessageEvent<WorkerStart>) => {
  const report = run(event.data);
  self.postMessage(report);
};
