// Typed errors for failed system calls. Every FFI boundary in ffi/ throws SysError, never a bare
// errno, so callers switch on `kind` and users read a message that says what to do next.

/** Linux x86_64/arm64 errno values (asm-generic/errno-base.h, asm-generic/errno.h). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  ENODEV: 19,
  EINVAL: 22,
  ENXIO: 6,
  EBADFD: 77,
  ENOBUFS: 105,
} as const;

export type SysErrorKind = 'no-tun-device' | 'permission' | 'busy' | 'invalid-argument' | 'io';

export class SysError extends Error {
  override readonly name = 'SysError';
  constructor(
    readonly kind: SysErrorKind,
    /** errno of the failing call; 0 when the error was found before any call (bad arguments). */
    readonly errno: number,
    /** The call that failed, e.g. `ioctl(TUNSETIFF)`. */
    readonly call: string,
    message: string,
  ) {
    super(message);
  }
}

/** Maps an errno to the kind a caller can act on; anything unexpected is 'io'. */
export function kindOfErrno(errno: number): SysErrorKind {
  switch (errno) {
    case ERRNO.EPERM:
    case ERRNO.EACCES:
      return 'permission';
    case ERRNO.EBUSY:
      return 'busy';
    case ERRNO.EINVAL:
      return 'invalid-argument';
    default:
      return 'io';
  }
}
