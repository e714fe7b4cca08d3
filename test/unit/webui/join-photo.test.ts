// The first-run page's "scan its QR code": a photo posted as multipart form data is read on the
// appliance (network/invite-image.ts) and joined; a photo without a code or of something else
// is refused with the reason, and a post without the CSRF token changes nothing.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import QRCode from 'qrcode';
import { Client, startAdmin, type Harness } from './harness.ts';

const INVITE = 'warren1:aaqaaaaaa5ugs3tfnzqw2zjaonswg4tfoqqgc3tfmfzxi2lomqqgk4tjmnsxg5dvnzzq';

let h: Harness;
let owner: Client;
beforeAll(async () => {
  h = await startAdmin({ withNetwork: false });
  owner = new Client(h.admin.url);
  await owner.setup();
  await owner.csrfFrom('/setup/network');
});
afterAll(() => h.stop());

async function postPhoto(c: Client, bytes: Uint8Array, type: string, csrf: string | null): Promise<Response> {
  const form = new FormData();
  if (csrf !== null) form.set('_csrf', csrf);
  form.set('photo', new Blob([bytes], { type }), 'photo');
  return fetch(`${h.admin.url}/setup/join-photo`, { method: 'POST', redirect: 'manual', headers: { cookie: c.cookie }, body: form });
}

describe('joining with a photo of the invite’s QR code', () => {
  test('the page offers the camera (a file input with capture)', async () => {
    const text = await (await owner.get('/setup/network')).text();
    expect(text).toContain('action="/setup/join-photo"');
    expect(text).toContain('capture="environment"');
  });

  test('without the CSRF token: refused, nothing joined', async () => {
    const png = new Uint8Array(await QRCode.toBuffer(INVITE.toUpperCase(), { type: 'png' }));
    expect((await postPhoto(owner, png, 'image/png', null)).status).toBe(403);
    expect(h.api.net.hasNetwork).toBe(false);
  });

  test('a picture that is not a QR code, or not a picture: refused with the reason', async () => {
    const blank = new Uint8Array(await QRCode.toBuffer('x', { type: 'png' }));
    blank.fill(0, 60); // damaged
    const res = await postPhoto(owner, blank, 'image/png', owner.csrf);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('could not be read');
    const notImage = await postPhoto(owner, new TextEncoder().encode('<script>alert(1)</script>'), 'image/png', owner.csrf);
    expect(notImage.status).toBe(400);
    expect(await notImage.text()).not.toContain('<script>alert');
    // A QR code of something else is refused as an invite.
    const other = new Uint8Array(await QRCode.toBuffer('<b>hello</b>', { type: 'png' }));
    const wrong = await postPhoto(owner, other, 'image/png', owner.csrf);
    expect(wrong.status).toBe(400);
    const text = await wrong.text();
    expect(text).toContain('not a Warren invite');
    expect(text).not.toContain('<b>hello');
    expect(h.api.net.hasNetwork).toBe(false);
  });

  test('a photo of the invite joins, and the wizard ends on the dashboard', async () => {
    const png = new Uint8Array(await QRCode.toBuffer(INVITE.toUpperCase(), { type: 'png', scale: 6 }));
    const res = await postPhoto(owner, png, 'image/png', owner.csrf);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    expect(h.api.net).toMatchObject({ hasNetwork: true, name: 'family' });
  });
});
