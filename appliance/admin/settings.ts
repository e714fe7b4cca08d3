// The owner's choices made in the web admin, kept in the data directory as `settings.json`
// (mode 0600, written atomically: temp file, fsync, rename) and merged over the config file at
// start and whenever they change:
//
//   {
//     "version": 1,
//     "devices": { "02:00:00:00:00:20": { "policy": "direct", "exit": "best", "name": "tv" } },
//     "privacy": { "hops": 1, "exit": "best", "killSwitch": "on", "dns": "on", "padding": "bucket" },
//     "exitOffer": { "enabled": false, "acceptRisk": false }
//   }
//
// Every section is optional. A section the owner never saved is absent (null here), and then the
// config file's values hold: otherwise an appliance whose config says `kill_switch = "always"` or
// offers an exit would lose that the day its admin first writes this file. A missing file is no
// choice at all; what the admin shows then is the config's values, or with no config the defaults
// (overlay through the best exit, 1 hop, kill switch on, DNS on, bucket padding, no exit offer).
//
// Reads validate everything once: a corrupted or hand-edited file gives a SettingsError naming
// the field. Merging (applySettings) is a pure function of a parsed Config.

import { DEFAULT_MEMBER_CONNECTIONS } from '../config/gateway.ts';
import { DEFAULT_FORWARD_PORTS, DEFAULT_FORWARDS_PER_MEMBER } from '../gateway/port-forwards.ts';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { DEVICE_POLICIES, type DevicePolicy, type ExitConfig, type GatewayDevice } from '../config/gateway.ts';
import { BEST_EXIT, type ExitChoice, type ExitOffer, type Hops, type PrivacySettings } from '../control/admin-types.ts';
import { DEFAULT_DATA_DIR } from '../network/setup.ts';
import { isKeyText, writeFileAtomic } from '../network/store.ts';
import { PADDING_MODES } from '../wire/padding.ts';

export const SETTINGS_FILE = 'settings.json';
export const DEFAULT_SETTINGS_PATH = join(DEFAULT_DATA_DIR, SETTINGS_FILE);
export const SETTINGS_VERSION = 1;
/** Longest device name kept (a DNS label, RFC 1035 §2.3.4). */
export const DEVICE_NAME_MAX = 63;

export interface DeviceSetting {
  policy: DevicePolicy;
  /**
   * 'best' (the appliance's exit: `privacy.exit`) or an exit's public key, used by this device
   * alone (the gateway device's `exit`: system/nft.ts and the data plane route it by port range).
   */
  exit: ExitChoice;
  /** The device's host name when the owner set its policy, so it is named while away. */
  name?: string;
  /** Its own hop count; absent: privacy's. */
  hops?: Hops;
}

export interface Settings {
  /** Keyed by lower-case MAC address (`02:00:00:00:00:20`). */
  devices: Readonly<Record<string, DeviceSetting>>;
  /** null: never saved in the admin; the config file's values hold (privacyOf). */
  privacy: PrivacySettings | null;
  /** null: never saved in the admin; the config's [exit] section holds (exitOfferOf). */
  exitOffer: ExitOffer | null;
}

export const DEFAULT_PRIVACY: Readonly<PrivacySettings> = { hops: 1, exit: BEST_EXIT, killSwitch: 'on', dns: 'on', padding: 'bucket' };
export const DEFAULT_EXIT_OFFER: Readonly<ExitOffer> = { enabled: false, acceptRisk: false };
export const DEFAULT_DEVICE: Readonly<DeviceSetting> = { policy: 'overlay', exit: BEST_EXIT };

/** Shown when an exit offer comes without the owner's confirmation. */
export const EXIT_RISK_WARNING =
  'Offering an exit needs the risk box ticked: other members’ traffic would leave from your address, and you may be held responsible for what they do.';

export function emptySettings(): Settings {
  return { devices: {}, privacy: null, exitOffer: null };
}

export type SettingsErrorKind = 'read' | 'parse' | 'field' | 'write';

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  constructor(
    readonly kind: SettingsErrorKind,
    message: string,
    /** The field at fault (`devices["02:00:00:00:00:20"].policy`), for 'field'. */
    readonly field?: string,
    /** What is wrong with it, without the file's name (for answers to the admin). */
    readonly reason?: string,
  ) {
    super(message);
  }
}

// ---- Validation ----

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** A MAC address as the settings key it: lower case; null when `text` is not one. */
export function normalizeMac(text: string): string | null {
  const mac = text.trim().toLowerCase();
  return MAC_RE.test(mac) ? mac : null;
}

/** At most DEVICE_NAME_MAX characters (code points, so a cut never splits one). */
export function capName(name: string): string {
  const chars = [...name];
  return chars.length > DEVICE_NAME_MAX ? chars.slice(0, DEVICE_NAME_MAX).join('') : name;
}

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `where` names the source in the message: the settings file, or the admin's request. */
function fieldError(where: string, field: string, reason: string): SettingsError {
  return new SettingsError('field', `${where}: ${field}: ${reason}`, field, reason);
}

