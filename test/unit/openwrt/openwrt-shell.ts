// Running the OpenWrt package's shell scripts (images/openwrt/warren/files/) here: each test gets a
// directory with UCI config files read by fake-uci (as `uci` first in PATH), and runs the scripts
// under every POSIX shell found — dash as /bin/sh, and busybox's ash (OpenWrt's shell) when
// busybox is installed.

import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const FILES = resolve(import.meta.dir, '../../../images/openwrt/warren/files');
export const UCI2TOML = join(FILES, 'uci2toml');
export const INIT = join(FILES, 'warren.init');
export const DEFAULT_UCI = join(FILES, 'warren.config');
const FAKE_UCI = resolve(import.meta.dir, 'fake-uci');

/** Each shell as argv: dash (/bin/sh on Debian) and busybox ash where present. */
export const SHELLS: string[][] = [['/bin/sh'], ...['/bin/busybox', '/usr/bin/busybox'].filter((p) => existsSync(p)).slice(0, 1).map((p) => [p, 'sh'])];

export interface Box {
  dir: string;
  /** UCI config files, by package name ("warren", "network", "dhcp"). */
  uci(pkg: string, text: string): void;
  run(shell: string[], args: string[], env?: Record<string, string>): { code: number; stdout: string; stderr: string };
  cleanup(): void;
}

export function box(): Box {
  const dir = mkdtempSync(join(tmpdir(), 'warren-openwrt-'));
  const bin = join(dir, 'bin');
  const config = join(dir, 'config');
  mkdirSync(bin);
  mkdirSync(config);
  symlinkSync(FAKE_UCI, join(bin, 'uci'));
  return {
    dir,
    uci(pkg, text) {
      writeFileSync(join(config, pkg), text);
    },
    run(shell, args, env = {}) {
      const r = Bun.spawnSync([...shell, ...args], {
        env: { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, FAKE_UCI_DIR: config, ...env },
        cwd: dir,
      });
      return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
