// CSRF refusals (403 before validation or any handler) and the login rate limit (429).

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { clientKey, FailureLimiter } from '../../../webui/plugins/rate-limit.ts';
import { Client, PASSWORD, startAdmin, type Harness } from './harness.ts';

let h: Harness;
let owner: Client;

beforeAll(async () => {
  h = await startAdmin();
  owner = new Client(h.admin.url);
  await owner.setup();
});
afterAll(() => h.stop());

describe('CSRF', () => {
  const change = { policy: 'block' };
  const path = '/devices/02:00:00:00:00:02';

  test('a signed-in post without a token is refused with 403 and changes nothing', async () => {
    const res = await owner.post(path, change, { 'hx-request': 'true' });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Reload the page');
    expect(h.api.deviceList[1]?.policy).toBe('direct');
  });

  test('a wrong token, or another session’s token, is refused', async () => {
    expect((await owner.post(path, change, { 'x-csrf-token': 'x'.repeat(43) })).status).toBe(403);
    const other = new Client(h.admin.url);
    await other.login();
    expect((await owner.post(path, change, { 'x-csrf-token': other.csrf })).status).toBe(403);
    expect((await owner.post(path, { ...change, _csrf: other.csrf })).status).toBe(403);
    expect(h.api.deviceList[1]?.policy).toBe('direct');
  });

  test('the refusal comes before validation: a bad body without a token is 403, not 422', async () => {
    expect((await owner.post(path, { policy: 'nonsense' })).status).toBe(403);
  });

  test('a request from another site is refused even with the right token', async () => {
    expect((await owner.post(path, change, { 'x-csrf-token': owner.csrf, origin: 'http://evil.example' })).status).toBe(403);
    expect((await owner.post(path, change, { 'x-csrf-token': owner.csrf, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(h.api.deviceList[1]?.policy).toBe('direct');
  });

  test('the right token, as header or form field, is accepted', async () => {
    expect((await owner.post(path, change, { 'x-csrf-token': owner.csrf, origin: h.admin.url })).status).toBe(200);
    expect(h.api.deviceList[1]?.policy).toBe('block');
    expect((await owner.post(path, { policy: 'direct', _csrf: owner.csrf })).status).toBe(200);
    expect(h.api.deviceList[1]?.policy).toBe('direct');
  });

  test('the login form needs the token of the anonymous session that showed it', async () => {
    const c = new Client(h.admin.url);
    expect((await c.post('/login', { password: PASSWORD })).status).toBe(403);
    await c.csrfFrom('/login');
    expect((await c.post('/login', { password: PASSWORD, _csrf: 'forged' })).status).toBe(403);
    expect((await c.post('/login', { password: PASSWORD, _csrf: c.csrf })).status).toBe(303);
  });
});

describe('login rate limit', () => {
  test('5 wrong passwords in 5 minutes, then 429 with Retry-After even for the right one; allowed again after the window', async () => {
    const c = new Client(h.admin.url);
    await c.csrfFrom('/login');
    for (let i = 0; i < 5; i++) expect((await c.post('/login', { _csrf: c.csrf, password: `wrong ${i}` })).status).toBe(401);
    const blocked = await c.post('/login', { _csrf: c.csrf, password: PASSWORD });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await blocked.text()).toContain('Too many wrong passwords');
    // The password change form counts against the same limit.
    expect((await owner.hx('/settings/password', { current: PASSWORD, password: 'whatever long', confirm: 'whatever long' })).status).toBe(429);
    h.clock.now += 5 * 60_000 + 1000;
    const again = new Client(h.admin.url);
    expect((await again.login()).status).toBe(303);
  });

  test('a global limit counts failures from every client together', () => {
    const clock = { now: 0 };
    const limiter = new FailureLimiter(() => clock.now, { windowMs: 300_000, perClient: 5, global: 8 });
    for (let i = 0; i < 8; i++) limiter.fail(`192.0.2.${i}`);
    expect(limiter.retryAfterSeconds('192.0.2.200')).toBe(300);
    clock.now += 300_001;
    expect(limiter.retryAfterSeconds('192.0.2.200')).toBe(0);
  });

  test('a right password clears the client’s own count, not the global one', () => {
    const limiter = new FailureLimiter(() => 0, { windowMs: 300_000, perClient: 3, global: 100 });
    limiter.fail('a');
    limiter.fail('a');
    limiter.succeed('a');
    limiter.fail('a');
    limiter.fail('a');
    expect(limiter.retryAfterSeconds('a')).toBe(0);
    limiter.fail('a');
    expect(limiter.retryAfterSeconds('a')).toBeGreaterThan(0);
  });

  test('IPv6 clients are counted per /64, IPv4 per address', () => {
    expect(clientKey('192.0.2.1')).toBe('192.0.2.1');
    expect(clientKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey(undefined)).toBe('unknown');
  });
});
