// DaemonAdminApi over temporary data directories and faked daemon seams: first run (create, join
// by invite into a second appliance), member approval, LAN devices with their settings, privacy
// and the exit offer, the status figures, and every refusal as the AdminError kind the admin maps.

import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminPaths, MAX_DEVICE_SETTINGS, type DaemonStatus } from '../../../appliance/admin/daemon-api.ts';
import { ONLINE_SECONDS } from '../../../appliance/admin/status-view.ts';
import { EXIT_RISK_WARNING, loadSettings, saveSettings } from '../../../appliance/admin/settings.ts';
import { parseConfigText } from '../../../appliance/config/load.ts';
import { AdminError, type AdminErrorKind } from '../../../appliance/control/admin-types.ts';
import { decodeInvite } from '../../../appliance/network/invite.ts';
import { admit, loadNetwork, saveNetwork } from '../../../appliance/network/store.ts';
import { AdminError as WebuiAdminError } from '../../../webui/api.ts';
import { HOSTILE, key, makeRig, type Rig } from './fixtures.ts';

const rigs: Rig[] = [];
function rig(...args: Parameters<typeof makeRig>): Rig {
  const r = makeRig(...args);
  rigs.push(r);
  return r;
}
afterAll(() => rigs.forEach((r) => r.cleanup()));

/** The kind and message of the AdminError `p` rejects with. */
async function refusal(p: Promise<unknown>): Promise<{ kind: AdminErrorKind; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AdminError) return { kind: e.kind, message: e.message };
    throw e;
  }
  throw new Error('not refused');
}

const CONFIG = `[interface]\nprivate_key = "${key(7)}"\nwire = "wireguard"\naddress = ["100.80.0.1/10"]
[gateway]\nlan = "br-lan"\nwan = "eth0"\nkill_switch = "always"
[[gateway.device]]\nname = "laptop"\nmac = "02:00:00:00:00:02"\npolicy = "direct"\n`;

