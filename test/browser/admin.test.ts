// The web admin in a real browser (Debian's headless Chromium driven by playwright-core): the
// whole first-run wizard, then each page, with changes checked on the fake API object — the
// "daemon" — rather than on the page. Screenshots of every page at desktop (1280×800) and phone
// (375×812) width go to artifacts/screenshots/, and one more of the page when a test fails.
// The browser's console must stay free of CSP violations and no dialog may open (the hostile
// `<script>alert(1)</script>` names in the fake data would open one if escaping failed).

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import QRCode from 'qrcode';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { createAdmin, type Admin } from '../../webui/app.ts';
import { FakeAdminApi, HOSTILE_NAME, sampleKey } from '../../webui/fake-api.ts';
import { formatSince } from '../../webui/format.ts';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = resolve(import.meta.dir, '../../artifacts/screenshots');
const PASSWORD = 'correct horse battery';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 812 };
const PAGES = ['dashboard', 'peers', 'devices', 'network', 'privacy', 'settings', 'diagnostics'] as const;

let admin: Admin;
let api: FakeAdminApi;
let browser: Browser;
let stateDir: string;
const problems: string[] = [];
const failedLoads: string[] = [];
const confirmations: string[] = [];

function path(name: (typeof PAGES)[number]): string {
  return name === 'dashboard' ? '/' : `/${name}`;
}

async function newContext(viewport: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, baseURL: admin.url });
  const page = await context.newPage();
  page.on('console', (m) => {
    // Failed loads are reported (with their URL) by the response handler below.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) failedLoads.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    // hx-confirm on "Revoke" and "Rotate the secret" are the only dialogs the admin opens on purpose.
    if (d.type() === 'confirm') {
      confirmations.push(d.message());
      return void d.accept();
    }
    problems.push(`unexpected ${d.type()} dialog: ${d.message()}`);
    void d.dismiss();
  });
  return { context, page };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Waits (up to 5 s) until the element shows the text: htmx swaps arrive asynchronously. */
async function seeText(locator: Locator, text: string): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout: 5_000 });
}

