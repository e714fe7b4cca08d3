// `warren doctor`: checks what the appliance needs from the system and says what to fix.
// Each check is a pure function of what the probes report, so tests can feed it any system.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { loadSodium } from '../../ffi/sodium.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do when it is not ok. */
  fix?: string;
}

export interface Probes {
  tunExists: () => boolean;
  procStatus: () => string;
  run: (argv: string[]) => { code: number; out: string };
  sodium: () => boolean;
}

const CAP_NET_ADMIN = 12; // linux/capability.h

/** Whether CapEff in a /proc/PID/status text holds CAP_NET_ADMIN. */
export function hasNetAdmin(procStatus: string): boolean {
  const hex = procStatus.match(/^CapEff:\s*([0-9a-f]+)/m)?.[1];
  return hex !== undefined && (BigInt(`0x${hex}`) >> BigInt(CAP_NET_ADMIN)) % 2n === 1n;
}

export function runChecks(p: Probes): Check[] {
  const checks: Check[] = [];
  const tun = p.tunExists();
  checks.push({ name: 'tun', ok: tun, detail: tun ? '/dev/net/tun is there' : '/dev/net/tun is missing', fix: 'load the tun module (modprobe tun) or run where /dev/net/tun exists' });
  const cap = hasNetAdmin(p.procStatus());
  checks.push({ name: 'cap_net_admin', ok: cap, detail: cap ? 'CAP_NET_ADMIN is held' : 'CAP_NET_ADMIN is missing', fix: 'run as root, or give the binary CAP_NET_ADMIN (setcap cap_net_admin+ep, or AmbientCapabilities= in the systemd unit)' });
  for (const [name, argv, why] of [
    ['iproute2', ['ip', '-V'], 'sets the TUN device\'s addresses and routes'],
    ['nftables', ['nft', '--version'], 'keeps LAN devices from leaking in gateway mode'],
  ] as const) {
    const r = p.run([...argv]);
    checks.push({ name, ok: r.code === 0, detail: r.code === 0 ? r.out.trim().split('\n')[0] ?? '' : `\`${argv.join(' ')}\` did not run: Warren uses it because it ${why}`, fix: `install it: apt-get install --no-install-recommends ${name}` });
  }
  const sodium = p.sodium();
  checks.push({ name: 'libsodium', ok: sodium, detail: sodium ? 'native AEADs, X25519 and Ed25519 in use' : 'missing: the much slower JavaScript crypto is used', fix: 'install it: apt-get install --no-install-recommends libsodium23' });
  return checks;
}

export const systemProbes: Probes = {
  tunExists: () => existsSync('/dev/net/tun') && statSync('/dev/net/tun').isCharacterDevice(),
  procStatus: () => readFileSync('/proc/self/status', 'utf8'),
  run: (argv) => {
    try {
      const r = Bun.spawnSync(argv, { stdout: 'pipe', stderr: 'pipe' });
      return { code: r.exitCode ?? 1, out: r.stdout.toString() + r.stderr.toString() };
    } catch {
      return { code: 127, out: '' };
    }
  },
  sodium: () => loadSodium() !== null,
};

export function printChecks(checks: Check[]): void {
  const lines = checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(14)} ${c.detail}${c.ok || !c.fix ? '' : `\n     ${''.padEnd(14)} fix: ${c.fix}`}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