describe('first run: create and join', () => {
  const a = rig();
  const b = rig();
  let invite = '';

  test('a fresh appliance has no network: no invite, zero figures, no key yet', async () => {
    expect(await a.api.network()).toEqual({ hasNetwork: false, name: null, pending: [], approved: [], revoked: [], generation: 0, previousUntil: null });
    expect(await refusal(a.api.invite())).toMatchObject({ kind: 'conflict' });
    expect(await a.api.status()).toEqual({
      interfaceName: '', publicKey: '', uptimeSeconds: 0, rxBytes: 0, txBytes: 0, peersOnline: 0, peersTotal: 0, exit: null,
      health: { tunnel: false, dns: false, killSwitch: false },
    });
    expect(await a.api.peers()).toEqual([]);
  });

  test('the class thrown is the one webui tells apart with instanceof', () => {
    expect(WebuiAdminError).toBe(AdminError);
  });

  test('a name over 32 bytes is invalid, and nothing is written', async () => {
    expect(await refusal(a.api.createNetwork('ü'.repeat(20)))).toEqual({ kind: 'invalid', message: 'Network name must be 1 to 32 bytes of UTF-8, got 40; choose another name.' });
    expect(existsSync(join(a.dataDir, 'private.key'))).toBe(false);
    expect(existsSync(join(a.dataDir, 'network.toml'))).toBe(false);
  });

  test('create: network file and key (0600), the node approved under its name, the daemon told', async () => {
    const net = await a.api.createNetwork('  home ');
    expect(net).toMatchObject({ hasNetwork: true, name: 'home', pending: [], revoked: [] });
    expect(net.approved).toHaveLength(1);
    expect(net.approved[0]).toMatchObject({ name: 'this-appliance', since: '2025-01-15T12:00:00.000Z' });
    for (const f of ['network.toml', 'private.key']) expect(statSync(join(a.dataDir, f)).mode & 0o777).toBe(0o600);
    expect(a.networkChanges).toBe(1);
    // Before the tunnel is up, the dashboard already shows the node's key.
    expect((await a.api.status()).publicKey).toBe(net.approved[0]?.publicKey ?? 'missing');
  });

  test('the invite carries the network file\'s name and secret', async () => {
    invite = await a.api.invite();
    const decoded = decodeInvite(invite);
    const stored = loadNetwork(join(a.dataDir, 'network.toml'));
    expect(decoded.name).toBe('home');
    expect(decoded.secret).toEqual(stored.secret);
  });

  test('a second network is a conflict, by create or by another invite', async () => {
    expect(await refusal(a.api.createNetwork('other'))).toMatchObject({ kind: 'conflict', message: expect.stringContaining('already belongs to network “home”') });
    const other = rig();
    await other.api.createNetwork('elsewhere');
    expect(await refusal(a.api.joinNetwork(await other.api.invite()))).toMatchObject({ kind: 'conflict' });
    expect(a.networkChanges).toBe(1);
  });

  test('a bad invite is invalid with the decoder\'s reason, and nothing is written', async () => {
    const typo = `${invite.slice(0, 12)}${invite[12] === 'a' ? 'b' : 'a'}${invite.slice(13)}`;
    expect(await refusal(b.api.joinNetwork('hello'))).toEqual({ kind: 'invalid', message: 'Not a Warren invite: an invite starts with "warren1:"' });
    expect(await refusal(b.api.joinNetwork(typo))).toMatchObject({ kind: 'invalid', message: expect.stringContaining('checksum does not match') });
    expect(await refusal(b.api.joinNetwork(invite.slice(0, -4)))).toMatchObject({ kind: 'invalid', message: expect.stringContaining('truncated') });
    expect(existsSync(b.dataDir)).toBe(false);
  });

  test('a photo without an invite is invalid with the reason; a photo of the invite joins (a third appliance)', async () => {
    const QRCode = (await import('qrcode')).default;
    const photo = async (text: string) => new Uint8Array(await QRCode.toBuffer(text, { type: 'png', scale: 6 }));
    expect(await refusal(b.api.joinNetworkPhoto(new TextEncoder().encode('not a picture')))).toMatchObject({ kind: 'invalid', message: expect.stringContaining('not a photo') });
    expect(await refusal(b.api.joinNetworkPhoto(await photo('HELLO')))).toMatchObject({ kind: 'invalid', message: 'Not a Warren invite: an invite starts with "warren1:"' });
    expect(existsSync(b.dataDir)).toBe(false);
    const c = rig();
    expect(await c.api.joinNetworkPhoto(await photo(invite.toUpperCase()))).toMatchObject({ hasNetwork: true, name: 'home' });
    expect(loadNetwork(join(c.dataDir, 'network.toml')).secret).toEqual(loadNetwork(join(a.dataDir, 'network.toml')).secret);
  });

  test('join: a second appliance gets the same secret and its own key; joining again changes nothing', async () => {
    const net = await b.api.joinNetwork(` ${invite.toUpperCase()}\n`);
    expect(net).toMatchObject({ hasNetwork: true, name: 'home' });
    const na = loadNetwork(join(a.dataDir, 'network.toml'));
    const nb = loadNetwork(join(b.dataDir, 'network.toml'));
    expect(nb.secret).toEqual(na.secret);
    expect(nb.approved.map((m) => m.key)).not.toEqual(na.approved.map((m) => m.key));
    expect(b.networkChanges).toBe(1);
    expect(await b.api.joinNetwork(invite)).toEqual(net);
    expect(b.networkChanges).toBe(1);
  });
});

