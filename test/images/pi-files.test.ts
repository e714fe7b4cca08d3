// The Raspberry Pi image's own files (images/pi/rootfs/), checked without building the image:
// the default config is a first run for Warren's parser and a gateway once a network exists, the
// service has the two capabilities and no more, and the shell scripts parse. Booting the image is
// scripts/smoke-pi-image (after a ~10-minute image build, ~3 minutes of emulation: not in CI).

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { firstRunOf, parseConfigText } from '../../appliance/config/load.ts';
import { initNetwork } from '../../appliance/network/setup.ts';

const ROOTFS = resolve(import.meta.dir, '../../images/pi/rootfs');
const read = (p: string) => readFileSync(join(ROOTFS, p), 'utf8');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-pi-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the Pi image files', () => {
  test('the default warren.toml: a first run with the admin on eth0, then a one-armed gateway', () => {
    const text = read('usr/local/share/warren/warren.toml').replaceAll('/var/lib/warren', dir);
    const path = join(dir, 'warren.toml');
    writeFileSync(path, text);
    const first = firstRunOf(path);
    expect(first).toMatchObject({ dataDir: dir, lan: 'eth0', admin: { listen: 'lan' }, controlSocket: '/run/warren/warren.sock' });

    initNetwork(dir, 'home');
    expect(firstRunOf(path)).toBeNull();
    const config = parseConfigText(text);
    expect(config.gateway).toMatchObject({ lan: 'eth0', wan: 'eth1', exit: 'auto', killSwitch: 'on', defaultPolicy: 'overlay' });
    expect(config.admin.listen).toBe('lan');
    expect(config.network?.file).toBe(join(dir, 'network.toml'));
  });

  test('warren.service: user warren, CAP_NET_ADMIN and CAP_NET_BIND_SERVICE as ambient and bounding set', () => {
    const unit = read('etc/systemd/system/warren.service');
    const lines = unit.split('\n').filter((l) => !l.startsWith('#'));
    expect(lines).toContain('User=warren');
    expect(lines).toContain('AmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE');
    expect(lines).toContain('CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE');
    expect(lines).toContain('NoNewPrivileges=yes');
    expect(lines).toContain('ExecStart=/usr/local/bin/warren daemon --config /etc/warren/warren.toml');
    // Warren writes net.* sysctls and Bun's JIT writes code: these would break it.
    expect(lines.some((l) => /^(ProtectKernelTunables|MemoryDenyWriteExecute|PrivateDevices)=yes/.test(l))).toBe(false);
  });

  test('the shell scripts parse (sh -n)', () => {
    const scripts = [
      ...readdirSync(join(ROOTFS, 'usr/local/lib/warren')).map((f) => join(ROOTFS, 'usr/local/lib/warren', f)),
      join(ROOTFS, 'etc/initramfs-tools/hooks/warren-modules'),
    ];
    for (const s of scripts) {
      const r = Bun.spawnSync(['sh', '-n', s]);
      expect({ script: s, stderr: r.stderr.toString(), code: r.exitCode }).toEqual({ script: s, stderr: '', code: 0 });
    }
    for (const s of ['scripts/build-pi-image', 'scripts/smoke-pi-image', 'scripts/build-binaries', 'images/pi/customize.sh']) {
      const r = Bun.spawnSync(['bash', '-n', resolve(import.meta.dir, '../..', s)]);
      expect({ script: s, code: r.exitCode }).toEqual({ script: s, code: 0 });
    }
  });
});
