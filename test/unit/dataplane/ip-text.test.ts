// Endpoint addresses to bytes and back (RFC 4291 §2.2 input, RFC 5952 output).

import { describe, expect, test } from 'bun:test';
import { formatIp, parseIp } from '../../../appliance/dataplane/packet/ip-text.ts';

const hex = (b: Uint8Array | null) => (b ? Buffer.from(b).toString('hex') : null);

describe('ip', () => {
  test('IPv4 and IPv6 round trip to canonical text', () => {
    const cases: Array<[string, string]> = [
      ['192.0.2.1', '192.0.2.1'],
      ['0.0.0.0', '0.0.0.0'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8::1:0:0:1', '2001:db8::1:0:0:1'],
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::', 'fe80::'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ];
    for (const [input, canonical] of cases) {
      const bytes = parseIp(input);
      expect(bytes).not.toBeNull();
      expect(formatIp(bytes!)).toBe(canonical);
      expect(hex(parseIp(canonical))).toBe(hex(bytes));
    }
  });

  test('not an address', () => {
    for (const bad of ['', '1.2.3', '1.2.3.256', '01.2.3.4', '1.2.3.4.5', 'a.b.c.d', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'router.bittorrent.com', '1:2:3:4:5:6:7::8']) {
      expect(parseIp(bad)).toBeNull();
    }
    expect(() => formatIp(new Uint8Array(5))).toThrow(RangeError);
  });
});