describe('members', () => {
  const r = rig();
  const [P1, P2, P3] = [key(11), key(12), key(13)];
  let self = '';

  test('pending devices (recorded by discovery) are approved, denied and revoked', async () => {
    expect(await refusal(r.api.approve(P1))).toMatchObject({ kind: 'conflict' }); // no network yet
    self = (await r.api.createNetwork('home')).approved[0]?.publicKey ?? '';
    const path = join(r.dataDir, 'network.toml');
    let net = loadNetwork(path);
    for (const [k, name] of [[P1, 'phone'], [P2, HOSTILE], [P3, 'tablet']] as const) net = admit(net, k, name, new Date('2025-01-14T00:00:00Z')).network;
    saveNetwork(path, net);
    expect((await r.api.network()).pending.map((m) => m.name)).toEqual(['phone', HOSTILE, 'tablet']);

    const approved = await r.api.approve(P1);
    expect(approved.approved.map((m) => m.publicKey)).toEqual([self, P1]);
    expect(approved.approved[1]).toMatchObject({ name: 'phone', since: '2025-01-15T12:00:00.000Z' });
    const denied = await r.api.deny(P2);
    expect(denied.pending.map((m) => m.publicKey)).toEqual([P3]);
    expect(denied.revoked.map((m) => m.publicKey)).toEqual([P2]);
    const revoked = await r.api.revoke(P1);
    expect(revoked.approved.map((m) => m.publicKey)).toEqual([self]);
    expect(revoked.revoked.map((m) => m.publicKey)).toEqual([P2, P1]);
    // Taken back: a revoked key can be approved again.
    expect((await r.api.approve(P2)).approved.map((m) => m.publicKey)).toEqual([self, P2]);
    // What the API answered is what the file holds.
    expect((await r.api.network()).revoked.map((m) => m.publicKey)).toEqual(loadNetwork(path).revoked.map((m) => m.key));
  });

  test('refusals: unknown keys are not found, a non-key is invalid, the node cannot revoke itself', async () => {
    expect(await refusal(r.api.approve(key(99)))).toMatchObject({ kind: 'not-found' });
    expect(await refusal(r.api.deny(key(99)))).toMatchObject({ kind: 'not-found' });
    expect(await refusal(r.api.deny(P2))).toMatchObject({ kind: 'not-found' }); // approved, not pending
    expect(await refusal(r.api.revoke(key(99)))).toMatchObject({ kind: 'not-found' });
    expect(await refusal(r.api.approve('AAAA'))).toMatchObject({ kind: 'invalid' });
    expect(await refusal(r.api.revoke(self))).toMatchObject({ kind: 'invalid', message: expect.stringContaining('own key') });
    // Idempotent where it is harmless.
    expect((await r.api.approve(P2)).approved.map((m) => m.publicKey)).toEqual([self, P2]);
    expect((await r.api.revoke(P1)).revoked.map((m) => m.publicKey)).toContain(P1);
  });

  test('a broken network file is unavailable, naming the field', async () => {
    const path = join(r.dataDir, 'network.toml');
    const good = readFileSync(path, 'utf8');
    writeFileSync(path, good.replace(/^name = .*$/m, 'name = 5'));
    expect(await refusal(r.api.network())).toMatchObject({ kind: 'unavailable', message: expect.stringContaining(': name:') });
    writeFileSync(path, good);
  });
});

