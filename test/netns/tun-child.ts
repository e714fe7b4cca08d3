// Runs inside a namespace made by tun.test.ts (`ip netns exec NS bun tun-child.ts`): opens a real
// TUN, exercises read, write and the error paths, and prints one JSON line of findings for the
// parent to assert on. Exits non-zero only on an unexpected exception.

import { openTun } from '../../ffi/tun.ts';
import { TunReader } from '../../ffi/tun-reader.ts';
import { SysError } from '../../ffi/libc.ts';
import { ipv4Udp } from './tun-packet.ts';

const NAME = 'wtun0';

function ip(...args: string[]): void {
  const r = Bun.spawnSync(['ip', ...args], { stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.toString()}`);
}

function kindOf(f: () => unknown): string {
  try {
    f();
    return 'no error';
  } catch (e) {
    return e instanceof SysError ? e.kind : `not a SysError: ${String(e)}`;
  }
}

const tun = openTun(NAME);
ip('link', 'set', 'lo', 'up');
ip('addr', 'add', '10.200.0.1/24', 'dev', NAME);
// Without IPv6 on the link, the only packets on it are the ones this test sends.
await Bun.write(`/proc/sys/net/ipv6/conf/${NAME}/disable_ipv6`, '1');
ip('link', 'set', NAME, 'up');

// Read: datagrams the kernel routes to the TUN.
const received: Uint8Array[] = [];
const reader = new TunReader(tun.fd, { slots: 64 });
let readError: string | undefined;
reader.start(
  (packets, count) => {
    for (let i = 0; i < count; i++) received.push(packets[i]!.slice());
  },
  (e) => (readError = e.message),
);
const payloads = [1, 100, 1400, 0].map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + k) & 0xff));
const sender = await Bun.udpSocket({ hostname: '10.200.0.1', port: 0 });
for (const p of payloads) sender.send(p, 5555, '10.200.0.2');
for (let t = 0; t < 100 && received.length < payloads.length; t++) await Bun.sleep(20);

// Write: a hand-built IPv4/UDP packet to our own address reaches a listening socket.
const delivered: { data: number[]; port: number; address: string }[] = [];
const listener = await Bun.udpSocket({
  hostname: '10.200.0.1',
  port: 6666,
  socket: {
    data(_s, data, port, address) {
      delivered.push({ data: [...data], port, address });
    },
  },
});
const message = new TextEncoder().encode('written to the TUN');
const wrote = tun.write(ipv4Udp('10.200.0.2', '10.200.0.1', 4242, 6666, message));
for (let t = 0; t < 100 && delivered.length === 0; t++) await Bun.sleep(20);

// Error paths on a real system.
const tooLong = kindOf(() => openTun('wtun-name-too-long'));
const busy = kindOf(() => openTun(NAME));

const t0 = performance.now();
await reader.stop();
const stopMs = performance.now() - t0;
const stats = reader.stats;
const sentPort = sender.port;
sender.close();
listener.close();
tun.close();

console.log(JSON.stringify({
  name: tun.name,
  received: received.map((p) => [...p]),
  readError,
  stats,
  stopMs,
  wrote,
  writeStats: tun.stats,
  delivered,
  sent: [...message],
  sentPort,
  tooLong,
  busy,
}));
