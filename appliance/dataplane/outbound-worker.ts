// The data plane's thread (outbound-loop.ts; its native loop in ffi/fastpath.c): warm the
// JavaScript loop on made-up traffic when it is the one that will run, then run until STOP.

import { runOutbound, warmOutbound } from './outbound-loop.ts';
import { loadFastPath } from '../../ffi/fastpath.ts';
import { warmupEnabled, type OutboundInit } from './outbound-protocol.ts';

declare const self: Worker;

self.onmessage = (event: MessageEvent<OutboundInit>) => {
  // The native loop (ffi/fastpath.c) needs no JIT warm-up; the JavaScript paths only run without it.
  const native = (event.data.udpFd ?? -1) >= 0 && loadFastPath() !== null;
  if (warmupEnabled() && !native) {
    warmOutbound(event.data);
    Bun.gc(true);
  }
  self.postMessage(runOutbound(event.data));
};
