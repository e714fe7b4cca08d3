import { describe, expect, test } from 'bun:test';
import { hasNetAdmin, runChecks, type Probes } from '../../../appliance/cli/doctor.ts';

const ok: Probes = {
  tunExists: () => true,
  procStatus: () => 'Name:\tbun\nCapEff:\t000001ffffffffff\n',
  run: () => ({ code: 0, out: 'tool 1.0\n' }),
  sodium: () => true,
};

describe('warren doctor', () => {
  test('CAP_NET_ADMIN is bit 12 of CapEff', () => {
    expect(hasNetAdmin('CapEff:\t0000000000001000\n')).toBe(true);
    expect(hasNetAdmin('CapEff:\t0000000000000fff\n')).toBe(false);
    expect(hasNetAdmin('CapEff:\t000001ffffffefff\n')).toBe(false);
    expect(hasNetAdmin('no caps here')).toBe(false);
  });
  test('a healthy system passes every check', () => {
    expect(runChecks(ok).every((c) => c.ok)).toBe(true);
  });
  test('each problem is named, with what to do', () => {
    const bad = runChecks({ tunExists: () => false, procStatus: () => 'CapEff:\t0\n', run: () => ({ code: 127, out: '' }), sodium: () => false });
    expect(bad.filter((c) => !c.ok).map((c) => c.name)).toEqual(['tun', 'cap_net_admin', 'iproute2', 'nftables', 'libsodium']);
    expect(bad.find((c) => c.name === 'tun')?.fix).toContain('modprobe tun');
    expect(bad.find((c) => c.name === 'cap_net_admin')?.fix).toContain('CAP_NET_ADMIN');
    expect(bad.find((c) => c.name === 'nftables')?.fix).toContain('apt-get install --no-install-recommends nftables');
  });
});