/** Runs a browser step; on failure saves a screenshot named after it before failing. */
async function step(page: Page, name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    await page.screenshot({ path: join(SHOTS, `failure-${name}.png`), fullPage: true }).catch(() => {});
    throw e;
  }
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/setup browser (apt-get install chromium)`);
  mkdirSync(SHOTS, { recursive: true });
  for (const f of readdirSync(SHOTS)) if (f.startsWith('failure-')) rmSync(join(SHOTS, f));
  stateDir = mkdtempSync(join(tmpdir(), 'warren-browser-'));
  api = new FakeAdminApi();
  admin = createAdmin({ api, hostname: '127.0.0.1', port: 0, stateDir, sampler: { intervalMs: 300, keep: 60 }, log: (l) => problems.push(l) });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  await admin?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('web admin in Chromium', () => {
  let desktop: Page;

  test('first run: password, a refused invite, a new network, then the dashboard', async () => {
    desktop = (await newContext(DESKTOP)).page;
    await step(desktop, 'wizard', async () => {
      await desktop.goto('/');
      expect(new URL(desktop.url()).pathname).toBe('/setup');
      await shot(desktop, 'desktop-setup-password');
      await desktop.fill('input[name=password]', PASSWORD);
      await desktop.fill('input[name=confirm]', PASSWORD);
      await desktop.click('button[type=submit]');
      await desktop.waitForURL('**/setup/network');
      await shot(desktop, 'desktop-setup-network');

      await desktop.fill('textarea[name=invite]', 'not an invite');
      await desktop.click('text=Join network');
      await seeText(desktop.locator('.notice.error'), 'not a Warren invite');
      expect(api.net.hasNetwork).toBe(false);
      // "Or scan its QR code": a photo of a code that holds no invite is refused the same way.
      const photo = await QRCode.toBuffer('HELLO FROM A POSTER', { type: 'png', scale: 6 });
      await desktop.setInputFiles('input[name=photo]', { name: 'qr.png', mimeType: 'image/png', buffer: photo });
      await desktop.click('text=Join with the photo');
      await seeText(desktop.locator('.notice.error'), 'not a Warren invite');
      expect(api.net.hasNetwork).toBe(false);

      await desktop.fill('input[name=name]', 'home');
      await desktop.click('text=Create network');
      await desktop.waitForURL((u) => u.pathname === '/');
      expect(api.net).toMatchObject({ hasNetwork: true, name: 'home' });
      // Once the SSE feed has delivered two samples the graph has its lines.
      await desktop.locator('#throughput svg polyline.rx').waitFor({ timeout: 10_000 });
      await seeText(desktop.locator('.glance'), HOSTILE_NAME);
    });
  });

  test('the first-run password step is gone once a password exists', async () => {
    const res = await desktop.request.get('/setup', { maxRedirects: 0 });
    expect(res.status()).toBe(303);
  });

  test('devices: a policy changed in place reaches the API', async () => {
    await step(desktop, 'devices', async () => {
      await desktop.goto('/devices');
      const card = desktop.locator('#device-020000000001');
      await card.locator('select[name=policy]').selectOption('block');
      await seeText(card.locator('.notice.ok'), 'Saved');
      expect(api.deviceList.find((d) => d.mac === '02:00:00:00:00:01')?.policy).toBe('block');
      expect(await desktop.locator('#device-020000000003 .device-name strong').textContent()).toBe(HOSTILE_NAME);
    });
  });

  test('network: the invite and its QR code, approving a pending member, revoking one', async () => {
    await step(desktop, 'network', async () => {
      await desktop.goto('/network');
      await desktop.click('text=Show invite and QR code');
      await desktop.locator('img.qr').waitFor();
      expect(await desktop.locator('#invite-text').inputValue()).toMatch(/^warren1:/);
      const pending = desktop.locator('.member', { hasText: 'new-phone' });
      await pending.locator('button', { hasText: 'Approve' }).click();
      await seeText(desktop.locator('#members .notice.ok'), 'Approved');
      expect(api.net.approved.map((m) => m.publicKey)).toContain(sampleKey(5));
      expect(api.net.pending.map((m) => m.publicKey)).not.toContain(sampleKey(5));
      await desktop.locator('.member', { hasText: 'office' }).locator('button', { hasText: 'Revoke' }).click();
      await seeText(desktop.locator('#members .notice.ok'), 'Revoked');
      expect(api.net.revoked.map((m) => m.publicKey)).toContain(sampleKey(3));
    });
  });

  test('network: rotating the secret, confirmed; the page shows generation 1 and until when the old one is accepted; the new invite', async () => {
    await step(desktop, 'network-rotate', async () => {
      await desktop.goto('/network');
      await desktop.click('text=Show invite and QR code');
      expect(await desktop.locator('#invite-text').inputValue()).toMatch(/^warren1:/);
      const form = desktop.locator('#rotation');
      expect(await form.locator('select[name=graceHours]').inputValue()).toBe('168');
      const asked = confirmations.length;
      await form.locator('button', { hasText: 'Rotate the secret' }).click();
      await seeText(desktop.locator('#rotation .notice.ok'), 'Rotated: generation 1.');
      expect(confirmations.slice(asked)).toEqual(['Rotate the network secret? Every invite given so far stops working.']);
      expect(api.net.generation).toBe(1);
      const until = api.net.previousUntil ?? '';
      expect(Math.abs(Date.parse(until) - Date.now() - 7 * 24 * 3600_000)).toBeLessThan(60_000);
      const state = await desktop.locator('#rotation-state').innerText();
      expect(state).toContain('generation 1');
      expect(state).toContain(`accepted until ${formatSince(until)}`);
      // The old invite shown before is hidden again; shown on request, it is the new one.
      expect(await desktop.locator('#invite-text').count()).toBe(0);
      await shot(desktop, 'desktop-network-rotated');
      await desktop.click('text=Show invite and QR code');
      await desktop.locator('img.qr').waitFor();
      expect(await desktop.locator('#invite-text').inputValue()).toMatch(/^warren2:/);
    });
  });

  test('privacy and exit offer: saved through the API; an exit needs the warning ticked', async () => {
    await step(desktop, 'settings', async () => {
      await desktop.goto('/privacy');
      await desktop.check('input[name=hops][value="2"]');
      await desktop.check('input[name=padding][value=mtu]');
      await desktop.click('text=Save privacy settings');
      await seeText(desktop.locator('#privacy .notice.ok'), 'Saved');
      expect(api.privacySettings).toMatchObject({ hops: 2, padding: 'mtu' });

      await desktop.goto('/settings');
      await desktop.check('input[name=enabled]');
      await desktop.click('text=Save exit offer');
      await seeText(desktop.locator('#exit-offer .notice.error'), 'warning box');
      expect(api.offer.enabled).toBe(false);
      await desktop.check('input[name=enabled]');
      await desktop.check('input[name=acceptRisk]');
      await desktop.click('text=Save exit offer');
      await seeText(desktop.locator('#exit-offer .notice.ok'), 'offers an exit');
      expect(api.offer).toEqual({ enabled: true, acceptRisk: true });
    });
  });

  test('every page at desktop width', async () => {
    for (const name of PAGES) {
      await step(desktop, `desktop-${name}`, async () => {
        await desktop.goto(path(name));
        await desktop.locator('nav a[aria-current=page]').waitFor({ state: 'visible' });
        await shot(desktop, `desktop-${name}`);
      });
    }
  });

  test('phone width: sign in, every page fits 375 px without sideways scrolling', async () => {
    const { page } = await newContext(PHONE);
    await step(page, 'phone-login', async () => {
      await page.goto('/');
      expect(new URL(page.url()).pathname).toBe('/login');
      await shot(page, 'phone-login');
      await page.fill('input[name=password]', PASSWORD);
      await page.click('button[type=submit]');
      await page.waitForURL((u) => u.pathname === '/');
    });
    for (const name of PAGES) {
      await step(page, `phone-${name}`, async () => {
        await page.goto(path(name));
        if (name === 'network') {
          await page.click('text=Show invite and QR code');
          await page.locator('img.qr').waitFor();
        }
        // A string expression: the test's own TypeScript has no DOM types.
        const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
        expect(`${name}: ${overflow}px wider than the screen`).toBe(`${name}: 0px wider than the screen`);
        await shot(page, `phone-${name}`);
      });
    }
  });

  test('signing out ends the session', async () => {
    await step(desktop, 'sign-out', async () => {
      await desktop.goto('/');
      await desktop.click('text=Sign out');
      await desktop.waitForURL('**/login');
      await desktop.goto('/devices');
      expect(new URL(desktop.url()).pathname).toBe('/login');
    });
  });

  test('no CSP violation, script error, server error or dialog on the way', () => {
    expect(problems).toEqual([]);
    // The refusals on purpose: the mistyped invite and the photo of another QR code in the wizard.
    expect(failedLoads).toEqual(['POST /setup/join 400', 'POST /setup/join-photo 400']);
  });
});
