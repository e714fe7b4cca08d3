// Error paths of ffi/: the messages users see and the kinds callers switch on. No root needed.
import { describe, expect, test } from 'bun:test';
import { ERRNO, open, O_RDWR, strerror, SysError } from '../../../ffi/libc.ts';
import { tunOpenError } from '../../../ffi/tun.ts';
import { createRing } from '../../../ffi/tun-ring.ts';

describe('tunOpenError', () => {
  test('ENOENT on /dev/net/tun says how to get the device', () => {
    const e = tunOpenError(ERRNO.ENOENT, 'open(/dev/net/tun)', 'warren0');
    expect(e).toBeInstanceOf(SysError);
    expect(e.kind).toBe('no-tun-device');
    expect(e.errno).toBe(ERRNO.ENOENT);
    expect(e.call).toBe('open(/dev/net/tun)');
    expect(e.message).toBe(
      'TUN device /dev/net/tun is missing: load the tun module (modprobe tun) or run where /dev/net/tun exists',
    );
  });

  test('ENODEV (module absent behind the node) is no-tun-device too', () => {
    expect(tunOpenError(ERRNO.ENODEV, 'open(/dev/net/tun)', 'warren0').kind).toBe('no-tun-device');
  });

  test.each([ERRNO.EPERM, ERRNO.EACCES])('errno %d is permission, one line naming CAP_NET_ADMIN', (errno) => {
    const e = tunOpenError(errno, 'ioctl(TUNSETIFF)', 'warren0');
    expect(e.kind).toBe('permission');
    expect(e.message).toContain('CAP_NET_ADMIN');
    expect(e.message).toContain('warren0');
    expect(e.message).not.toContain('\n');
  });

  test('EBUSY is busy and says what to do', () => {
    const e = tunOpenError(ERRNO.EBUSY, 'ioctl(TUNSETIFF)', 'warren0');
    expect(e.kind).toBe('busy');
    expect(e.message).toContain('already in use');
  });

  test('EINVAL is invalid-argument; anything else is io with the errno text', () => {
    expect(tunOpenError(ERRNO.EINVAL, 'ioctl(TUNSETIFF)', 'eth0').kind).toBe('invalid-argument');
    const e = tunOpenError(ERRNO.EIO, 'ioctl(TUNSETIFF)', 'warren0');
    expect(e.kind).toBe('io');
    expect(e.message).toContain(strerror(ERRNO.EIO));
  });
});

describe('libc wrappers', () => {
  test('a failing open throws SysError with the errno read right after the call', () => {
    let caught: unknown;
    try {
      open('/nonexistent/warren-test', O_RDWR);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SysError);
    const e = caught as SysError;
    expect(e.errno).toBe(ERRNO.ENOENT);
    expect(e.call).toBe('open(/nonexistent/warren-test)');
    expect(e.message).toContain('No such file or directory');
  });

  test('strerror gives the C library text', () => {
    expect(strerror(ERRNO.EAGAIN)).toBe('Resource temporarily unavailable');
  });
});

describe('TUN reader ring options', () => {
  test('slots must be a power of two and slotSize a sane multiple of 8', () => {
    expect(() => createRing(512, 2048)).not.toThrow();
    expect(() => createRing(500, 2048)).toThrow(RangeError);
    expect(() => createRing(512, 100)).toThrow(RangeError);
    expect(() => createRing(512, 2050)).toThrow(RangeError);
  });
});
