import { describe, expect, test } from 'bun:test';
import { IFF_NO_PI, IFF_TUN, IFREQ_SIZE, openTun, tunIfreq, validateTunName } from '../../../ffi/tun.ts';
import { SysError } from '../../../ffi/libc.ts';

function thrown(f: () => unknown): SysError {
  try {
    f();
  } catch (e) {
    if (e instanceof SysError) return e;
    throw e;
  }
  throw new Error('expected a SysError');
}

describe('TUN names', () => {
  test('accepts names up to 15 bytes', () => {
    for (const name of ['warren0', 'w', 'a'.repeat(15), 'tun%d', 'wg-exit_1.2']) expect(() => validateTunName(name)).not.toThrow();
  });

  test('rejects 16 bytes and more with kind invalid-argument, before any system call', () => {
    const e = thrown(() => openTun('a'.repeat(16)));
    expect(e.kind).toBe('invalid-argument');
    expect(e.errno).toBe(0);
    expect(e.message).toContain('at most 15');
  });

  test('counts bytes, not characters', () => {
    // 8 characters, 16 bytes in UTF-8
    expect(thrown(() => validateTunName('éééééééé')).kind).toBe('invalid-argument');
    expect(() => validateTunName('ééééééé')).not.toThrow();
  });

  test.each(['', '.', '..', 'a/b', 'a:b', 'a b', 'a\tb'])('rejects %p', (name) => {
    expect(thrown(() => validateTunName(name)).kind).toBe('invalid-argument');
  });
});

describe('struct ifreq for TUNSETIFF', () => {
  test('is 40 bytes: NUL-terminated name at 0, IFF_TUN | IFF_NO_PI little-endian at 16', () => {
    const ifr = tunIfreq('warren0');
    expect(ifr.byteLength).toBe(IFREQ_SIZE);
    expect(new TextDecoder().decode(ifr.subarray(0, 7))).toBe('warren0');
    expect(ifr[7]).toBe(0);
    expect(new DataView(ifr.buffer).getUint16(16, true)).toBe(IFF_TUN | IFF_NO_PI);
    expect(ifr[16]).toBe(0x01);
    expect(ifr[17]).toBe(0x10);
  });
});
