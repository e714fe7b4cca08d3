// The first-run wizard over HTTP: one password wins a race, then a network is created or
// joined (a bad invite is refused with the reason), and the wizard ends on the dashboard.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { formatBytes, formatDuration, formatRate, shortKey } from '../../../webui/format.ts';
import { Client, startAdmin, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startAdmin({ withNetwork: false });
});
afterAll(() => h.stop());

describe('first run', () => {
  let winner: Client;

  test('two browsers racing to set the first password: exactly one wins', async () => {
    const a = new Client(h.admin.url);
    const b = new Client(h.admin.url);
    await Promise.all([a.csrfFrom('/setup'), b.csrfFrom('/setup')]);
    const [ra, rb] = await Promise.all([
      a.post('/setup', { _csrf: a.csrf, password: 'password of a', confirm: 'password of a' }),
      b.post('/setup', { _csrf: b.csrf, password: 'password of b', confirm: 'password of b' }),
    ]);
    expect([ra.status, rb.status].sort()).toEqual([303, 403]);
    winner = ra.status === 303 ? a : b;
    const password = ra.status === 303 ? 'password of a' : 'password of b';
    expect(await h.admin.deps.store.verify(password)).toBe(true);
  });

  test('without a network every page leads to the network step', async () => {
    for (const path of ['/', '/network']) {
      const res = await winner.get(path);
      expect(`${path} ${res.headers.get('location')}`).toBe(`${path} /setup/network`);
    }
    const step = await winner.get('/setup/network');
    expect(step.status).toBe(200);
    const text = await step.text();
    expect(text).toContain('Create a network');
    expect(text).toContain('Join with an invite');
  });

  test('a mistyped invite is refused with the reason and kept in the form', async () => {
    await winner.csrfFrom('/setup/network');
    const res = await winner.post('/setup/join', { _csrf: winner.csrf, invite: 'warren1:oops' });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain('not a Warren invite');
    expect(text).toContain('warren1:oops</textarea>');
    expect(h.api.net.hasNetwork).toBe(false);
  });

  test('a name over 32 bytes is refused by the API with the limit', async () => {
    const res = await winner.post('/setup/create', { _csrf: winner.csrf, name: 'ü'.repeat(20) });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('1 to 32 bytes');
  });

  test('joining with a good invite ends on the dashboard', async () => {
    const res = await winner.post('/setup/join', { _csrf: winner.csrf, invite: 'warren1:aaqaaaaaa5ugs3tfnzqw2zjaonswg4tfoqqgc3tfmfzxi2lomqqgk4tjmnsxg5dvnzzq' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    expect(h.api.net).toMatchObject({ hasNetwork: true, name: 'family' });
    expect((await winner.get('/setup/network')).headers.get('location')).toBe('/');
    const dash = await winner.get('/');
    expect(dash.status).toBe(200);
    expect(await dash.text()).toContain('network “family”');
  });

  test('creating a second network is refused: the appliance already has one', async () => {
    const res = await winner.post('/setup/create', { _csrf: winner.csrf, name: 'other' });
    expect(res.status).toBe(409);
  });
});

describe('format', () => {
  test('figures as people read them', () => {
    expect([formatBytes(999), formatBytes(1234), formatBytes(12_345_678), formatBytes(1.5e12)]).toEqual(['999 B', '1.2 KB', '12 MB', '1.5 TB']);
    expect([formatRate(125), formatRate(125_000), formatRate(6_250_000), formatRate(2e8)]).toEqual(['1 kbit/s', '1.0 Mbit/s', '50.0 Mbit/s', '1.6 Gbit/s']);
    expect([formatDuration(42), formatDuration(3725), formatDuration(90_000)]).toEqual(['42 s', '1 h 2 min', '1 d 1 h']);
    expect(shortKey('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=')).toBe('AAECAwQF…');
  });
});
