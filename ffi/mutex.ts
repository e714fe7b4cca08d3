// A pthread mutex in shared memory, for the JavaScript side of a lock the data-plane worker's
// native code (ffi/fastpath.c) takes too: TinyCC, which compiles that code, has no atomic
// instructions, so the two threads meet on libc's mutex instead of an Atomics lock word.
// All-zero memory is an unlocked default mutex (PTHREAD_MUTEX_INITIALIZER, glibc and musl).

import { dlopen, FFIType, ptr, type Pointer } from 'bun:ffi';

/** Bytes reserved for one mutex (pthread_mutex_t is 40 bytes on x86_64 and 48 on arm64). */
export const MUTEX_BYTES = 64;

let lib: { lock: (p: Pointer) => number; unlock: (p: Pointer) => number } | undefined;

function libc(): NonNullable<typeof lib> {
  if (lib) return lib;
  const symbols = { pthread_mutex_lock: { args: [FFIType.ptr], returns: FFIType.i32 }, pthread_mutex_unlock: { args: [FFIType.ptr], returns: FFIType.i32 } } as const;
  let l;
  try {
    l = dlopen('libc.so.6', symbols);
  } catch {
    l = dlopen('libpthread.so.0', symbols); // glibc before 2.34
  }
  lib = { lock: (p) => l.symbols.pthread_mutex_lock(p), unlock: (p) => l.symbols.pthread_mutex_unlock(p) };
  return lib;
}

export class SharedMutex {
  private readonly address: Pointer;

  constructor(readonly sab: SharedArrayBuffer = new SharedArrayBuffer(MUTEX_BYTES)) {
    if (sab.byteLength < MUTEX_BYTES) throw new RangeError('a shared mutex needs 64 bytes');
    this.address = ptr(new Uint8Array(sab));
  }

  lock(): void {
    libc().lock(this.address);
  }

  unlock(): void {
    libc().unlock(this.address);
  }
}
