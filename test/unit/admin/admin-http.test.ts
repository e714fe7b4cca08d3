// The real web admin (createAdmin) over DaemonAdminApi, on loopback with temporary directories:
// first run through HTTP (password, then a network) writes network.toml and the key into the
// data directory; then the invite, the devices page (a hostile host name escaped), a device
// policy, privacy, the exit offer and the support bundle, each reaching the files.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings } from '../../../appliance/admin/settings.ts';
import { decodeInvite } from '../../../appliance/network/invite.ts';
import { loadNetwork } from '../../../appliance/network/store.ts';
import { createAdmin, type Admin } from '../../../webui/app.ts';
import { Client, PASSWORD } from '../webui/harness.ts';
import { HOSTILE, makeRig, type Rig } from './fixtures.ts';

let rig: Rig;
let admin: Admin;
const browser = () => new Client(admin.url);
let owner: Client;

beforeAll(() => {
  rig = makeRig({}, 'warren-admin-http-');
  const stateDir = join(rig.root, 'admin');
  mkdirSync(stateDir);
  admin = createAdmin({ api: rig.api, hostname: '127.0.0.1', port: 0, stateDir, sampler: { intervalMs: 60_000, keep: 60 }, log: (line) => rig.adminLog.push(line) });
});
afterAll(async () => {
  await admin.stop();
  rig.cleanup();
});

describe('first run over HTTP', () => {
  test('set the password, then the wizard asks for a network', async () => {
    owner = browser();
    await owner.csrfFrom('/setup');
    const res = await owner.post('/setup', { _csrf: owner.csrf, password: PASSWORD, confirm: PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/setup/network');
    expect((await owner.get('/')).headers.get('location')).toBe('/setup/network');
  });

  test('create a network: network.toml and private.key appear in the data directory', async () => {
    await owner.csrfFrom('/setup/network');
    const res = await owner.post('/setup/create', { _csrf: owner.csrf, name: 'home' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    for (const f of ['network.toml', 'private.key']) {
      expect(existsSync(join(rig.dataDir, f))).toBe(true);
      expect(statSync(join(rig.dataDir, f)).mode & 0o777).toBe(0o600);
    }
    expect(loadNetwork(join(rig.dataDir, 'network.toml')).name).toBe('home');
    expect(rig.networkChanges).toBe(1);
  });

  test('the dashboard renders before any tunnel runs', async () => {
    const dash = await owner.get('/');
    expect(dash.status).toBe(200);
    expect(await dash.text()).toContain('network “home”');
  });

  test('creating again is refused: the appliance already has a network', async () => {
    const res = await owner.post('/setup/create', { _csrf: owner.csrf, name: 'other' });
    expect(res.status).toBe(409);
    expect(loadNetwork(join(rig.dataDir, 'network.toml')).name).toBe('home');
  });
});

describe('after the first run', () => {
  // The session's CSRF token, read from a signed-in page, for the htmx-style posts below.
  beforeAll(() => owner.csrfFrom('/privacy'));

  test('the invite shown carries the network file\'s secret', async () => {
    const text = await (await owner.get('/network/invite', { 'hx-request': 'true' })).text();
    const invite = /(warren1:[a-z2-7]+)/.exec(text)?.[1] ?? '';
    expect(decodeInvite(invite).secret).toEqual(loadNetwork(join(rig.dataDir, 'network.toml')).secret);
  });

  test('devices: names from the leases, a hostile one escaped', async () => {
    const text = await (await owner.get('/devices')).text();
    expect(text).toContain('living-room-tv');
    expect(text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(text).not.toContain(HOSTILE);
  });

  test('a device policy posted in place is saved in settings.json and the daemon is told', async () => {
    const res = await owner.hx('/devices/02:00:00:00:00:01', { policy: 'block' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Saved.');
    expect(loadSettings(rig.settingsPath).devices['02:00:00:00:00:01']).toEqual({ policy: 'block', exit: 'best', name: 'living-room-tv' });
    expect(rig.settingsChanges.at(-1)?.devices['02:00:00:00:00:01']?.policy).toBe('block');
  });

  test('privacy and the exit offer reach the settings file; an offer without the risk box is refused', async () => {
    expect((await owner.hx('/privacy', { hops: '2', exit: 'best', killSwitch: 'always', dns: 'on', padding: 'mtu' })).status).toBe(200);
    expect(loadSettings(rig.settingsPath).privacy).toEqual({ hops: 2, exit: 'best', killSwitch: 'always', dns: 'on', padding: 'mtu' });
    const refused = await owner.hx('/settings/exit-offer', { enabled: 'on' });
    expect(await refused.text()).toContain('Tick the warning box first');
    expect(loadSettings(rig.settingsPath).exitOffer).toBeNull();
    expect((await owner.hx('/settings/exit-offer', { enabled: 'on', acceptRisk: 'on' })).status).toBe(200);
    expect(loadSettings(rig.settingsPath).exitOffer).toEqual({ enabled: true, acceptRisk: true });
  });

  test('the support bundle downloads with no key or invite in it', async () => {
    rig.ring.push(`warren: invite ${await rig.api.invite()}`);
    const res = await owner.get('/diagnostics/support-bundle');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('name: home');
    expect(text).not.toMatch(/[A-Za-z0-9+/]{43}=/);
    expect(text).not.toMatch(/warren1:[a-z2-7]{8,}/);
  });

  test('a stranger without the session changes nothing', async () => {
    const stranger = browser();
    const res = await stranger.post('/devices/02:00:00:00:00:02', { policy: 'block' });
    expect([303, 401, 403]).toContain(res.status);
    expect(loadSettings(rig.settingsPath).devices['02:00:00:00:00:02']).toBeUndefined();
  });
});
