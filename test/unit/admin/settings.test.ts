// The owner's settings file: round trip (0600, atomic), every corruption named by field, and the
// merge into a real parsed config (settings win where the owner chose, the config holds elsewhere).

import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  validateDeviceSetting,
  applySettings,
  DEFAULT_EXIT_OFFER,
  DEFAULT_PRIVACY,
  deviceSettingOf,
  emptySettings,
  EXIT_RISK_WARNING,
  exitOfferOf,
  exitOfferProblem,
  loadSettings,
  privacyOf,
  saveSettings,
  SettingsError,
  type Settings,
} from '../../../appliance/admin/settings.ts';
import { parseConfigText } from '../../../appliance/config/load.ts';
import { encodeKey } from '../../../appliance/config/schema.ts';

const tmp = mkdtempSync(join(tmpdir(), 'warren-settings-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const KEY = encodeKey(new Uint8Array(32).fill(7));
const EXIT = encodeKey(new Uint8Array(32).fill(9));
const BASE = `[interface]\nprivate_key = "${KEY}"\nwire = "wireguard"\naddress = ["100.80.0.1/10"]\n`;
const GATEWAY = `${BASE}[gateway]\nlan = "br-lan"\nwan = "eth0"\nkill_switch = "always"\ndns = false
[[gateway.device]]\nname = "tv"\nmac = "02:00:00:00:00:20"\npolicy = "direct"
[[gateway.device]]\nname = "printer"\nip = "192.168.1.9"\npolicy = "block"\n`;

const SAMPLE: Settings = {
  devices: {
    '02:00:00:00:00:20': { policy: 'overlay', exit: EXIT, name: 'tv' },
    '02:00:00:00:00:30': { policy: 'block', exit: 'best' },
  },
  privacy: { hops: 2, exit: EXIT, killSwitch: 'on', dns: 'on', padding: 'mtu' },
  exitOffer: { enabled: true, acceptRisk: true },
};

function write(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

/** The field a settings text is refused for. */
function fieldOf(doc: unknown): string {
  const path = write('bad.json', typeof doc === 'string' ? doc : JSON.stringify(doc));
  try {
    loadSettings(path);
  } catch (e) {
    if (e instanceof SettingsError) return `${e.kind}:${e.field ?? ''}`;
    throw e;
  }
  throw new Error('accepted');
}

describe('settings file', () => {
  test('a missing file is no choice yet: the defaults show, with or without a config', () => {
    const s = loadSettings(join(tmp, 'nothing-here.json'));
    expect(s).toEqual(emptySettings());
    expect(privacyOf(s, null)).toEqual({ hops: 1, exit: 'best', killSwitch: 'on', dns: 'on', padding: 'bucket' });
    expect(exitOfferOf(s, null)).toEqual({ enabled: false, acceptRisk: false });
    expect(deviceSettingOf(s, null, '02:00:00:00:00:01', '192.168.1.5')).toEqual({ policy: 'overlay', exit: 'best' });
    expect(DEFAULT_PRIVACY).toEqual(privacyOf(s, null));
    expect(DEFAULT_EXIT_OFFER).toEqual(exitOfferOf(s, null));
  });

  test('round trip: written 0600 and atomically (no temp file left), read back equal', () => {
    const dir = join(tmp, 'rt', 'nested');
    const path = join(dir, 'settings.json');
    saveSettings(path, SAMPLE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['settings.json']);
    expect(loadSettings(path)).toEqual(SAMPLE);
    saveSettings(path, { ...SAMPLE, privacy: null, exitOffer: null });
    expect(loadSettings(path)).toEqual({ ...SAMPLE, privacy: null, exitOffer: null });
  });

  test('a corrupted or hand-edited file is refused naming the field', () => {
    const good = { version: 1, devices: { '02:00:00:00:00:20': { policy: 'direct', exit: 'best' } }, privacy: { ...DEFAULT_PRIVACY }, exitOffer: { ...DEFAULT_EXIT_OFFER } };
    expect(fieldOf('{"devices": {')).toBe('parse:');
    expect(fieldOf('[]')).toBe('field:(top level)');
    expect(fieldOf({ ...good, version: 2 })).toBe('field:version');
    expect(fieldOf({ ...good, colour: 'red' })).toBe('field:colour');
    expect(fieldOf({ ...good, devices: [] })).toBe('field:devices');
    expect(fieldOf({ ...good, devices: { 'not-a-mac': { policy: 'direct', exit: 'best' } } })).toBe('field:devices["not-a-mac"]');
    expect(fieldOf({ ...good, devices: { '02:AA:00:00:00:20': { policy: 'direct', exit: 'best' } } })).toBe('field:devices["02:AA:00:00:00:20"]');
    expect(fieldOf({ ...good, devices: { '02:00:00:00:00:20': { policy: 'tunnel', exit: 'best' } } })).toBe('field:devices["02:00:00:00:00:20"].policy');
    expect(fieldOf({ ...good, devices: { '02:00:00:00:00:20': { policy: 'direct', exit: 'fastest' } } })).toBe('field:devices["02:00:00:00:00:20"].exit');
    expect(fieldOf({ ...good, devices: { '02:00:00:00:00:20': { policy: 'direct', exit: 'best', name: 'x'.repeat(64) } } })).toBe('field:devices["02:00:00:00:00:20"].name');
    expect(fieldOf({ ...good, devices: { '02:00:00:00:00:20': { policy: 'direct', exit: 'best', ip: '1.2.3.4' } } })).toBe('field:devices["02:00:00:00:00:20"].ip');
    expect(fieldOf({ ...good, privacy: { ...DEFAULT_PRIVACY, hops: 4 } })).toBe('field:privacy.hops');
    expect(fieldOf({ ...good, privacy: { ...DEFAULT_PRIVACY, hops: '1' } })).toBe('field:privacy.hops');
    expect(fieldOf({ ...good, privacy: { ...DEFAULT_PRIVACY, killSwitch: 'off' } })).toBe('field:privacy.killSwitch');
    expect(fieldOf({ ...good, privacy: { ...DEFAULT_PRIVACY, dns: true } })).toBe('field:privacy.dns');
    expect(fieldOf({ ...good, privacy: { ...DEFAULT_PRIVACY, padding: 'max' } })).toBe('field:privacy.padding');
    expect(fieldOf({ ...good, privacy: 'on' })).toBe('field:privacy');
    expect(fieldOf({ ...good, exitOffer: { enabled: 'yes', acceptRisk: true } })).toBe('field:exitOffer.enabled');
    expect(fieldOf({ ...good, exitOffer: { enabled: true, acceptRisk: false } })).toBe('field:exitOffer.acceptRisk');
  });

  test('the error says which file and what is expected', () => {
    const path = write('hops.json', JSON.stringify({ privacy: { ...DEFAULT_PRIVACY, hops: 9 } }));
    expect(() => loadSettings(path)).toThrow(`settings file ${path}: privacy.hops: expected one of 1, 2, 3`);
  });

  test('a file that cannot be read is a read error, not "no settings"', () => {
    const dir = join(tmp, 'a-directory.json');
    saveSettings(join(dir, 'x.json'), emptySettings());
    expect(() => loadSettings(dir)).toThrow(SettingsError);
  });
});

describe('applySettings on a parsed config', () => {
  const config = parseConfigText(GATEWAY);

  test('no choices: the config is unchanged (an appliance keeps "always" and its [exit])', () => {
    const withExit = parseConfigText(`${GATEWAY}[exit]\nenabled = true\naccept_risk = true\nwan = "eth1"\nrate_mbit = 20\n`);
    expect(applySettings(withExit, emptySettings())).toEqual(withExit);
    expect(privacyOf(emptySettings(), config)).toEqual({ hops: 1, exit: 'best', killSwitch: 'always', dns: 'off', padding: 'bucket' });
    expect(exitOfferOf(emptySettings(), withExit)).toEqual({ enabled: true, acceptRisk: true });
    expect(exitOfferOf(emptySettings(), config)).toEqual({ enabled: false, acceptRisk: false });
  });

  test('device policies become gateway devices by MAC, with their own exit; a setting replaces the config entry for its MAC', () => {
    const out = applySettings(config, SAMPLE);
    expect(out.gateway?.devices).toEqual([
      { name: 'printer', mac: null, ip: '192.168.1.9', policy: 'block', exit: null },
      { name: 'tv', mac: '02:00:00:00:00:20', ip: null, policy: 'overlay', exit: EXIT },
      { name: '02:00:00:00:00:30', mac: '02:00:00:00:00:30', ip: null, policy: 'block', exit: null },
    ]);
    expect(config.gateway?.devices).toHaveLength(2); // pure: the input is untouched
  });

  test('a device with its own hop count: kept in settings, a gateway device with hops; privacy\'s hops become the gateway\'s', () => {
    const s = { ...SAMPLE, devices: { '02:00:00:00:00:40': validateDeviceSetting({ policy: 'overlay', exit: 'best', hops: 3 }, 'test', 'device') } };
    const out = applySettings(config, s);
    expect(out.gateway?.devices.find((d) => d.mac === '02:00:00:00:00:40')).toMatchObject({ policy: 'overlay', hops: 3 });
    expect(out.gateway?.hops).toBe(SAMPLE.privacy!.hops);
    expect(() => validateDeviceSetting({ policy: 'overlay', exit: 'best', hops: 4 }, 'test', 'device')).toThrow(/hops/);
  });

  test('privacy: exit key or auto, kill switch, DNS, padding', () => {
    const out = applySettings(config, SAMPLE);
    expect(out.gateway).toMatchObject({ exit: EXIT, killSwitch: 'on', dns: { enabled: true, upstream: config.gateway?.dns.upstream } });
    expect(out.interface.padding).toBe('mtu');
    const best = applySettings(config, { ...SAMPLE, privacy: { hops: 1, exit: 'best', killSwitch: 'always', dns: 'off', padding: 'off' } });
    expect(best.gateway).toMatchObject({ exit: 'auto', killSwitch: 'always', dns: { enabled: false } });
    expect(best.interface.padding).toBe('off');
    expect(config.gateway).toMatchObject({ exit: 'auto', killSwitch: 'always', dns: { enabled: false } });
  });

  test('exit offer: on uses the gateway WAN (or keeps an [exit] section), off removes it', () => {
    expect(applySettings(config, SAMPLE).exit).toEqual({ wan: 'eth0', blockSmtp: true, deny: [], rateMbit: 0, forwardPorts: { first: 1024, last: 65_535 }, forwardsPerMember: 16, memberRateMbit: 0, memberConnections: 8192, wanMbit: 0 });
    const withExit = parseConfigText(`${GATEWAY}[exit]\nenabled = true\naccept_risk = true\nwan = "eth1"\nrate_mbit = 20\nblock_smtp = false\n`);
    expect(applySettings(withExit, SAMPLE).exit).toEqual({ wan: 'eth1', blockSmtp: false, deny: [], rateMbit: 20, forwardPorts: { first: 1024, last: 65_535 }, forwardsPerMember: 16, memberRateMbit: 0, memberConnections: 8192, wanMbit: 0 });
    expect(applySettings(withExit, { ...SAMPLE, exitOffer: { enabled: false, acceptRisk: true } }).exit).toBeNull();
  });

  test('without [gateway]: device and gateway choices wait, padding applies, an offer needs a WAN', () => {
    const plain = parseConfigText(BASE);
    const out = applySettings(plain, SAMPLE);
    expect(out.gateway).toBeNull();
    expect(out.exit).toBeNull();
    expect(out.interface.padding).toBe('mtu');
    expect(exitOfferProblem(plain, { enabled: true, acceptRisk: true })).toContain('no WAN interface');
    expect(exitOfferProblem(config, { enabled: true, acceptRisk: true })).toBeNull();
    expect(exitOfferProblem(config, { enabled: true, acceptRisk: false })).toBe(EXIT_RISK_WARNING);
  });

  test('a device with no setting shows the config entry (by MAC or IP), else the default policy', () => {
    const s = emptySettings();
    expect(deviceSettingOf(s, config, '02:00:00:00:00:20', '192.168.1.20').policy).toBe('direct');
    expect(deviceSettingOf(s, config, '02:00:00:00:00:99', '192.168.1.9').policy).toBe('block');
    expect(deviceSettingOf(s, config, '02:00:00:00:00:99', '192.168.1.99').policy).toBe('overlay');
    const direct = parseConfigText(`${BASE}[gateway]\nlan = "br-lan"\nwan = "eth0"\ndefault_policy = "direct"\n`);
    expect(deviceSettingOf(s, direct, '02:00:00:00:00:99', null).policy).toBe('direct');
    expect(deviceSettingOf(SAMPLE, config, '02:00:00:00:00:20', null)).toEqual({ policy: 'overlay', exit: EXIT, name: 'tv' });
  });
});
