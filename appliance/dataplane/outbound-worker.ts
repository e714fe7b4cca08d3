// The outbound data plane's thread (outbound-loop.ts): warm the loop on made-up traffic, then run
// it on the TUN until the main thread sets STOP.

import { runOutbound, warmOutbound } from './outbound-loop.ts';
import { warmupEnabled, type OutboundInit } from './outbound-protocol.ts';

declare const self: Worker;

self.onmessage = (event: MessageEvent<OutboundInit>) => {
  if (warmupEnabled()) {
    warmOutbound(event.data);
    Bun.gc(true);
  }
  self.postMessage(runOutbound(event.data));
};