function known(t: Table, allowed: readonly string[], where: string, field: string): void {
  for (const k of Object.keys(t)) if (!allowed.includes(k)) throw fieldError(where, field ? `${field}.${k}` : k, `unknown setting (known: ${allowed.join(', ')})`);
}

function oneOf<T extends string | number>(t: Table, key: string, choices: readonly T[], where: string, field: string): T {
  const v = t[key];
  if (!(choices as readonly unknown[]).includes(v)) throw fieldError(where, `${field}.${key}`, `expected one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`);
  return v as T;
}

function exitChoice(t: Table, where: string, field: string): ExitChoice {
  const v = t.exit;
  if (v !== BEST_EXIT && (typeof v !== 'string' || !isKeyText(v))) throw fieldError(where, `${field}.exit`, `expected "${BEST_EXIT}" or an exit's public key (base64, 44 characters)`);
  return v;
}

export function validateDeviceSetting(raw: unknown, where: string, field: string): DeviceSetting {
  if (!isTable(raw)) throw fieldError(where, field, 'expected an object with policy and exit');
  known(raw, ['policy', 'exit', 'name', 'hops'], where, field);
  const out: DeviceSetting = { policy: oneOf(raw, 'policy', DEVICE_POLICIES, where, field), exit: exitChoice(raw, where, field) };
  if (raw.hops !== undefined) out.hops = oneOf<Hops>(raw, 'hops', [1, 2, 3], where, field);
  if (raw.name !== undefined) {
    if (typeof raw.name !== 'string' || [...raw.name].length > DEVICE_NAME_MAX) throw fieldError(where, `${field}.name`, `expected a string of at most ${DEVICE_NAME_MAX} characters`);
    out.name = raw.name;
  }
  return out;
}

export function validatePrivacy(raw: unknown, where: string, field = 'privacy'): PrivacySettings {
  if (!isTable(raw)) throw fieldError(where, field, 'expected an object with hops, exit, killSwitch, dns and padding');
  known(raw, ['hops', 'exit', 'killSwitch', 'dns', 'padding'], where, field);
  return {
    hops: oneOf<Hops>(raw, 'hops', [1, 2, 3], where, field),
    exit: exitChoice(raw, where, field),
    killSwitch: oneOf(raw, 'killSwitch', ['on', 'always'] as const, where, field),
    dns: oneOf(raw, 'dns', ['on', 'off'] as const, where, field),
    padding: oneOf(raw, 'padding', PADDING_MODES, where, field),
  };
}

export function validateExitOffer(raw: unknown, where: string, field = 'exitOffer'): ExitOffer {
  if (!isTable(raw)) throw fieldError(where, field, 'expected an object with enabled and acceptRisk');
  known(raw, ['enabled', 'acceptRisk'], where, field);
  for (const k of ['enabled', 'acceptRisk']) if (typeof raw[k] !== 'boolean') throw fieldError(where, `${field}.${k}`, 'expected true or false');
  const offer = { enabled: raw.enabled as boolean, acceptRisk: raw.acceptRisk as boolean };
  if (offer.enabled && !offer.acceptRisk) throw fieldError(where, `${field}.acceptRisk`, EXIT_RISK_WARNING);
  return offer;
}

/** Validates a parsed settings document; `path` only names the file in errors. */
export function validateSettings(doc: unknown, path: string): Settings {
  const where = `settings file ${path}`;
  if (!isTable(doc)) throw fieldError(where, '(top level)', 'expected a JSON object');
  known(doc, ['version', 'devices', 'privacy', 'exitOffer'], where, '');
  if (doc.version !== undefined && doc.version !== SETTINGS_VERSION) {
    throw fieldError(where, 'version', `this Warren reads version ${SETTINGS_VERSION}, not ${JSON.stringify(doc.version)}`);
  }
  const devices: Record<string, DeviceSetting> = {};
  if (doc.devices !== undefined) {
    if (!isTable(doc.devices)) throw fieldError(where, 'devices', 'expected an object keyed by MAC address');
    for (const [key, raw] of Object.entries(doc.devices)) {
      const mac = normalizeMac(key);
      if (mac === null || mac !== key) throw fieldError(where, `devices[${JSON.stringify(key)}]`, 'expected a lower-case MAC address like 02:00:00:aa:bb:cc as the key');
      devices[mac] = validateDeviceSetting(raw, where, `devices[${JSON.stringify(key)}]`);
    }
  }
  return {
    devices,
    privacy: doc.privacy === undefined || doc.privacy === null ? null : validatePrivacy(doc.privacy, where),
    exitOffer: doc.exitOffer === undefined || doc.exitOffer === null ? null : validateExitOffer(doc.exitOffer, where),
  };
}

export function parseSettingsText(text: string, path: string): Settings {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SettingsError('parse', `settings file ${path} is not valid JSON (${(e as Error).message}); fix it, or remove it to start from the config file's values`);
  }
  return validateSettings(doc, path);
}

export function formatSettings(s: Settings): string {
  const doc: Table = { version: SETTINGS_VERSION, devices: s.devices };
  if (s.privacy) doc.privacy = s.privacy;
  if (s.exitOffer) doc.exitOffer = s.exitOffer;
  return `${JSON.stringify(doc, null, 2)}\n`;
}