describe('LAN devices and their settings', () => {
  const config = parseConfigText(CONFIG);
  const r = rig({ config: () => config });

  test('seen devices with names from the leases and policies from the config (a setting wins)', async () => {
    const devices = await r.api.devices();
    expect(devices.map((d) => [d.mac, d.ip, d.hostname, d.policy, d.exit])).toEqual([
      ['02:00:00:00:00:01', '192.168.8.10', 'living-room-tv', 'overlay', 'best'],
      ['02:00:00:00:00:02', '192.168.8.11', null, 'direct', 'best'],
      ['02:00:00:00:00:03', '192.168.8.12', HOSTILE, 'overlay', 'best'],
      ['02:00:00:00:00:04', '192.168.8.13', null, 'overlay', 'best'],
      ['02:00:00:00:00:05', '192.168.8.14', 'a'.repeat(63), 'overlay', 'best'],
    ]);
  });

  test('setDevicePolicy stores by lower-case MAC (0600), tells the daemon, answers with the device', async () => {
    const device = await r.api.setDevicePolicy(' 02:00:00:00:00:01 ', { policy: 'block', exit: 'best' });
    expect(device).toEqual({ mac: '02:00:00:00:00:01', ip: '192.168.8.10', hostname: 'living-room-tv', policy: 'block', exit: 'best' });
    expect(loadSettings(r.settingsPath).devices).toEqual({ '02:00:00:00:00:01': { policy: 'block', exit: 'best', name: 'living-room-tv' } });
    expect(statSync(r.settingsPath).mode & 0o777).toBe(0o600);
    expect(r.settingsChanges).toHaveLength(1);
    expect(r.settingsChanges[0]?.devices['02:00:00:00:00:01']?.policy).toBe('block');
    const overlay = await r.api.setDevicePolicy('02:00:00:00:00:02', { policy: 'overlay', exit: key(2) });
    expect(overlay).toMatchObject({ policy: 'overlay', exit: key(2) });
    expect(r.settingsChanges).toHaveLength(2);
    // A hop count of its own is kept, listed, and handed to the daemon.
    expect(await r.api.setDevicePolicy('02:00:00:00:00:02', { policy: 'overlay', exit: key(2), hops: 3 })).toMatchObject({ hops: 3 });
    expect(loadSettings(r.settingsPath).devices['02:00:00:00:00:02']?.hops).toBe(3);
    expect(r.settingsChanges.at(-1)?.devices['02:00:00:00:00:02']?.hops).toBe(3);
    expect(await r.api.setDevicePolicy('02:00:00:00:00:02', { policy: 'overlay', exit: key(2) })).not.toHaveProperty('hops'); // back to Privacy's
  });

  test('at most 8 different exits of their own, and MAX_DEVICE_SETTINGS devices; refused with a sentence, nothing written', async () => {
    const saved = loadSettings(r.settingsPath);
    saveSettings(r.settingsPath, { ...saved, devices: {} });
    const mac = (i: number) => `02:00:00:00:01:${i.toString(16).padStart(2, '0')}`;
    for (let i = 0; i < 8; i++) await r.api.setDevicePolicy(mac(i), { policy: 'overlay', exit: key(10 + i) });
    await expect(r.api.setDevicePolicy(mac(8), { policy: 'overlay', exit: key(30) })).rejects.toThrow(/at most 8 different exits/);
    expect(await r.api.setDevicePolicy(mac(8), { policy: 'overlay', exit: key(10) })).toMatchObject({ exit: key(10) }); // one in use: fine
    expect(Object.keys(loadSettings(r.settingsPath).devices)).toHaveLength(9);
    const many = Object.fromEntries(Array.from({ length: MAX_DEVICE_SETTINGS }, (_, i) => [`02:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}:99`, { policy: 'direct' as const, exit: 'best' }]));
    saveSettings(r.settingsPath, { ...loadSettings(r.settingsPath), devices: many });
    await expect(r.api.setDevicePolicy('02:00:00:00:00:77', { policy: 'block', exit: 'best' })).rejects.toThrow(/At most 1024 devices/);
    expect(await r.api.setDevicePolicy(Object.keys(many)[0]!, { policy: 'block', exit: 'best' })).toMatchObject({ policy: 'block' }); // one already set: fine
    saveSettings(r.settingsPath, saved); // the tests after this one continue from what was there
  });

  test('a device away from the LAN keeps its setting and is still listed (no address)', async () => {
    expect(await r.api.setDevicePolicy('02:00:00:00:00:AA', { policy: 'direct', exit: 'best' })).toEqual({ mac: '02:00:00:00:00:aa', ip: '', hostname: null, policy: 'direct', exit: 'best' });
    r.neigh.stdout = '[]';
    const devices = await r.api.devices();
    expect(devices).toEqual([
      { mac: '02:00:00:00:00:01', ip: '', hostname: 'living-room-tv', policy: 'block', exit: 'best' },
      { mac: '02:00:00:00:00:02', ip: '', hostname: null, policy: 'overlay', exit: key(2) },
      { mac: '02:00:00:00:00:aa', ip: '', hostname: null, policy: 'direct', exit: 'best' },
    ]);
  });

  test('when the LAN cannot be listed, stored devices still show and the failure is logged once', async () => {
    r.neigh.code = 1;
    await r.api.devices();
    await r.api.devices();
    expect((await r.api.devices()).map((d) => d.mac)).toEqual(['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:aa']);
    expect(r.adminLog.filter((l) => l.includes('Cannot find device'))).toHaveLength(1);
    r.neigh.code = 0;
  });

  test('the LAN is listed at most every lanCacheMs (the runner blocks the main thread)', async () => {
    const cached = rig({ lanCacheMs: 60_000 });
    await cached.api.devices();
    await cached.api.setDevicePolicy('02:00:00:00:00:03', { policy: 'direct', exit: 'best' });
    expect((await cached.api.devices()).find((d) => d.mac === '02:00:00:00:00:03')).toMatchObject({ hostname: HOSTILE, policy: 'direct' });
    expect(cached.neigh.calls).toBe(1);
    const plain = rig({ lan: null });
    expect(await plain.api.devices()).toEqual([]);
    expect(plain.neigh.calls).toBe(0);
  });

  test('refusals: a bad MAC, policy or exit is invalid and changes nothing', async () => {
    const before = readFileSync(r.settingsPath, 'utf8');
    const changes = r.settingsChanges.length;
    expect(await refusal(r.api.setDevicePolicy('02:00:00:00:00', { policy: 'block', exit: 'best' }))).toMatchObject({ kind: 'invalid' });
    expect(await refusal(r.api.setDevicePolicy('02:00:00:00:00:01', { policy: 'tunnel' as 'block', exit: 'best' }))).toMatchObject({ kind: 'invalid', message: expect.stringContaining('"overlay", "direct", "block"') });
    expect(await refusal(r.api.setDevicePolicy('02:00:00:00:00:01', { policy: 'overlay', exit: 'fastest' }))).toMatchObject({ kind: 'invalid' });
    expect(readFileSync(r.settingsPath, 'utf8')).toBe(before);
    expect(r.settingsChanges).toHaveLength(changes);
  });

  test('a corrupted settings file is unavailable, naming the field; the daemon is not told', async () => {
    const before = readFileSync(r.settingsPath, 'utf8');
    writeFileSync(r.settingsPath, before.replace('"block"', '"blocked"'));
    expect(await refusal(r.api.devices())).toMatchObject({ kind: 'unavailable', message: expect.stringContaining('devices["02:00:00:00:00:01"].policy') });
    expect(await refusal(r.api.setDevicePolicy('02:00:00:00:00:03', { policy: 'block', exit: 'best' }))).toMatchObject({ kind: 'unavailable' });
    writeFileSync(r.settingsPath, before);
  });
});

