// Opening a Linux TUN device (Documentation/networking/tuntap.rst) and writing packets to it.
// Reading is off the main thread: see tun-reader.ts. Bringing the link up, MTU and addresses are
// done elsewhere with `ip`.

import { close, ERRNO, ioctlPtr, O_CLOEXEC, O_NONBLOCK, O_RDWR, open, strerror, SysError, writeFrom } from './libc.ts';

/** IFNAMSIZ (include/uapi/linux/if.h) counts the trailing NUL: names are at most 15 bytes. */
export const IFNAMSIZ = 16;
/** sizeof(struct ifreq) on x86_64 and arm64; ifr_name at 0, ifr_flags (u16) at 16. */
export const IFREQ_SIZE = 40;
/** include/uapi/linux/if_tun.h */
export const TUNSETIFF = 0x400454ca;
export const IFF_TUN = 0x0001;
export const IFF_NO_PI = 0x1000;

const TUN_PATH = '/dev/net/tun';

export interface TunStats {
  /** Packets the kernel accepted. */
  written: number;
  /** Packets dropped because the device queue was full (EAGAIN/ENOBUFS). */
  dropped: number;
}

export interface TunDevice {
  readonly fd: number;
  /** The name the kernel gave the device (differs from the request only for `%d` templates). */
  readonly name: string;
  readonly stats: Readonly<TunStats>;
  /** Writes one IP packet. false = dropped because the queue was full (EAGAIN/ENOBUFS), counted
   * in stats.dropped. Throws SysError kind 'io' if the device is gone or the packet invalid. */
  write(packet: Uint8Array): boolean;
  close(): void;
}

/** Checks an interface name the way the kernel does (dev_valid_name in net/core/dev.c). */
export function validateTunName(name: string): void {
  const bytes = new TextEncoder().encode(name).byteLength;
  let problem: string | undefined;
  if (bytes === 0) problem = 'is empty';
  else if (bytes >= IFNAMSIZ) problem = `is ${bytes} bytes; Linux allows at most ${IFNAMSIZ - 1}`;
  else if (name === '.' || name === '..') problem = 'is reserved';
  else if (/[/:\s]/.test(name)) problem = "contains '/', ':' or whitespace";
  if (problem !== undefined) {
    throw new SysError('invalid-argument', 0, 'openTun', `TUN name "${name}" ${problem}: choose a shorter plain name such as "warren0"`);
  }
}

/** struct ifreq for TUNSETIFF: the name, then IFF_TUN | IFF_NO_PI (no 4-byte packet-info header). */
export function tunIfreq(name: string): Uint8Array {
  validateTunName(name);
  const ifr = new Uint8Array(IFREQ_SIZE);
  ifr.set(new TextEncoder().encode(name), 0);
  new DataView(ifr.buffer).setUint16(16, IFF_TUN | IFF_NO_PI, true);
  return ifr;
}

/** The typed error for a failed open of /dev/net/tun or TUNSETIFF, with what to do next. */
export function tunOpenError(errno: number, call: string, name: string): SysError {
  switch (errno) {
    case ERRNO.ENOENT:
    case ERRNO.ENODEV:
    case ERRNO.ENXIO:
      return new SysError('no-tun-device', errno, call,
        'TUN device /dev/net/tun is missing: load the tun module (modprobe tun) or run where /dev/net/tun exists');
    case ERRNO.EPERM:
    case ERRNO.EACCES:
      return new SysError('permission', errno, call,
        `Not allowed to create TUN device "${name}": run as root or grant CAP_NET_ADMIN (e.g. setcap cap_net_admin+ep on the binary)`);
    case ERRNO.EBUSY:
      return new SysError('busy', errno, call,
        `TUN device "${name}" is already in use by another process: stop it or choose another name`);
    case ERRNO.EINVAL:
      return new SysError('invalid-argument', errno, call,
        `The kernel rejected TUN device "${name}" (${strerror(errno)}): an interface of that name that is not a TUN may exist; choose another name`);
    default:
      return new SysError('io', errno, call, `${call} for TUN device "${name}" failed: ${strerror(errno)} (errno ${errno})`);
  }
}

/** Opens /dev/net/tun (O_RDWR | O_NONBLOCK | O_CLOEXEC) and attaches it to TUN device `name`,
 * creating the device if needed. Throws SysError. */
export function openTun(name: string): TunDevice {
  const ifr = tunIfreq(name);
  let fd: number;
  try {
    fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  } catch (e) {
    throw e instanceof SysError ? tunOpenError(e.errno, e.call, name) : e;
  }
  try {
    ioctlPtr(fd, TUNSETIFF, ifr, 'TUNSETIFF');
  } catch (e) {
    close(fd);
    throw e instanceof SysError ? tunOpenError(e.errno, e.call, name) : e;
  }
  const end = ifr.indexOf(0);
  return new OpenTun(fd, new TextDecoder().decode(ifr.subarray(0, end < 0 ? IFNAMSIZ - 1 : end)));
}

class OpenTun implements TunDevice {
  readonly stats: TunStats = { written: 0, dropped: 0 };
  private closed = false;
  constructor(readonly fd: number, readonly name: string) {}

  write(packet: Uint8Array): boolean {
    const n = writeFrom(this.fd, packet);
    if (n >= 0) {
      this.stats.written++;
      return true;
    }
    if (n === -ERRNO.EAGAIN || n === -ERRNO.ENOBUFS) {
      this.stats.dropped++;
      return false;
    }
    throw new SysError('io', -n, 'write', `Writing a ${packet.byteLength}-byte packet to TUN device "${this.name}" failed: ${strerror(-n)} (errno ${-n})`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    close(this.fd);
  }
}
