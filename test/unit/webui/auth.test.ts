// The sign-in gate, sessions and the first-run password step: every route but the public ones
// refuses a visitor without a session (pages redirect, the rest get 401).

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { isPublicPath } from '../../../webui/plugins/auth.ts';
import { Client, PASSWORD, startAdmin, type Harness } from './harness.ts';

let h: Harness;
let owner: Client;

beforeAll(async () => {
  h = await startAdmin();
  owner = new Client(h.admin.url);
});
afterAll(() => h.stop());

/** Every route the app serves, with a sample value for its parameters. */
function routes(): { method: string; path: string }[] {
  return h.admin.app.routes.map((r) => ({ method: r.method, path: r.path.replace(':mac', '02:00:00:00:00:01') }));
}

describe('before a password exists', () => {
  test('every page leads to the first-run step; fragments and posts get 401', async () => {
    const anon = new Client(h.admin.url);
    for (const r of routes().filter((r) => !isPublicPath(r.path))) {
      const res = r.method === 'GET' ? await anon.get(r.path) : await anon.post(r.path, {});
      if (r.method === 'GET') {
        expect(`${r.path} ${res.status} ${res.headers.get('location')}`).toBe(`${r.path} 303 /setup`);
      } else {
        expect(`${r.method} ${r.path} ${res.status}`).toBe(`${r.method} ${r.path} 401`);
      }
    }
  });

  test('/login sends the visitor to the first-run step', async () => {
    const res = await new Client(h.admin.url).get('/login');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/setup');
  });

  test('a too short or mistyped first password is refused with the reason', async () => {
    const c = new Client(h.admin.url);
    await c.csrfFrom('/setup');
    const short = await c.post('/setup', { _csrf: c.csrf, password: 'short', confirm: 'short' });
    expect(short.status).toBe(400);
    expect(await short.text()).toContain('too short');
    const differ = await c.post('/setup', { _csrf: c.csrf, password: PASSWORD, confirm: `${PASSWORD}x` });
    expect(differ.status).toBe(400);
    expect(await differ.text()).toContain('differ');
    expect(h.admin.deps.store.hasPassword()).toBe(false);
  });

  test('setting the password signs the owner in with a new session token (no fixation)', async () => {
    await owner.csrfFrom('/setup');
    const anonymousCookie = owner.cookie;
    const res = await owner.post('/setup', { _csrf: owner.csrf, password: PASSWORD, confirm: PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/setup/network');
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^warren_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+$/);
    expect(owner.cookie).not.toBe(anonymousCookie);
    await owner.csrfFrom('/settings');
  });
});

describe('once a password exists', () => {
  test('the first-run step is gone: its page redirects and its post is refused', async () => {
    const stranger = new Client(h.admin.url);
    expect((await stranger.get('/setup')).headers.get('location')).toBe('/login');
    await stranger.csrfFrom('/login');
    const res = await stranger.post('/setup', { _csrf: stranger.csrf, password: 'attacker password', confirm: 'attacker password' });
    expect(res.status).toBe(403);
    expect(await h.admin.deps.store.verify('attacker password')).toBe(false);
    expect(await h.admin.deps.store.verify(PASSWORD)).toBe(true);
  });

  test('without a session: pages redirect to /login, htmx requests and posts get 401', async () => {
    const anon = new Client(h.admin.url);
    for (const r of routes().filter((r) => !isPublicPath(r.path))) {
      if (r.method === 'GET') {
        const page = await anon.get(r.path);
        expect(`${r.path} ${page.status} ${page.headers.get('location')}`).toBe(`${r.path} 303 /login`);
        const fragment = await anon.get(r.path, { 'hx-request': 'true' });
        expect(`${r.path} ${fragment.status}`).toBe(`${r.path} 401`);
      } else {
        const res = await anon.post(r.path, {});
        expect(`${r.method} ${r.path} ${res.status}`).toBe(`${r.method} ${r.path} 401`);
      }
    }
  });

  test('a forged or stale session cookie is no session', async () => {
    const forged = new Client(h.admin.url);
    forged.cookie = 'warren_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    expect((await forged.get('/devices')).status).toBe(303);
  });

  test('the owner sees every page', async () => {
    for (const r of routes().filter((r) => r.method === 'GET' && !r.path.startsWith('/static/'))) {
      if (r.path === '/events' || r.path === '/login' || r.path === '/setup' || r.path === '/setup/network') continue;
      const res = await owner.get(r.path);
      expect(`${r.path} ${res.status}`).toBe(`${r.path} 200`);
    }
  });

  test('a wrong password is refused with 401 and the login form again', async () => {
    const c = new Client(h.admin.url);
    const res = await c.login('not the password');
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('not right');
  });

  test('signed-in sessions end after 30 idle minutes', async () => {
    const c = new Client(h.admin.url);
    expect((await c.login()).status).toBe(303);
    expect((await c.get('/devices')).status).toBe(200);
    h.clock.now += 31 * 60_000;
    expect((await c.get('/devices')).status).toBe(303);
    h.clock.now += 1;
    await owner.login(); // the owner's session expired with the clock too
  });

  test('changing the password signs out every other browser', async () => {
    const other = new Client(h.admin.url);
    await other.login();
    expect((await other.get('/devices')).status).toBe(200);
    const res = await owner.hx('/settings/password', { current: PASSWORD, password: 'a new long password', confirm: 'a new long password' });
    expect(res.status).toBe(200);
    expect(res.headers.get('hx-redirect')).toBe('/settings?changed=password');
    expect((await other.get('/devices')).status).toBe(303);
    expect((await owner.get('/devices')).status).toBe(200);
    expect(await h.admin.deps.store.verify('a new long password')).toBe(true);
  });

  test('signing out ends the session', async () => {
    const c = new Client(h.admin.url);
    await c.login('a new long password');
    const res = await c.post('/logout', { _csrf: c.csrf });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toContain('Max-Age=0');
    c.cookie = res.headers.get('set-cookie')?.split(';')[0] ?? '';
    expect((await c.get('/devices')).status).toBe(303);
  });
});
