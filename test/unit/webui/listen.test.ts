// The admin listens only on the address it is given: the LAN address on the appliance, a
// loopback address here. Another address of the same machine gets no answer.

import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdmin } from '../../../webui/app.ts';
import { FakeAdminApi } from '../../../webui/fake-api.ts';
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
