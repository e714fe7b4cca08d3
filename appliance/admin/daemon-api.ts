// The web admin's AdminApi, implemented over the appliance itself: the running daemon's status
// (a seam: the object the control socket's /status serves), the network file and node key in
// the data directory (network-admin.ts), the owner's settings (settings.ts) and the LAN's
// neighbour table and DHCP leases (lan-devices.ts). Every side effect comes in through
// DaemonAdminDeps, so the tests need no root, no TUN and no daemon.
//
// The daemon reacts through two hooks: onSettingsChanged after a setting is saved (it merges the
// settings into its config with applySettings and reapplies the gateway), onNetworkChanged after
// a network was created or joined (it can start its tunnel). Member changes need no hook: the
// daemon's Membership re-reads the network file when its mtime moves, and drops a revoked peer.
//
// AdminError comes from control/admin-types.ts, the class webui/api.ts re-exports: the appliance
// may not import webui at runtime (test/unit/architecture.test.ts), and the admin tells errors
// apart with instanceof, so both sides need the one class.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import pkg from '../../package.json' with { type: 'json' };
import type { Config } from '../config/schema.ts';
import {
  AdminError,
  BEST_EXIT,
  type AdminApi,
  type AdminPeer,
  type AdminStatus,
  type DeviceSettings,
  type ExitOffer,
  type InboundPort,
  type LeakReport,
  type LanDevice,
  type NetworkInfo,
  type PrivacySettings,
} from '../control/admin-types.ts';
import { InviteError } from '../network/invite.ts';
import { MAX_DEVICE_EXITS } from '../dataplane/exit-ports.ts';
import { MEMBER_LISTS, type Network } from '../network/store.ts';
import type { Runner } from '../system/runner.ts';
import { seenDevices, type SeenDevice } from './lan-devices.ts';
import { NetworkAdmin, sentence } from './network-admin.ts';
import {
  capName,
  deviceSettingOf,
  exitOfferOf,
  exitOfferProblem,
  formatSettings,
  loadSettings,
  normalizeMac,
  privacyOf,
  saveSettings,
  SettingsError,
  validateDeviceSetting,
  validateExitOffer,
  validatePrivacy,
  type Settings,
} from './settings.ts';
import { adminPeers, adminPorts, adminStatus, type DaemonStatus } from './status-view.ts';
import { formatSupportBundle } from './support-bundle.ts';

export type { DaemonPeerStatus, DaemonStatus } from './status-view.ts';

/** Log lines in a support bundle. */
const BUNDLE_LOG_LINES = 200;
/**
 * The Runner is synchronous and the daemon's main thread also decrypts inbound packets, so `ip
 * neigh` (a few milliseconds on a Pi) runs at most this often however often pages are loaded.
 */
const LAN_CACHE_MS = 2000;

export interface DaemonAdminDeps {
  /** Where network.toml and private.key live (`/var/lib/warren`). */
  dataDir: string;
  /** The owner's settings (`/var/lib/warren/settings.json`). */
  settingsPath: string;
  /** Where dnsmasq keeps its lease file (the control socket's directory, `/run/warren`). */
  runDir: string;
  /** The LAN interface (gateway.lan); null: not a gateway, no LAN devices to list. */
  lan: string | null;
  run: Runner;
  /** The daemon's status; null while no tunnel runs (first run, before a network exists). */
  status: () => DaemonStatus | null;
  /** Recent log lines, oldest first (a LogRing's lines()). */
  logs: () => string[];
  /** A setting was saved; `s` is the whole new settings (merge them with applySettings). */
  onSettingsChanged: (s: Settings) => void | Promise<void>;
  /** A network was created or joined: network.toml (and private.key) now exist in dataDir. */
  onNetworkChanged: () => void | Promise<void>;
  now?: () => Date;
  /** The config as parsed from its file, before settings are merged: what holds where the owner chose nothing. */
  config?: () => Config | null;
  /** The config file, shown (redacted) in the support bundle. */
  configPath?: string | null;
  /** Where the admin says what it did, and what it could not do in the background (LAN listing). */
  log?: (line: string) => void;
  /** The name this node approves itself under in a new network (default: the host name). */
  selfName?: string;
  /** How long a listing of the LAN is reused (default 2000 ms; 0 in tests). */
  lanCacheMs?: number;
  /** How long the daemon's status is reused (default STATUS_REUSE_MS; 0 in tests). */
  statusReuseMs?: number;
  /** The running daemon's leak self-test; null while no tunnel runs. */
  leakTest?: () => Promise<LeakReport> | null;
}

