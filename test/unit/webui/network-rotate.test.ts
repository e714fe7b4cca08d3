// "Rotate the secret" on the network page, over HTTP against the fake API: the form and what it
// shows (a generation and a date, never a secret), the CSRF refusals every change route has,
// the schema on how long the old secret stays accepted, and the answer: the form with what
// happened, the invite hidden again out of band, and "Show invite" then giving the new one.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Client, startAdmin, type Harness } from './harness.ts';

let h: Harness;
let owner: Client;

beforeAll(async () => {
  h = await startAdmin();
  owner = new Client(h.admin.url);
  await owner.setup();
});
afterAll(() => h.stop());

describe('rotating the secret from the network page', () => {
  test('the page has the form: a confirmation, the choice of time (7 days preselected), the explanation', async () => {
    const body = await (await owner.get('/network')).text();
    expect(body).toContain('<form class="card stack" id="rotation" hx-post="/network/rotate"');
    expect(body).toContain('hx-confirm="Rotate the network secret? Every invite given so far stops working."');
    expect(body).toContain('<option value="168" selected>7 days</option>');
    for (const v of ['24', '720', '0']) expect(body).toContain(`<option value="${v}">`);
    expect(body).toContain('Use this if an invite leaked');
    expect(body).toContain('devices you revoked never get it');
    expect(body).toContain('the secret the network was created with');
  });

  test('without the CSRF token, with a wrong one or from another site: 403, and nothing rotates', async () => {
    expect((await owner.post('/network/rotate', { graceHours: '168' }, { 'hx-request': 'true' })).status).toBe(403);
    expect((await owner.post('/network/rotate', { graceHours: '168', _csrf: 'x'.repeat(43) })).status).toBe(403);
    expect((await owner.post('/network/rotate', { graceHours: '168' }, { 'x-csrf-token': owner.csrf, origin: 'http://evil.example' })).status).toBe(403);
    // The refusal comes before validation.
    expect((await owner.post('/network/rotate', { graceHours: 'forever' })).status).toBe(403);
    expect(h.api.net.generation).toBe(0);
  });

  test('signed out: 401, and nothing rotates', async () => {
    const anon = new Client(h.admin.url);
    await anon.csrfFrom('/login');
    expect((await anon.post('/network/rotate', { graceHours: '168', _csrf: anon.csrf })).status).toBe(401);
    expect(h.api.net.generation).toBe(0);
  });

  test('a time that is not one of the choices is refused with 422 before the API is asked', async () => {
    for (const graceHours of ['721', '-1', '12', 'forever', '']) {
      const res = await owner.hx('/network/rotate', { graceHours });
      expect(`${graceHours}: ${res.status}`).toBe(`${graceHours}: 422`);
    }
    expect((await owner.hx('/network/rotate', {})).status).toBe(422);
    expect(h.api.net.generation).toBe(0);
  });

  test('rotated: generation 1, the old secret accepted until the date, the invite hidden; then the new invite', async () => {
    const res = await owner.hx('/network/rotate', { graceHours: '168' });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(h.api.net).toMatchObject({ generation: 1, previousUntil: '2025-01-22T12:00:00.000Z' });
    expect(body).toContain('Rotated: generation 1.');
    expect(body).toContain('members that were away can come back until 2025-01-22 12:00 UTC');
    expect(body).toContain('Now: <strong>generation 1 of the secret</strong>. The previous secret is accepted until <strong>2025-01-22 12:00 UTC</strong>.');
    expect(body).toContain('<div class="invite" id="invite" hx-swap-oob="true"><button');
    expect(body).not.toContain('warren1:');
    expect(body).not.toContain('warren2:');
    expect(await (await owner.get('/network/invite', { 'hx-request': 'true' })).text()).toContain('warren2:');
    expect(await (await owner.get('/network')).text()).toContain('The previous secret is accepted until <strong>2025-01-22 12:00 UTC</strong>');
  });

  test('"not at all": the previous secret is no longer accepted, members away need the new invite', async () => {
    const body = await (await owner.hx('/network/rotate', { graceHours: '0' })).text();
    expect(h.api.net).toMatchObject({ generation: 2, previousUntil: null });
    expect(body).toContain('members that were away need the new invite');
    expect(body).toContain('The previous secret is no longer accepted.');
  });

  test('the API’s refusal is shown in the form with what to do', async () => {
    const rotate = h.api.rotateSecret.bind(h.api);
    h.api.rotateSecret = () => rotate(9999);
    try {
      const res = await owner.hx('/network/rotate', { graceHours: '24' });
      expect(res.status).toBe(200);
      const body = await res.text();
      expect(body).toContain('<p class="notice error" role="alert">The old secret can stay accepted for 0 to 720 hours');
      expect(body).toContain('id="rotation"');
    } finally {
      h.api.rotateSecret = rotate;
    }
    expect(h.api.net.generation).toBe(2);
  });
});
