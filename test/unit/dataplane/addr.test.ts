import { describe, expect, test } from 'bun:test';
import { parseIp, formatIp, parsePrefix, parseEndpoint, endpointSourceBytes } from '../../../appliance/dataplane/packet/addr.ts';
import { RouteTable } from '../../../appliance/dataplane/route-table.ts';

describe('addresses', () => {
  test('IPv4 and IPv6 round-trip in RFC 5952 form', () => {
    for (const s of ['10.0.0.1', '0.0.0.0', 'fd99::1', '::', '::1', '2001:db8::ff00:42:8329', '2001:db8:0:1:1:1:1:1', 'fe80::1:0:0:1']) {
      const b = parseIp(s);
      expect(b).not.toBeNull();
      expect(formatIp(b as Uint8Array)).toBe(s);
    }
    expect(formatIp(parseIp('::ffff:1.2.3.4') as Uint8Array)).toBe('::ffff:102:304');
  });
  test('bad addresses and prefixes are refused', () => {
    for (const s of ['10.0.0.256', '1.2.3', 'fd99:::1', 'hello', '']) expect(parseIp(s)).toBeNull();
    for (const s of ['10.0.0.1/33', 'fd99::1/129', '10.0.0.1/-1', '10.0.0.1/2/3', '10.0.0.1/a']) expect(parsePrefix(s)).toBeNull();
    for (const s of ['1.2.3.4', '1.2.3.4:0', '1.2.3.4:65536', 'example.com:1', 'fd99::1:51820']) expect(parseEndpoint(s)).toBeNull();
  });
  test('endpoints and their cookie source bytes', () => {
    const e = parseEndpoint('[fd99::2]:51820');
    expect(e).toEqual({ family: 6, address: 'fd99::2', port: 51820 });
    const v4 = parseEndpoint('192.0.2.1:258');
    expect(Array.from(endpointSourceBytes(v4!))).toEqual([192, 0, 2, 1, 1, 2]);
  });
});

describe('route table (allowed IPs)', () => {
  const rt = new RouteTable<string>();
  rt.insert(parsePrefix('10.0.0.0/8')!, 'wide');
  rt.insert(parsePrefix('10.1.0.0/16')!, 'narrow');
  rt.insert(parsePrefix('10.1.2.3/32')!, 'host');
  rt.insert(parsePrefix('fd00::/8')!, 'v6');
  const at = (ip: string) => {
    const b = parseIp(ip)!;
    return rt.lookup(b, 0, b.length === 4 ? 4 : 6);
  };
  test('longest prefix wins', () => {
    expect(at('10.9.9.9')).toBe('wide');
    expect(at('10.1.9.9')).toBe('narrow');
    expect(at('10.1.2.3')).toBe('host');
    expect(at('11.0.0.1')).toBeNull();
    expect(at('fd12::1')).toBe('v6');
    expect(at('2001:db8::1')).toBeNull();
  });
  test('removing a value removes all its prefixes', () => {
    const t = new RouteTable<string>();
    t.insert(parsePrefix('0.0.0.0/0')!, 'default');
    t.insert(parsePrefix('10.0.0.0/8')!, 'x');
    t.removeValue('x');
    expect(t.lookup(parseIp('10.0.0.1')!, 0, 4)).toBe('default');
  });
});
