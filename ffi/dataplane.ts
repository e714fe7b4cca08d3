// The outbound worker's native calls (dataplane.c through bun:ffi `cc`) and the eventfd doorbell
// the main thread rings to wake it. Each thread that imports this compiles its own copy.

import { cc, dlopen, FFIType } from 'bun:ffi';

const source = new URL('./dataplane.c', import.meta.url).pathname;

function compile() {
  return cc({
    source,
    symbols: {
      dp_wait: { args: ['i32', 'i32', 'i32'], returns: 'i32' },
      dp_send_batch: { args: ['i32', 'ptr', 'ptr', 'ptr', 'ptr', 'i32'], returns: 'i32' },
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

/** Waits until the TUN fd or the eventfd is readable (bits WAIT_TUN, WAIT_WAKE), 0 on timeout, or -errno. */
export function waitTunOrWake(tunFd: number, eventFd: number, timeoutMs: number): number {
  return native().dp_wait(tunFd, eventFd, timeoutMs);
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
