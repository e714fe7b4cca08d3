// The admin password file: argon2id, mode 0600, written atomically, refused when foreign.

import { afterEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_FILE, AdminStore } from '../../../webui/admin-store.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warren-admin-store-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('AdminStore', () => {
  test('a new state directory has no password; one set is argon2id in a 0600 file', async () => {
    const dir = join(tempDir(), 'state');
    const store = new AdminStore(dir, () => Date.UTC(2025, 0, 15));
    expect(store.hasPassword()).toBe(false);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    await store.setPassword('correct horse battery');
    const path = join(dir, ADMIN_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const file = JSON.parse(readFileSync(path, 'utf8')) as { version: number; passwordHash: string; changedAt: string };
    expect(file.version).toBe(1);
    expect(file.changedAt).toBe('2025-01-15T00:00:00.000Z');
    // PHC string format: $argon2id$v=19$m=…,t=…,p=…$salt$hash
    expect(file.passwordHash).toMatch(/^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(file.passwordHash).not.toContain('correct horse');
    expect(readdirSync(dir)).toEqual([ADMIN_FILE]); // no temporary file left behind
  });

  test('verify accepts the password and nothing else, also after a restart', async () => {
    const dir = tempDir();
    await new AdminStore(dir).setPassword('correct horse battery');
    const again = new AdminStore(dir);
    expect(again.hasPassword()).toBe(true);
    expect(await again.verify('correct horse battery')).toBe(true);
    expect(await again.verify('correct horse batter')).toBe(false);
    expect(await again.verify('')).toBe(false);
  });

  test('changing the password replaces the file and keeps its mode', async () => {
    const dir = tempDir();
    const store = new AdminStore(dir);
    await store.setPassword('first password');
    await store.setPassword('second password');
    expect(await new AdminStore(dir).verify('second password')).toBe(true);
    expect(await new AdminStore(dir).verify('first password')).toBe(false);
    expect(statSync(join(dir, ADMIN_FILE)).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual([ADMIN_FILE]);
  });

  test('a file that is not ours is refused with what to do, not treated as "no password"', () => {
    const dir = tempDir();
    writeFileSync(join(dir, ADMIN_FILE), JSON.stringify({ version: 1, passwordHash: 'plaintext', changedAt: 'x' }));
    expect(() => new AdminStore(dir).hasPassword()).toThrow(/remove it to set a new password/);
  });
});