export { adminPaths } from './paths.ts';

/** How long the daemon's status is reused by the admin (ms). */
export const STATUS_REUSE_MS = 250;

/** Devices with a setting of their own, at most (the settings file stays small). */
export const MAX_DEVICE_SETTINGS = 1024;

export class DaemonAdminApi implements AdminApi {
  private readonly now: () => Date;
  private readonly net: NetworkAdmin;
  private lastLanError = '';
  private statusCache: { at: number; value: DaemonStatus } | null = null;
  private lanCache: { at: number; devices: SeenDevice[] } | null = null;

  constructor(private readonly deps: DaemonAdminDeps) {
    this.now = deps.now ?? (() => new Date());
    this.net = new NetworkAdmin({ dataDir: deps.dataDir, now: this.now, selfName: () => deps.selfName ?? hostname(), log: (line) => this.log(line) });
  }

  // ---- Status ----

  /**
   * The daemon's status, reused for STATUS_REUSE_MS: a dashboard asks for it twice, and 50 people
   * reloading at once would otherwise have the daemon's main thread (which also decrypts every
   * inbound packet) build it thousands of times a second. Still fresher than the live figures.
   */
  private daemonStatus(): DaemonStatus | null {
    const now = performance.now();
    if (this.statusCache && now - this.statusCache.at < (this.deps.statusReuseMs ?? STATUS_REUSE_MS)) return this.statusCache.value;
    const value = this.deps.status();
    this.statusCache = value ? { at: now, value } : null;
    return value;
  }

  async status(): Promise<AdminStatus> {
    return adminStatus(this.daemonStatus(), () => ({ interfaceName: this.config()?.interface.name ?? '', publicKey: this.net.ownKey() ?? '' }));
  }

  async leakTest(): Promise<LeakReport> {
    const run = this.deps.leakTest?.() ?? null;
    if (!run) return { ok: false, checks: [{ name: 'Tunnel', ok: false, detail: 'The tunnel is not running yet: create or join a network first.' }] };
    return run;
  }

  async ports(): Promise<{ devices: InboundPort[]; asExit: InboundPort[] }> {
    return adminPorts(this.daemonStatus());
  }

  async peers(): Promise<AdminPeer[]> {
    return adminPeers(this.daemonStatus());
  }

  // ---- LAN devices ----

  async devices(): Promise<LanDevice[]> {
    return this.listDevices(this.settings());
  }

  /** Stores the device's policy by MAC, whether it is on the LAN now or not (it applies when it comes). */
  async setDevicePolicy(mac: string, settings: DeviceSettings): Promise<LanDevice> {
    const m = normalizeMac(mac);
    if (!m) throw new AdminError('invalid', 'That is not a MAC address (it looks like 02:00:00:00:00:01); reload the page.');
    const entry = this.checked(() => validateDeviceSetting({ policy: settings.policy, exit: settings.exit, ...(settings.hops ? { hops: settings.hops } : {}) }, 'device', 'device'));
    const s = this.settings();
    const name = this.seen().find((d) => d.mac === m)?.hostname ?? s.devices[m]?.name;
    const next: Settings = { ...s, devices: { ...s.devices, [m]: { ...entry, ...(name ? { name: capName(name) } : {}) } } };
    if (!Object.hasOwn(s.devices, m) && Object.keys(s.devices).length >= MAX_DEVICE_SETTINGS) {
      throw new AdminError('invalid', `At most ${MAX_DEVICE_SETTINGS} devices can have their own setting; set a device you no longer have back to the default first.`);
    }
    const exits = new Set(Object.values(next.devices).filter((d) => d.policy === 'overlay' && d.exit !== BEST_EXIT).map((d) => d.exit));
    if (exits.size > MAX_DEVICE_EXITS) throw new AdminError('invalid', `Devices can use at most ${MAX_DEVICE_EXITS} different exits of their own; choose one already in use, or "best".`);
    await this.save(next, `device ${m}: ${entry.policy}${entry.policy === 'overlay' ? `, exit ${entry.exit}${entry.hops ? `, ${entry.hops} hop(s)` : ''}` : ''}`);
    const device = this.listDevices(next).find((d) => d.mac === m);
    if (!device) throw new AdminError('unavailable', 'The device setting was saved but cannot be shown; reload the page.');
    return device;
  }