// ---- Files ----

/** The settings at `path`; a missing file is no choice made yet (emptySettings). */
export function loadSettings(path: string): Settings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptySettings();
    throw new SettingsError('read', `cannot read settings file ${path}: ${(e as Error).message}`);
  }
  return parseSettingsText(text, path);
}

export function saveSettings(path: string, s: Settings): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileAtomic(path, formatSettings(s));
  } catch (e) {
    throw new SettingsError('write', (e as Error).message);
  }
}

// ---- Merging into the config (pure) ----

/** The [exit] section an offer turns on: the config's own when it has one, else out of the gateway's WAN. */
export function exitSectionFor(config: Config): ExitConfig | null {
  if (config.exit) return { ...config.exit, deny: [...config.exit.deny] };
  if (config.gateway) return { wan: config.gateway.wan, blockSmtp: true, deny: [], rateMbit: 0, forwardPorts: { ...DEFAULT_FORWARD_PORTS }, forwardsPerMember: DEFAULT_FORWARDS_PER_MEMBER, memberRateMbit: 0, memberConnections: DEFAULT_MEMBER_CONNECTIONS, wanMbit: 0 };
  return null;
}

/** Why `offer` cannot take effect with this config, or null when it can. */
export function exitOfferProblem(config: Config, offer: ExitOffer): string | null {
  if (!offer.enabled) return null;
  if (!offer.acceptRisk) return EXIT_RISK_WARNING;
  if (!exitSectionFor(config)) return 'This appliance has no WAN interface in its config file: add a [gateway] section (or [exit] with wan = "eth0"), restart Warren, then offer the exit.';
  return null;
}

/**
 * The config with the owner's settings merged in. Device policies become gateway devices by MAC
 * (a setting replaces a config entry for the same MAC); privacy sets the gateway's exit ('best' →
 * "auto"), kill switch and DNS, and the wire's padding; an exit offer turns [exit] on or off.
 * Privacy's hops become the gateway's default hop count (1, or a 2–3 hop onion circuit).
 * Without a [gateway] section the appliance routes no LAN, so device and gateway settings wait.
 */
export function applySettings(config: Config, s: Settings): Config {
  const out: Config = { ...config, interface: { ...config.interface } };
  const p = s.privacy;
  if (p) out.interface.padding = p.padding;
  const g = config.gateway;
  if (g) {
    const fromConfig = new Map(g.devices.filter((d) => d.mac !== null).map((d) => [d.mac as string, d]));
    const chosen: GatewayDevice[] = Object.entries(s.devices).map(([mac, d]) => ({
      name: d.name ?? fromConfig.get(mac)?.name ?? mac, mac, ip: null, policy: d.policy, exit: d.exit === BEST_EXIT ? null : d.exit, ...(d.hops ? { hops: d.hops } : {}),
    }));
    out.gateway = {
      ...g,
      devices: [...g.devices.filter((d) => d.mac === null || !Object.hasOwn(s.devices, d.mac)), ...chosen],
      ...(p ? { exit: p.exit === BEST_EXIT ? 'auto' : p.exit, killSwitch: p.killSwitch, dns: { ...g.dns, enabled: p.dns === 'on' }, hops: p.hops } : {}),
    };
  }
  if (s.exitOffer) out.exit = s.exitOffer.enabled && s.exitOffer.acceptRisk ? exitSectionFor(config) : null;
  return out;
}

/** The privacy settings in effect: the saved ones, else the config's, else the defaults. */
export function privacyOf(s: Settings, config: Config | null): PrivacySettings {
  if (s.privacy) return { ...s.privacy };
  if (!config) return { ...DEFAULT_PRIVACY };
  const g = config.gateway;
  return {
    ...DEFAULT_PRIVACY,
    padding: config.interface.padding,
    ...(g ? { exit: g.exit === 'auto' ? BEST_EXIT : g.exit, killSwitch: g.killSwitch, dns: g.dns.enabled ? 'on' : 'off', hops: g.hops } : {}),
  };
}

/** The exit offer in effect: the saved one, else whether the config offers an exit. */
export function exitOfferOf(s: Settings, config: Config | null): ExitOffer {
  if (s.exitOffer) return { ...s.exitOffer };
  if (!config) return { ...DEFAULT_EXIT_OFFER };
  return { enabled: config.exit !== null, acceptRisk: config.exit !== null };
}

/** A device's policy in effect: its setting, else a config entry by MAC or IP, else the default policy. */
export function deviceSettingOf(s: Settings, config: Config | null, mac: string, ip: string | null): DeviceSetting {
  const saved = Object.hasOwn(s.devices, mac) ? s.devices[mac] : undefined;
  if (saved) return { ...saved };
  const g = config?.gateway;
  const entry = g?.devices.find((d) => d.mac === mac) ?? (ip === null ? undefined : g?.devices.find((d) => d.ip === ip));
  return { policy: entry?.policy ?? g?.defaultPolicy ?? DEFAULT_DEVICE.policy, exit: BEST_EXIT, ...(entry?.hops ? { hops: entry.hops } : {}) };
}
