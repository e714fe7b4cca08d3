// The admin listens only on the address it is given: the LAN address on the appliance, a
// loopback address here. Another address of the same machine gets no answer, and a request
// that names another host (a DNS-rebinding page) is refused.

import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdmin } from '../../../webui/app.ts';
import { FakeAdminApi } from '../../../webui/fake-api.ts';
import { hostOf } from '../../../webui/plugins/host-check.ts';
import { startAdmin, type Harness } from './harness.ts';

let h: Harness | undefined;
afterAll(() => h?.stop());

describe('listening', () => {
  test('on 127.0.0.2 it answers there and 127.0.0.1 is refused', async () => {
    h = await startAdmin({ hostname: '127.0.0.2' });
    expect(h.admin.url).toBe(`http://127.0.0.2:${h.admin.port}`);
    expect((await fetch(`${h.admin.url}/login`, { redirect: 'manual' })).status).toBe(303);
    let error: unknown = null;
    try {
      await fetch(`http://127.0.0.1:${h.admin.port}/login`, { redirect: 'manual' });
    } catch (e) {
      error = e;
    }
    expect(String((error as { code?: string } | null)?.code ?? error)).toMatch(/ConnectionRefused|ECONNREFUSED/);
  });

  test('a request naming another host (DNS rebinding) gets 421; warren.local is fine', async () => {
    const url = `${h?.admin.url ?? ''}/setup`;
    const rebound = await fetch(url, { redirect: 'manual', headers: { host: `evil.example:${h?.admin.port}` } });
    expect(rebound.status).toBe(421);
    expect(await rebound.text()).toContain('only at http://127.0.0.2/ or http://warren.local/');
    expect((await fetch(url, { redirect: 'manual', headers: { host: 'warren.local' } })).status).toBe(200);
    expect((await fetch(url, { redirect: 'manual', headers: { host: 'WARREN.local:80' } })).status).toBe(200);
  });

  test('the host of a Host header', () => {
    expect(['192.168.8.1:8080', 'warren.local', '[fd00::1]:80', '[fd00::1]', 'fd00::1', '', '[broken'].map((x) => hostOf(x))).toEqual(['192.168.8.1', 'warren.local', 'fd00::1', 'fd00::1', 'fd00::1', '', '']);
    expect(hostOf(null)).toBe('');
  });

  test('a wildcard address is refused before anything listens', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'warren-listen-'));
    try {
      for (const hostname of ['0.0.0.0', '::', '']) {
        expect(() => createAdmin({ api: new FakeAdminApi(), hostname, port: 0, stateDir })).toThrow(/refusing to listen/);
      }
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