describe('privacy and the exit offer', () => {
  const config = parseConfigText(CONFIG);
  const r = rig({ config: () => config });

  test('privacy: the config\'s values until the owner saves; saved, persisted and told', async () => {
    expect(await r.api.privacy()).toEqual({ hops: 1, exit: 'best', killSwitch: 'always', dns: 'on', padding: 'bucket' });
    const want = { hops: 2 as const, exit: key(2), killSwitch: 'on' as const, dns: 'off' as const, padding: 'mtu' as const };
    expect(await r.api.setPrivacy(want)).toEqual(want);
    expect(await r.api.privacy()).toEqual(want);
    expect(loadSettings(r.settingsPath).privacy).toEqual(want);
    expect(r.settingsChanges.at(-1)?.privacy).toEqual(want);
    expect(await refusal(r.api.setPrivacy({ ...want, hops: 4 as 3 }))).toMatchObject({ kind: 'invalid', message: 'Expected one of 1, 2, 3.' });
  });

  test('exit offer: needs acceptRisk (the legal warning), then persisted and told', async () => {
    expect(await r.api.exitOffer()).toEqual({ enabled: false, acceptRisk: false });
    expect(await refusal(r.api.setExitOffer({ enabled: true, acceptRisk: false }))).toEqual({ kind: 'invalid', message: EXIT_RISK_WARNING });
    expect(await r.api.setExitOffer({ enabled: true, acceptRisk: true })).toEqual({ enabled: true, acceptRisk: true });
    expect(loadSettings(r.settingsPath).exitOffer).toEqual({ enabled: true, acceptRisk: true });
    expect(r.settingsChanges.at(-1)?.exitOffer).toEqual({ enabled: true, acceptRisk: true });
    expect(await r.api.setExitOffer({ enabled: false, acceptRisk: false })).toEqual({ enabled: false, acceptRisk: false });
  });

  test('an exit offer without any WAN in the config is a conflict that says what to add', async () => {
    const plain = parseConfigText(`[interface]\nprivate_key = "${key(7)}"\nwire = "wireguard"\naddress = ["100.80.0.1/10"]\n`);
    const p = rig({ config: () => plain });
    expect(await refusal(p.api.setExitOffer({ enabled: true, acceptRisk: true }))).toMatchObject({ kind: 'conflict', message: expect.stringContaining('[gateway]') });
    expect(existsSync(p.settingsPath)).toBe(false);
  });

  test('a hook that fails: the setting is saved, the owner is told it applies on restart', async () => {
    const failing = rig({ onSettingsChanged: () => Promise.reject(new Error('nft: table busy')) });
    expect(await refusal(failing.api.setPrivacy({ hops: 1, exit: 'best', killSwitch: 'on', dns: 'on', padding: 'off' }))).toMatchObject({
      kind: 'unavailable',
      message: expect.stringContaining('saved, but Warren could not apply it yet: nft: table busy'),
    });
    expect(loadSettings(failing.settingsPath).privacy?.padding).toBe('off');
  });
});

