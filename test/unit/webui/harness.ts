// Test harness for the web admin: an admin on loopback with the fake API, a temporary state
// directory and a settable clock, and a tiny cookie-keeping HTTP client that never follows
// redirects (tests look at each 303 themselves).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdmin, type Admin, type AdminOptions } from '../../../webui/app.ts';
import { FakeAdminApi } from '../../../webui/fake-api.ts';

export const PASSWORD = 'correct horse battery';

export interface Harness {
  admin: Admin;
  api: FakeAdminApi;
  stateDir: string;
  clock: { now: number };
  stop(): Promise<void>;
}

export async function startAdmin(opts: { withNetwork?: boolean; hostname?: string; extra?: Partial<AdminOptions> } = {}): Promise<Harness> {
  const stateDir = mkdtempSync(join(tmpdir(), 'warren-webui-'));
  const clock = { now: Date.UTC(2025, 0, 15, 12, 0, 0) };
  const now = () => clock.now;
  const api = new FakeAdminApi({ withNetwork: opts.withNetwork ?? true, now });
  const admin = createAdmin({ api, hostname: opts.hostname ?? '127.0.0.1', port: 0, stateDir, now, sampler: { intervalMs: 60_000, keep: 60 }, log: () => {}, ...opts.extra });
  return {
    admin,
    api,
    stateDir,
    clock,
    async stop() {
      await admin.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export class Client {
  cookie = '';
  csrf = '';

  constructor(readonly base: string) {}

  private remember(res: Response): Response {
    const set = res.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0] ?? '';
    return res;
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.remember(await fetch(this.base + path, { redirect: 'manual', headers: { cookie: this.cookie, ...headers } }));
  }

  async post(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.remember(
      await fetch(this.base + path, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: this.cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(form).toString(),
      }),
    );
  }

  /** An htmx-style post: the CSRF token in the header, HX-Request set. */
  async hx(path: string, form: Record<string, string>): Promise<Response> {
    return this.post(path, form, { 'hx-request': 'true', 'x-csrf-token': this.csrf });
  }

  /** Reads the CSRF token out of a page (hidden input or hx-headers). */
  async csrfFrom(path: string): Promise<string> {
    const text = await (await this.get(path)).text();
    const m = /name="_csrf" value="([^"]+)"/.exec(text) ?? /X-CSRF-Token&quot;:&quot;([^&]+)&quot;/.exec(text);
    if (!m?.[1]) throw new Error(`no CSRF token on ${path}`);
    this.csrf = m[1];
    return this.csrf;
  }

  async setup(password = PASSWORD): Promise<Response> {
    await this.csrfFrom('/setup');
    const res = await this.post('/setup', { _csrf: this.csrf, password, confirm: password });
    await this.csrfFrom('/settings');
    return res;
  }

  async login(password = PASSWORD): Promise<Response> {
    await this.csrfFrom('/login');
    const res = await this.post('/login', { _csrf: this.csrf, password });
    if (res.status === 303) await this.csrfFrom('/settings');
    return res;
  }
}
