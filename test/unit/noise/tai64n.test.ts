/** TAI64N as wireguard-go tai64n/tai64n.go produces it. */
import { describe, expect, test } from 'bun:test';
import { tai64nAfter, tai64nNow } from '../../../appliance/noise/tai64n.ts';
import { toHex } from './vectors.ts';

describe('tai64nNow', () => {
  test('Unix epoch is 2^62 + 10 seconds, zero nanoseconds', () => {
    expect(toHex(tai64nNow(0))).toBe('400000000000000a' + '00000000');
  });

  test('seconds big-endian, nanoseconds whitened down to a multiple of 2^24', () => {
    // 1_700_000_000.5 s: 0.5 s = 500_000_000 ns = 0x1DCD6500 → whitened 0x1D000000.
    const t = tai64nNow(1_700_000_000_500);
    const view = new DataView(t.buffer);
    expect(view.getBigUint64(0, false)).toBe((1n << 62n) + 10n + 1_700_000_000n);
    expect(view.getUint32(8, false)).toBe(0x1d00_0000);
  });

  test('whitening hides sub-16.7 ms differences but not larger ones', () => {
    const base = 1_700_000_000_000;
    expect(toHex(tai64nNow(base + 1))).toBe(toHex(tai64nNow(base + 16)));
    expect(tai64nAfter(tai64nNow(base + 17), tai64nNow(base))).toBe(true);
  });
});

describe('tai64nAfter', () => {
  test('strictly later only', () => {
    const a = tai64nNow(1_700_000_000_000);
    const b = tai64nNow(1_700_000_001_000);
    expect(tai64nAfter(b, a)).toBe(true);
    expect(tai64nAfter(a, b)).toBe(false);
    expect(tai64nAfter(a, a)).toBe(false);
  });

  test('a later second beats larger nanoseconds', () => {
    const a = tai64nNow(1_700_000_000_999);
    const b = tai64nNow(1_700_000_001_000);
    expect(tai64nAfter(b, a)).toBe(true);
  });
});