describe('status, peers and logs', () => {
  const r = rig();
  const status: DaemonStatus = {
    interface: 'warren0',
    publicKey: key(1),
    uptimeSeconds: 3600,
    peers: [
      { name: 'grandma', publicKey: key(2), endpoint: '198.51.100.7:40123', lastHandshakeSecondsAgo: 42, rxBytes: 1000, txBytes: 10, rttMs: 23 },
      { name: 'office', publicKey: key(3), endpoint: null, lastHandshakeSecondsAgo: ONLINE_SECONDS, rxBytes: 500, txBytes: 5, path: 'relay' },
      { name: HOSTILE, publicKey: key(4), endpoint: null, lastHandshakeSecondsAgo: null, rxBytes: 0, txBytes: 0 },
    ],
    gateway: { exit: { name: 'grandma', publicKey: key(2) }, dns: true, killSwitch: 'on' },
  };

  test('status: totals over peers, online within 180 s, the exit with its latency, health', async () => {
    r.status.current = status;
    expect(await r.api.status()).toEqual({
      interfaceName: 'warren0', publicKey: key(1), uptimeSeconds: 3600, rxBytes: 1500, txBytes: 15, peersOnline: 1, peersTotal: 3,
      exit: { name: 'grandma', publicKey: key(2), latencyMs: 23 },
      health: { tunnel: true, dns: true, killSwitch: true },
    });
    r.status.current = { ...status, gateway: null, peers: status.peers.slice(1) };
    expect(await r.api.status()).toMatchObject({ peersOnline: 0, exit: null, health: { tunnel: false, dns: false, killSwitch: false } });
  });

  test('the daemon\'s status is built at most once per statusReuseMs for the pages that ask for it', async () => {
    const reused = rig({ statusReuseMs: 60_000 });
    let built = 0;
    reused.status.current = status;
    const deps = reused.api as unknown as { deps: { status: () => DaemonStatus | null } };
    const real = deps.deps.status;
    deps.deps.status = () => {
      built++;
      return real();
    };
    await reused.api.status();
    await reused.api.peers();
    await reused.api.ports();
    expect(built).toBe(1);
    expect((await reused.api.status()).peersTotal).toBe(3);
  });

  test('peers: unknown figures are null, the path defaults to direct', async () => {
    r.status.current = status;
    const peers = await r.api.peers();
    expect(peers[0]).toEqual({ name: 'grandma', publicKey: key(2), endpoint: '198.51.100.7:40123', rttMs: 23, lossPercent: null, rxBytes: 1000, txBytes: 10, rxBytesPerSecond: 0, txBytesPerSecond: 0, upSeconds: null, path: 'direct', lastHandshakeSecondsAgo: 42 });
    expect(peers.map((p) => p.path)).toEqual(['direct', 'relay', 'direct']);
    expect(peers[2]).toMatchObject({ name: HOSTILE, lastHandshakeSecondsAgo: null, rttMs: null });
  });

  test('ports: the devices\' ports at the exit\'s address, the ports held as an exit at members\' overlay addresses; none without the figure', async () => {
    r.status.current = {
      ...status,
      ports: {
        home: [{ client: '192.168.1.10', proto: 'tcp', internal: 8080, external: 51413, exitAddress: '203.0.113.20', expiresInSeconds: 3599 }],
        exit: [{ proto: 'udp', external: 6881, memberAddr: '100.80.0.7', inner: 4000, expiresInSeconds: 12 }],
      },
    };
    expect(await r.api.ports()).toEqual({
      devices: [{ proto: 'tcp', external: '203.0.113.20:51413', to: '192.168.1.10:8080', expiresInSeconds: 3599 }],
      asExit: [{ proto: 'udp', external: '6881', to: '100.80.0.7:4000', expiresInSeconds: 12 }],
    });
    r.status.current = status;
    expect(await r.api.ports()).toEqual({ devices: [], asExit: [] });
  });

  test('logs: the most recent lines, oldest first', async () => {
    for (let i = 0; i < 10; i++) r.ring.push(`line ${i}`);
    expect(await r.api.logs(3)).toEqual(['line 7', 'line 8', 'line 9']);
    expect(await r.api.logs(0)).toEqual([]);
    expect(await r.api.logs(100)).toHaveLength(10);
  });
});

describe('adminPaths', () => {
  test('the data directory is the network file\'s, the leases are beside the control socket, the LAN is the gateway\'s', () => {
    const r = rig();
    const dir = join(r.root, 'state');
    const c = parseConfigText(`${CONFIG.replace('wire = "wireguard"\n', '')}[network]\nfile = "${join(dir, 'network.toml')}"\n[control]\nsocket = "/run/w/warren.sock"\n`, (p) => {
      if (p.endsWith('network.toml')) return `name = "home"\nsecret = "${key(5)}"\n`;
      throw new Error(`unexpected read ${p}`);
    });
    expect(adminPaths(c)).toEqual({ dataDir: dir, settingsPath: join(dir, 'settings.json'), runDir: '/run/w', lan: 'br-lan' });
    expect(adminPaths(null)).toEqual({ dataDir: '/var/lib/warren', settingsPath: '/var/lib/warren/settings.json', runDir: '/run/warren', lan: null });
  });
});
