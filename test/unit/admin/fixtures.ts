// Shared fixtures for the admin tests: a LAN as `ip -json neigh` (iproute2 6.1's form) and
// dnsmasq's lease file show it, with a hostile host name, and a DaemonAdminApi over temporary
// directories with every daemon seam faked (status, logs, hooks, runner).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaemonAdminApi, type DaemonAdminDeps, type DaemonStatus } from '../../../appliance/admin/daemon-api.ts';
import { LEASE_FILE } from '../../../appliance/admin/lan-devices.ts';
import { LogRing } from '../../../appliance/admin/log-ring.ts';
import type { Settings } from '../../../appliance/admin/settings.ts';
import type { Runner } from '../../../appliance/system/runner.ts';

export const HOSTILE = '<script>alert(1)</script>';

/** `ip -json neigh show dev br-lan` on a busy LAN (no "dev" key: the command names it). */
export const NEIGH = JSON.stringify([
  { dst: '192.168.8.12', lladdr: '02:00:00:00:00:03', state: ['REACHABLE'] },
  { dst: '192.168.8.10', lladdr: '02:00:00:00:00:01', state: ['STALE'] },
  { dst: '192.168.8.99', state: ['FAILED'] },
  { dst: '192.168.8.98', state: ['INCOMPLETE'] },
  { dst: '192.168.8.97', lladdr: '02:00:00:00:00:97', state: ['FAILED'] },
  { dst: 'fe80::1', lladdr: '02:00:00:00:00:01', router: null, state: ['STALE'] },
  { dst: 'fd00::20', lladdr: '02:00:00:00:00:20', state: ['REACHABLE'] },
  { dst: '192.168.8.11', lladdr: '02:00:00:00:00:02', state: ['DELAY'] },
  // The same device at its old address (stale) and its new one (reachable): the new one wins.
  { dst: '192.168.8.50', lladdr: '02:00:00:00:00:04', state: ['STALE'] },
  { dst: '192.168.8.13', lladdr: '02:00:00:00:00:04', state: ['REACHABLE'] },
  { dst: '192.168.8.14', lladdr: '02:00:00:00:00:05', state: ['PERMANENT'] },
  { dst: '192.168.8.15', lladdr: 'not-a-mac', state: ['REACHABLE'] },
]);

/** dnsmasq.leases: expiry mac ip hostname clientid; `*` = no name; an IPv6 block (duid + IAID lines). */
export const LEASES = [
  '1736942400 02:00:00:00:00:01 192.168.8.10 living-room-tv 01:02:00:00:00:00:01',
  '1736942400 02:00:00:00:00:02 192.168.8.11 * *',
  `1736942400 02:00:00:00:00:03 192.168.8.12 ${HOSTILE} *`,
  `1736942400 02:00:00:00:00:05 192.168.8.14 ${'a'.repeat(100)} *`,
  'duid 00:01:00:01:2c:00:00:00:02:00:00:00:00:01',
  '1736942400 1234567 fd00::20 phone 00:01:00:01',
  'garbage line',
  '',
].join('\n');

export function key(seed: number): string {
  return Buffer.alloc(32, seed).toString('base64');
}

export interface Rig {
  api: DaemonAdminApi;
  root: string;
  dataDir: string;
  settingsPath: string;
  runDir: string;
  /** Set to what the daemon's /status would answer; null: no tunnel. */
  status: { current: DaemonStatus | null };
  /** What the runner's `ip neigh` answers (set code to make it fail), and how often it ran. */
  neigh: { stdout: string; code: number; calls: number };
  ring: LogRing;
  settingsChanges: Settings[];
  networkChanges: number;
  adminLog: string[];
  cleanup(): void;
}

export function makeRig(extra: Partial<DaemonAdminDeps> = {}, name = 'warren-admin-'): Rig {
  const root = mkdtempSync(join(tmpdir(), name));
  const dataDir = join(root, 'data');
  const runDir = join(root, 'run');
  mkdirSync(runDir);
  writeFileSync(join(runDir, LEASE_FILE), LEASES);
  const run: Runner = (argv) => {
    if (argv.join(' ') !== 'ip -json neigh show dev br-lan') throw new Error(`unexpected command ${argv.join(' ')}`);
    rig.neigh.calls++;
    return { code: rig.neigh.code, stdout: rig.neigh.stdout, stderr: rig.neigh.code ? 'Cannot find device "br-lan"' : '' };
  };
  const rig: Rig = {
    root,
    dataDir,
    settingsPath: join(dataDir, 'settings.json'),
    runDir,
    status: { current: null },
    neigh: { stdout: NEIGH, code: 0, calls: 0 },
    ring: new LogRing(),
    settingsChanges: [],
    networkChanges: 0,
    adminLog: [],
    api: undefined as unknown as DaemonAdminApi,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
  rig.api = new DaemonAdminApi({
    dataDir,
    settingsPath: rig.settingsPath,
    runDir,
    lan: 'br-lan',
    run,
    status: () => rig.status.current,
    logs: () => rig.ring.lines(),
    onSettingsChanged: (s) => void rig.settingsChanges.push(s),
    onNetworkChanged: () => void rig.networkChanges++,
    now: () => new Date('2025-01-15T12:00:00Z'),
    log: (line) => rig.adminLog.push(line),
    selfName: 'this-appliance',
    lanCacheMs: 0,
    statusReuseMs: 0,
    ...extra,
  });
  return rig;
}
