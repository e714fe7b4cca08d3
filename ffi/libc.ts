// libc through bun:ffi: the raw symbols stay in this file; what leaves it is errno-checked
// wrappers that take Uint8Array/Int32Array and numbers, never a pointer.
//
// errno is thread-local. We cache this thread's `__errno_location()` once (it is constant per
// thread; a Worker importing this file gets its own module instance and so its own pointer) and
// read it as the very next FFI operation after a call returned -1, before any JS that could
// allocate and make the runtime issue syscalls of its own.

import { dlopen, FFIType, read as peek, type Pointer } from 'bun:ffi';
import { ERRNO, kindOfErrno, SysError } from './sys-error.ts';

export { ERRNO, SysError, kindOfErrno, type SysErrorKind } from './sys-error.ts';

/** fcntl.h on Linux x86_64 and arm64 (asm-generic/fcntl.h). */
export const O_RDWR = 0o2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const F_GETFL = 3;
/** poll.h (asm-generic/poll.h). */
export const POLLIN = 0x1;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;

const lib = dlopen('libc.so.6', {
  open: { args: [FFIType.cstring, FFIType.i32, FFIType.u32], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  // ioctl is variadic; on the SysV/AAPCS64 ABIs a fixed-arity binding is call-compatible.
  // Two bindings: requests that take a pointer (TUNSETIFF) and those taking an int by value
  // (TUNSETOFFLOAD).
  ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
  // ssize_t declared as i32: a TUN packet is < 2^31 bytes, and i32 returns stay on the JIT's
  // fast path (FACTS.md).
  read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  write: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
  strerror: { args: [FFIType.i32], returns: FFIType.cstring },
});
// A second handle binds `ioctl` again with the integer-by-value signature.
const ioctlByValue = dlopen('libc.so.6', {
  ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
}).symbols.ioctl;

const sys = lib.symbols;
const errnoPointer = sys.__errno_location() as Pointer;

/** errno of the last failed call on this thread. Call it right after the failure. */
export function lastErrno(): number {
  return peek.i32(errnoPointer, 0);
}

export function strerror(errno: number): string {
  return sys.strerror(errno) ?? `errno ${errno}`;
}

function fail(call: string, errno: number): SysError {
  return new SysError(kindOfErrno(errno), errno, call, `${call} failed: ${strerror(errno)} (errno ${errno})`);
}

/** open(2). Returns the fd; throws SysError with the errno otherwise. */
export function open(path: string, flags: number, mode = 0): number {
  const fd = sys.open(Buffer.from(`${path}\0`), flags, mode);
  if (fd < 0) throw fail(`open(${path})`, lastErrno());
  return fd;
}

export function close(fd: number): void {
  // close(2): the fd is released even when close reports EINTR/EIO, so never retry.
  if (sys.close(fd) < 0) {
    const errno = lastErrno();
    if (errno !== ERRNO.EINTR) throw fail('close', errno);
  }
}

/** ioctl(2) with a pointer argument (a struct the kernel may read and write). */
export function ioctlPtr(fd: number, request: number, arg: Uint8Array, name: string): void {
  if (sys.ioctl(fd, request, arg) < 0) throw fail(`ioctl(${name})`, lastErrno());
}

/** ioctl(2) with an integer passed by value. */
export function ioctlInt(fd: number, request: number, arg: number, name: string): void {
  if (ioctlByValue(fd, request, arg) < 0) throw fail(`ioctl(${name})`, lastErrno());
}

export function fcntl(fd: number, cmd: number, arg = 0): number {
  const r = sys.fcntl(fd, cmd, arg);
  if (r < 0) throw fail('fcntl', lastErrno());
  return r;
}

/** read(2) into `buf`. Returns bytes read, or -errno (e.g. -EAGAIN) without throwing: the hot
 * path decides what an errno means. */
export function readInto(fd: number, buf: Uint8Array): number {
  const n = sys.read(fd, buf, buf.byteLength);
  return n >= 0 ? n : -lastErrno();
}

/** write(2) of `buf`. Returns bytes written, or -errno without throwing. */
export function writeFrom(fd: number, buf: Uint8Array): number {
  const n = sys.write(fd, buf, buf.byteLength);
  return n >= 0 ? n : -lastErrno();
}

/** poll(2) on `pollfds` (struct pollfd[]: int fd, short events, short revents — 8 bytes each).
 * Returns the number ready, 0 on timeout, or -errno. */
export function pollFds(pollfds: Uint8Array, count: number, timeoutMs: number): number {
  const n = sys.poll(pollfds, count, timeoutMs);
  return n >= 0 ? n : -lastErrno();
}

/** Throws the SysError for a negative errno returned by readInto/writeFrom/pollFds. */
export function throwErrno(call: string, negErrno: number): never {
  throw fail(call, -negErrno);
}
