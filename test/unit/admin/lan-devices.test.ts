// LAN devices from `ip -json neigh` (iproute2 6.1's output form) and dnsmasq's lease file:
// IPv4 only, unusable entries skipped, one per MAC, host names kept as (hostile) data.

import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LanDevicesError, LEASE_FILE, parseLeases, parseNeighbours, seenDevices } from '../../../appliance/admin/lan-devices.ts';
import type { Runner } from '../../../appliance/system/runner.ts';
import { HOSTILE, LEASES, NEIGH } from './fixtures.ts';

const tmp = mkdtempSync(join(tmpdir(), 'warren-lan-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('parseNeighbours', () => {
  test('IPv4 with a MAC only; FAILED/INCOMPLETE and IPv6 skipped; one per MAC, freshest first', () => {
    const n = parseNeighbours(NEIGH);
    expect(n.sort((a, b) => a.mac.localeCompare(b.mac))).toEqual([
      { mac: '02:00:00:00:00:01', ip: '192.168.8.10' },
      { mac: '02:00:00:00:00:02', ip: '192.168.8.11' },
      { mac: '02:00:00:00:00:03', ip: '192.168.8.12' },
      { mac: '02:00:00:00:00:04', ip: '192.168.8.13' },
      { mac: '02:00:00:00:00:05', ip: '192.168.8.14' },
    ]);
  });

  test('an empty table (no output) is no device; MACs are lower-cased', () => {
    expect(parseNeighbours('')).toEqual([]);
    expect(parseNeighbours('[]\n')).toEqual([]);
    expect(parseNeighbours(JSON.stringify([{ dst: '10.0.0.2', lladdr: '02:AB:CD:00:00:01', state: ['REACHABLE'] }]))).toEqual([{ mac: '02:ab:cd:00:00:01', ip: '10.0.0.2' }]);
  });

  test('output that is not a JSON list is an error, junk entries are skipped', () => {
    expect(() => parseNeighbours('192.168.8.1 dev br-lan lladdr 02:00:00:00:00:01 REACHABLE')).toThrow(LanDevicesError);
    expect(() => parseNeighbours('{}')).toThrow(LanDevicesError);
    expect(parseNeighbours(JSON.stringify([null, 5, 'x', { dst: 7 }, { dst: '10.0.0.300', lladdr: '02:00:00:00:00:01' }]))).toEqual([]);
  });
});

describe('parseLeases', () => {
  test('IPv4 leases by MAC; "*" is no name; IPv6 and junk lines skipped', () => {
    const l = parseLeases(LEASES);
    expect([...l.keys()].sort()).toEqual(['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03', '02:00:00:00:00:05']);
    expect(l.get('02:00:00:00:00:01')).toEqual({ ip: '192.168.8.10', hostname: 'living-room-tv' });
    expect(l.get('02:00:00:00:00:02')?.hostname).toBeNull();
  });

  test('a hostile name stays a string, as it came; a long one is cut to 63 characters', () => {
    const l = parseLeases(LEASES);
    expect(l.get('02:00:00:00:00:03')?.hostname).toBe(HOSTILE);
    expect(l.get('02:00:00:00:00:05')?.hostname).toBe('a'.repeat(63));
  });
});

describe('seenDevices', () => {
  test('asks `ip -json neigh show dev <lan>` through the runner and names devices from the leases', () => {
    const calls: string[][] = [];
    const run: Runner = (argv) => {
      calls.push(argv);
      return { code: 0, stdout: NEIGH, stderr: '' };
    };
    writeFileSync(join(tmp, LEASE_FILE), LEASES);
    const seen = seenDevices(run, 'br-lan', tmp);
    expect(calls).toEqual([['ip', '-json', 'neigh', 'show', 'dev', 'br-lan']]);
    expect(seen).toEqual([
      { mac: '02:00:00:00:00:01', ip: '192.168.8.10', hostname: 'living-room-tv' },
      { mac: '02:00:00:00:00:02', ip: '192.168.8.11', hostname: null },
      { mac: '02:00:00:00:00:03', ip: '192.168.8.12', hostname: HOSTILE },
      { mac: '02:00:00:00:00:04', ip: '192.168.8.13', hostname: null },
      { mac: '02:00:00:00:00:05', ip: '192.168.8.14', hostname: 'a'.repeat(63) },
    ]);
  });

  test('no lease file (no DHCP here): devices without names', () => {
    const run: Runner = () => ({ code: 0, stdout: NEIGH, stderr: '' });
    expect(seenDevices(run, 'br-lan', join(tmp, 'nowhere')).every((d) => d.hostname === null)).toBe(true);
  });

  test('ip failing (no such interface) is an error naming the command and its output', () => {
    const run: Runner = () => ({ code: 1, stdout: '', stderr: 'Cannot find device "br-lan"\n' });
    expect(() => seenDevices(run, 'br-lan', tmp)).toThrow('ip neigh failed (exit 1): Cannot find device "br-lan"');
  });
});
