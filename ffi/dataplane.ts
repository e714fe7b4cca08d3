// The data-plane worker's native calls (dataplane.c through bun:ffi `cc`) and the eventfd doorbell
// the main thread rings to wake it. Each thread that imports this compiles its own copy.

import { cc, dlopen, FFIType } from 'bun:ffi';

const source = new URL('./dataplane.c', import.meta.url).pathname;

function compile() {
  return cc({
    source,
    symbols: {
      dp_wait: { args: ['i32', 'i32', 'i32', 'i32'], returns: 'i32' },
      dp_send_batch: { args: ['i32', 'ptr', 'ptr', 'ptr', 'ptr', 'i32'], returns: 'i32' },
      dp_recv_batch: { args: ['i32', 'ptr', 'i32', 'ptr', 'ptr', 'i32'], returns: 'i32' },
      dp_write_batch: { args: ['i32', 'ptr', 'ptr', 'ptr', 'i32'], returns: 'i32' },
      dp_udp_open: { args: ['i32'], returns: 'i32' },
      dp_udp_port: { args: ['i32'], returns: 'i32' },
      dp_send_to: { args: ['i32', 'ptr', 'i32', 'ptr'], returns: 'i32' },
    },
  }).symbols;
}

let compiled: ReturnType<typeof compile> | undefined;
function native(): ReturnType<typeof compile> {
  compiled ??= compile();
  return compiled;
}

export const WAIT_TUN = 1;
export const WAIT_WAKE = 2;
export const WAIT_UDP = 4;

/** Waits until the TUN fd, the eventfd or the UDP socket (udpFd < 0: not watched) is readable
 * (bits WAIT_TUN, WAIT_WAKE, WAIT_UDP), 0 on timeout, or -errno. */
export function waitTunOrWake(tunFd: number, eventFd: number, timeoutMs: number, udpFd = -1): number {
  return native().dp_wait(tunFd, eventFd, udpFd, timeoutMs);
}

/** Up to `max` datagrams without blocking: datagram i at arena[i*slotBytes..], lens[i] (-1: longer
 * than a slot), its source sockaddr_in at addrs[16i..]. The count, 0 when none waits, or -errno. */
export function recvBatch(fd: number, arena: Uint8Array, slotBytes: number, lens: Int32Array, addrs: Uint8Array, max: number): number {
  return native().dp_recv_batch(fd, arena, slotBytes, lens, addrs, max);
}

/** Writes packets i < n (arena[offs[i], +lens[i])) to a TUN fd; how many it took. */
export function writeBatch(fd: number, arena: Uint8Array, offs: Int32Array, lens: Int32Array, n: number): number {
  return native().dp_write_batch(fd, arena, offs, lens, n);
}

/** The tunnel's own UDP socket (IPv4, non-blocking) bound to 0.0.0.0:port; throws with the reason. */
export function openUdpSocket(port: number): { fd: number; port: number } {
  const fd = native().dp_udp_open(port);
  if (fd < 0) throw new Error(`${-fd === 98 ? 'the port is in use' : `bind failed (errno ${-fd})`}`);
  const bound = native().dp_udp_port(fd);
  return { fd, port: bound };
}

const ADDR = new Uint8Array(16);

/** One datagram to an IPv4 address (a big-endian u32) and port: bytes sent or -errno. */
export function sendTo(fd: number, data: Uint8Array, port: number, ipv4: number): number {
  ADDR[0] = 2;
  ADDR[1] = 0;
  ADDR[2] = port >>> 8;
  ADDR[3] = port & 0xff;
  ADDR[4] = ipv4 >>> 24;
  ADDR[5] = (ipv4 >>> 16) & 0xff;
  ADDR[6] = (ipv4 >>> 8) & 0xff;
  ADDR[7] = ipv4 & 0xff;
  return native().dp_send_to(fd, data, data.length, ADDR);
}

/** Closes a descriptor this module opened (the UDP socket). */
export function closeFd(fd: number): void {
  libc.symbols.close(fd);
}

/** Sends datagrams i < n: arena[offs[i], +lens[i]) to the sockaddr_in at addrs[16i..]. Returns the count sent or -errno. */
export function sendBatch(fd: number, arena: Uint8Array, offs: Int32Array, lens: Int32Array, addrs: Uint8Array, n: number): number {
  return native().dp_send_batch(fd, arena, offs, lens, addrs, n);
}

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const libc = dlopen('libc.so.6', {
  eventfd: { args: [FFIType.u32, FFIType.i32], returns: FFIType.i32 },
  write: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
});
const ONE = new BigUint64Array([1n]);
const SINK = new BigUint64Array(1);

/** A non-blocking eventfd: the main thread rings it, the worker's poll wakes. */
export function createDoorbell(): number {
  const fd = libc.symbols.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw new Error('eventfd failed: cannot create the data plane wake-up descriptor');
  return fd;
}

export function ring(fd: number): void {
  libc.symbols.write(fd, ONE, 8);
}

/** Clears a rung doorbell (the counter resets on read). */
export function drain(fd: number): void {
  libc.symbols.read(fd, SINK, 8);
}

export function closeDoorbell(fd: number): void {
  libc.symbols.close(fd);
}
