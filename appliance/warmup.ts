// Warming the data plane's code before the first real packet.
//
// JavaScriptCore interprets a function until it has run some hundreds of times and optimises it
// after about a thousand. An idle appliance's first packets (a ping every second, a new
// connection's SYN) therefore ran in the interpreter: measured on the lab (scripts/bench/
// rtt-trace.ts, 100 pings), the tunnel's median RTT was 1.32–1.38 ms cold and 0.64–0.82 ms after
// a flood of pings had warmed it (wireguard-go: 0.71 ms), and it stayed warm after 150 s idle.
// So the daemon runs its own hot paths on made-up traffic once at start: the main thread's
// receive path (and the in-process send path) through a throwaway pair of devices (here), and the
// outbound worker its own loop on made-up wake-ups (outbound-loop.ts warmOutbound). No packet
// leaves the process; the keys are throwaway. With it, the cold median went to 0.96–1.02 ms and
// scripts/bench/tunnel's RTT (20 pings right after start) from 1.42 to 0.92–0.94 ms; either half
// alone gained less than half of that. Its cost: ~60 ms of CPU at start and ~3 MB of RSS (the
// Bun executable's optimising-compiler pages, now resident).

import { Device } from './device.ts';
import { parseConfigText } from './config/load.ts';
import { encodeKey } from './config/schema.ts';
import { generatePrivateKey, publicKeyOf } from './noise/crypto.ts';
import type { PaddingMode } from './wire/padding.ts';
import { OutboundHost } from './dataplane/outbound-host.ts';
import { WARM_PACKETS } from './dataplane/outbound-protocol.ts';
export { warmupEnabled } from './dataplane/outbound-protocol.ts';

export interface WarmResult {
  /** Packets that went A → B through both devices and came out of B's (fake) TUN intact. */
  delivered: number;
  sent: number;
  ms: number;
}

/** A made-up UDP-in-IPv4 packet (no checksums): the warm-up's traffic, and tests'. */
export function ipv4(src: number[], dst: number[], size: number): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = 0x45;
  p[2] = size >> 8;
  p[3] = size & 0xff;
  p[8] = 64;
  p[9] = 17;
  p.set(src, 12);
  p.set(dst, 16);
  for (let i = 28; i < size; i++) p[i] = i & 0xff;
  return p;
}

/**
 * Runs `packets` packets each way between two in-process devices with the interface's wire,
 * padding and cipher: handshake, send path, receive path (header, decrypt, replay window,
 * allowed source). Returns what arrived, so a caller (and a test) can see it really ran.
 */
export function warmDevicePaths(opts: {
  wire: 'native' | 'wireguard';
  padding: PaddingMode;
  cipher: string;
  mtu: number;
  /** As the daemon runs: data sent through the outbound worker (its host) or in process. */
  worker: boolean;
  packets?: number;
}): WarmResult {
  const started = performance.now();
  const packets = opts.packets ?? WARM_PACKETS;
  const secret = encodeKey(crypto.getRandomValues(new Uint8Array(32)));
  const [ka, kb] = [generatePrivateKey(), generatePrivateKey()];
  const cfg = (self: Uint8Array, peer: Uint8Array, addr: string, peerNet: string, endpoint: string) => parseConfigText(`
[interface]
name = "warm0"
private_key = "${encodeKey(self)}"
address = ["${addr}/24"]
mtu = ${opts.mtu}
wire = "${opts.wire}"
padding = "${opts.padding}"
cipher = "${opts.cipher}"
[network]
secret = "${secret}"
[[peer]]
public_key = "${encodeKey(publicKeyOf(peer))}"
allowed_ips = ["${peerNet}"]
${endpoint}
`);
  const clock = { t: 1_000 };
  const queues: { a: Uint8Array[]; b: Uint8Array[] } = { a: [], b: [] };
  let delivered = 0;
  // The receiving side is built as the daemon builds its device, so the code is optimised for the
  // types it will meet (a host without a worker: what B queues for sending is simply dropped).
  const host = opts.worker ? new OutboundHost(2, opts.mtu) : undefined;
  const make = (side: 'a' | 'b', text: ReturnType<typeof cfg>): Device => new Device(text, {
    sendMany: (list) => {
      for (let i = 0; i < list.length; i += 3) queues[side].push((list[i] as Uint8Array).slice());
    },
    tunWrite: (p) => {
      if (side === 'b' && p.length === size) delivered++;
      return true;
    },
    now: () => clock.t,
    sender: side === 'b' ? host : undefined,
  });
  const size = Math.min(1280, opts.mtu);
  const a = make('a', cfg(ka, kb, '10.254.0.1', '10.254.0.2/32', 'endpoint = "127.0.0.1:9"'));
  const b = make('b', cfg(kb, ka, '10.254.0.2', '10.254.0.1/32', ''));
  const pump = (): void => {
    for (let round = 0; round < 10 && queues.a.length + queues.b.length > 0; round++) {
      for (const d of queues.a.splice(0)) b.inbound(d, 51820, '127.0.0.1');
      for (const d of queues.b.splice(0)) a.inbound(d, 51820, '127.0.0.1');
    }
  };
  const toB = ipv4([10, 254, 0, 1], [10, 254, 0, 2], size);
  const toA = ipv4([10, 254, 0, 2], [10, 254, 0, 1], 64);
  const batch = [toB];
  const back = [toA];
  try {
    for (let i = 0; i < packets; i++) {
      clock.t += 1;
      a.outbound(batch, 1);
      if (!host) b.outbound(back, 1);
      pump();
    }
  } finally {
    host?.dispose();
  }
  return { delivered, sent: packets, ms: performance.now() - started };
}