  // ---- Network ----

  async network(): Promise<NetworkInfo> {
    return this.net.info();
  }

  async invite(): Promise<string> {
    return this.net.invite();
  }

  async createNetwork(name: string): Promise<NetworkInfo> {
    const info = this.net.create(name);
    await this.networkChanged();
    return info;
  }

  async joinNetwork(invite: string): Promise<NetworkInfo> {
    const { info, changed } = this.net.join(invite);
    if (changed) await this.networkChanged();
    return info;
  }

  async joinNetworkPhoto(photo: Uint8Array): Promise<NetworkInfo> {
    let text: string;
    try {
      // Loaded on demand: the QR and image decoders are only for the first-run page.
      const { inviteTextFromImage } = await import('../network/invite-image.ts');
      text = await inviteTextFromImage(photo);
    } catch (e) {
      if (e instanceof InviteError) throw new AdminError('invalid', `${sentence(e.message)}.`);
      throw e;
    }
    return this.joinNetwork(text);
  }

  async approve(publicKey: string): Promise<NetworkInfo> {
    return this.net.approve(publicKey);
  }

  async deny(publicKey: string): Promise<NetworkInfo> {
    return this.net.deny(publicKey);
  }

  async revoke(publicKey: string): Promise<NetworkInfo> {
    return this.net.revoke(publicKey);
  }

  /** The daemon follows the network file (network/rotation.ts): it is not told. */
  async rotateSecret(graceHours: number): Promise<NetworkInfo> {
    return this.net.rotate(graceHours);
  }

  // ---- Privacy and exit offer ----

  async privacy(): Promise<PrivacySettings> {
    return privacyOf(this.settings(), this.config());
  }

  async setPrivacy(settings: PrivacySettings): Promise<PrivacySettings> {
    const privacy = this.checked(() => validatePrivacy({ ...settings }, 'privacy'));
    await this.save({ ...this.settings(), privacy }, `privacy: ${JSON.stringify(privacy)}`);
    return { ...privacy };
  }

  async exitOffer(): Promise<ExitOffer> {
    return exitOfferOf(this.settings(), this.config());
  }

  async setExitOffer(offer: ExitOffer): Promise<ExitOffer> {
    const checked = this.checked(() => validateExitOffer({ ...offer }, 'exit offer'));
    const config = this.config();
    const problem = config ? exitOfferProblem(config, checked) : null;
    if (problem) throw new AdminError('conflict', problem);
    await this.save({ ...this.settings(), exitOffer: checked }, `exit offer ${checked.enabled ? 'on' : 'off'}`);
    return { ...checked };
  }

  // ---- Diagnostics ----

  async logs(limit: number): Promise<string[]> {
    const n = Math.floor(limit);
    return n > 0 ? this.deps.logs().slice(-n) : [];
  }

