// Bad input stops at the edge: TypeBox schemas on each route answer 4xx before a handler runs,
// and every route that takes a body, parameters or a query declares a schema for it.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sampleKey } from '../../../webui/fake-api.ts';
import { Client, startAdmin, type Harness } from './harness.ts';

let h: Harness;
let owner: Client;

beforeAll(async () => {
  h = await startAdmin();
  owner = new Client(h.admin.url);
  await owner.setup();
});
afterAll(() => h.stop());

describe('schemas', () => {
  test('every POST route has a body schema, every GET a query schema, every :param a params schema', () => {
    const missing: string[] = [];
    for (const r of h.admin.app.routes) {
      const hooks = r.hooks as { body?: unknown; query?: unknown; params?: unknown };
      if (r.method === 'POST' && !hooks.body) missing.push(`${r.method} ${r.path}: body`);
      if (r.method === 'GET' && !r.path.startsWith('/static/') && !hooks.query) missing.push(`${r.method} ${r.path}: query`);
      if (r.path.includes(':') && !hooks.params) missing.push(`${r.method} ${r.path}: params`);
    }
    expect(missing).toEqual([]);
  });

  const bad: [string, string, Record<string, string>][] = [
    ['a MAC address that is not one', '/devices/not-a-mac', { policy: 'block' }],
    ['an unknown policy', '/devices/02:00:00:00:00:01', { policy: 'tunnel-everything' }],
    ['an exit that is no key', '/devices/02:00:00:00:00:01', { policy: 'overlay', exit: 'AAAA' }],
    ['a member key that is no key', '/network/approve', { key: '../../etc/passwd' }],
    ['no key at all', '/network/revoke', {}],
    ['4 hops', '/privacy', { hops: '4', exit: 'best', killSwitch: 'on', dns: 'on', padding: 'off' }],
    ['an unknown padding', '/privacy', { hops: '1', exit: 'best', killSwitch: 'on', dns: 'on', padding: 'lots' }],
    ['a checkbox with another value', '/settings/exit-offer', { enabled: 'yes', acceptRisk: 'on' }],
    ['a password longer than 256 characters', '/settings/password', { current: 'x'.repeat(300), password: 'a', confirm: 'a' }],
    ['an empty network name', '/setup/create', { name: '' }],
  ];
  for (const [what, path, form] of bad) {
    test(`${what} is refused with 422`, async () => {
      const before = JSON.stringify([h.api.deviceList, h.api.net, h.api.privacySettings, h.api.offer]);
      const res = await owner.hx(path, form);
      expect(res.status).toBe(422);
      expect(await res.text()).toContain('is not valid');
      expect(JSON.stringify([h.api.deviceList, h.api.net, h.api.privacySettings, h.api.offer])).toBe(before);
    });
  }

  test('a query out of range is refused with 422', async () => {
    expect((await owner.get('/diagnostics/log?lines=5000', { 'hx-request': 'true' })).status).toBe(422);
    expect((await owner.get('/diagnostics/log?lines=abc', { 'hx-request': 'true' })).status).toBe(422);
    expect((await owner.get('/diagnostics/log?lines=7', { 'hx-request': 'true' })).status).toBe(200);
  });

  test('an oversized body is refused before it is read whole', async () => {
    const res = await owner.hx('/setup/join', { invite: 'a'.repeat(100_000) });
    expect(res.status).toBe(413);
  });

  test('the API’s own refusals reach the owner with what to do', async () => {
    const unknownDevice = await owner.hx('/devices/02:00:00:00:00:99', { policy: 'block' });
    expect(unknownDevice.status).toBe(404);
    expect(await unknownDevice.text()).toContain('reload the page');
    const unknownMember = await owner.hx('/network/approve', { key: sampleKey(99) });
    expect(await unknownMember.text()).toContain('No pending member has that key');
    const unknownExit = await owner.hx('/devices/02:00:00:00:00:01', { policy: 'overlay', exit: sampleKey(98) });
    expect(await unknownExit.text()).toContain('not one of your peers');
  });
});