  async supportBundle(): Promise<string> {
    let net: Network | null = null;
    try {
      net = this.net.current();
    } catch {
      // a broken network file: the bundle says "none yet"; the admin's pages say why
    }
    let settings: string;
    try {
      settings = formatSettings(loadSettings(this.deps.settingsPath));
    } catch (e) {
      settings = `(cannot be used: ${(e as Error).message})`;
    }
    let configText: string | null = null;
    if (this.deps.configPath) {
      try {
        configText = readFileSync(this.deps.configPath, 'utf8');
      } catch (e) {
        configText = `(cannot read: ${(e as Error).message})`;
      }
    }
    const status = this.deps.status();
    const own = status?.publicKey ?? this.net.ownKey();
    return formatSupportBundle({
      generatedAt: this.now(),
      versions: { warren: pkg.version, bun: Bun.version, platform: `${process.platform} ${process.arch}` },
      settings,
      network: net ? { name: net.name, requireApproval: net.requireApproval, approved: net.approved.length, pending: net.pending.length, revoked: net.revoked.length } : null,
      configPath: this.deps.configPath ?? null,
      configText,
      status,
      logs: this.deps.logs().slice(-BUNDLE_LOG_LINES),
      publicKeys: [...(own ? [own] : []), ...(status?.peers ?? []).map((p) => p.publicKey), ...MEMBER_LISTS.flatMap((l) => net?.[l].map((m) => m.key) ?? [])],
    });
  }

  // ---- Helpers ----

  private config(): Config | null {
    return this.deps.config?.() ?? null;
  }

  private log(line: string): void {
    this.deps.log?.(line);
  }

  /** Input checked with the settings file's validators: their complaint goes back to the owner. */
  private checked<T>(validate: () => T): T {
    try {
      return validate();
    } catch (e) {
      if (e instanceof SettingsError) throw new AdminError('invalid', `${sentence(e.reason ?? e.message).replace(/\.$/, '')}.`);
      throw e;
    }
  }

  private settings(): Settings {
    try {
      return loadSettings(this.deps.settingsPath);
    } catch (e) {
      throw new AdminError('unavailable', `${sentence((e as Error).message)}. Fix or remove that file, then reload the page.`);
    }
  }

  private async save(next: Settings, what: string): Promise<void> {
    try {
      saveSettings(this.deps.settingsPath, next);
    } catch (e) {
      throw new AdminError('unavailable', `The setting could not be saved: ${(e as Error).message}. Check the disk (Diagnostics) and try again.`);
    }
    this.log(`admin: ${what}`);
    try {
      await this.deps.onSettingsChanged(next);
    } catch (e) {
      throw new AdminError('unavailable', `The setting is saved, but Warren could not apply it yet: ${(e as Error).message}. It applies when Warren restarts; see Diagnostics.`);
    }
  }

  private async networkChanged(): Promise<void> {
    try {
      await this.deps.onNetworkChanged();
    } catch (e) {
      throw new AdminError('unavailable', `The network is saved, but Warren could not start it yet: ${(e as Error).message}. Restart Warren; see Diagnostics.`);
    }
  }

  private seen(): SeenDevice[] {
    if (!this.deps.lan) return [];
    const at = performance.now();
    if (this.lanCache && at - this.lanCache.at < (this.deps.lanCacheMs ?? LAN_CACHE_MS)) return this.lanCache.devices;
    try {
      const devices = seenDevices(this.deps.run, this.deps.lan, this.deps.runDir);
      this.lastLanError = '';
      this.lanCache = { at, devices };
      return devices;
    } catch (e) {
      // Said once per distinct failure: the devices page may be reloaded every few seconds.
      const message = (e as Error).message;
      if (message !== this.lastLanError) this.log(`admin: ${message}`);
      this.lastLanError = message;
      return [];
    }
  }

  /** Devices seen now, then devices with a saved setting that are away (listed with no address). */
  private listDevices(s: Settings): LanDevice[] {
    const config = this.config();
    const out: LanDevice[] = this.seen().map((d) => {
      const { policy, exit, hops } = deviceSettingOf(s, config, d.mac, d.ip);
      return { mac: d.mac, ip: d.ip, hostname: d.hostname ?? s.devices[d.mac]?.name ?? null, policy, exit, ...(hops ? { hops } : {}) };
    });
    const here = new Set(out.map((d) => d.mac));
    for (const [mac, d] of Object.entries(s.devices).sort(([a], [b]) => a.localeCompare(b))) {
      if (!here.has(mac)) out.push({ mac, ip: '', hostname: d.name ?? null, policy: d.policy, exit: d.exit, ...(d.hops ? { hops: d.hops } : {}) });
    }
    return out;
  }
}
