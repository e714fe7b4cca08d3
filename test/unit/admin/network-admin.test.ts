// NetworkAdmin.rotate: a new network secret written into the network file under its lock, the
// old one kept as `previous` for the time asked (or not at all), what the admin is shown (the
// generation and a date, never a secret), and a time out of range refused with nothing written.

import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_ROTATION_GRACE_HOURS, NetworkAdmin } from '../../../appliance/admin/network-admin.ts';
import { AdminError } from '../../../appliance/control/admin-types.ts';
import { decodeInvite } from '../../../appliance/network/invite.ts';
import { admit, loadNetwork, saveNetwork } from '../../../appliance/network/store.ts';
import { key, makeRig, type Rig } from './fixtures.ts';

const NOW = new Date('2025-01-15T12:00:00Z');
const dirs: string[] = [];
const rigs: Rig[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const r of rigs) r.cleanup();
});

function admin(): { net: NetworkAdmin; file: string; log: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'warren-rotate-'));
  dirs.push(root);
  const dataDir = join(root, 'data');
  const log: string[] = [];
  return { net: new NetworkAdmin({ dataDir, now: () => NOW, selfName: () => 'this-appliance', log: (l) => log.push(l) }), file: join(dataDir, 'network.toml'), log };
}

function refusal(run: () => unknown): { kind: string; message: string } {
  try {
    run();
  } catch (e) {
    if (e instanceof AdminError) return { kind: e.kind, message: e.message };
    throw e;
  }
  throw new Error('not refused');
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

describe('rotating the network secret', () => {
  test('before there is a network it is a conflict, and nothing is written', () => {
    const a = admin();
    expect(refusal(() => a.net.rotate(168))).toMatchObject({ kind: 'conflict' });
    expect(existsSync(a.file)).toBe(false);
  });

  test('a new secret, generation 1, the old one accepted for the hours asked; members and addresses stay', () => {
    const a = admin();
    a.net.create('home');
    saveNetwork(a.file, admit(loadNetwork(a.file), key(11), 'phone', NOW).network);
    const before = loadNetwork(a.file);

    const info = a.net.rotate(168);
    const after = loadNetwork(a.file);
    expect(after.generation).toBe(1);
    expect(after.secret).not.toEqual(before.secret);
    expect(after.secret).toHaveLength(32);
    expect(after.previous?.secret).toEqual(before.secret);
    expect(after.previous?.until.toISOString()).toBe('2025-01-22T12:00:00.000Z');
    expect(after.addressSecret).toEqual(before.secret); // addresses derive from the first secret
    expect([after.approved, after.pending, after.revoked]).toEqual([before.approved, before.pending, before.revoked]);

    expect(info).toMatchObject({ hasNetwork: true, name: 'home', generation: 1, previousUntil: '2025-01-22T12:00:00.000Z' });
    expect(info.pending.map((m) => m.publicKey)).toEqual([key(11)]);
    const shown = JSON.stringify([info, a.net.info()]);
    for (const s of [before.secret, after.secret]) expect(shown).not.toContain(b64(s));
    expect(a.log).toEqual(['admin: created network “home”', 'admin: rotated the network secret (generation 1)']);

    // The invite now carries the new secret and the address secret: version 2.
    const invite = a.net.invite();
    expect(invite).toStartWith('warren2:');
    expect(decodeInvite(invite)).toMatchObject({ name: 'home', secret: after.secret, addressSecret: before.secret });
  });

  test('0 hours: the old secret is accepted only for the 20 s of the handover to members online; a second rotation counts on', () => {
    const a = admin();
    a.net.create('home');
    a.net.rotate(24);
    const info = a.net.rotate(0);
    expect(info.generation).toBe(2);
    const after = loadNetwork(a.file);
    expect(after.generation).toBe(2);
    expect(after.previous!.until.getTime() - NOW.getTime()).toBe(20_000);
    expect(a.log.at(-1)).toBe('admin: rotated the network secret (generation 2)');
  });

  test('a time out of range is invalid, says what is allowed, and writes nothing', () => {
    const a = admin();
    a.net.create('home');
    const before = readFileSync(a.file);
    expect(MAX_ROTATION_GRACE_HOURS).toBe(720);
    for (const hours of [-1, 721, Number.NaN, Number.POSITIVE_INFINITY]) {
      const r = refusal(() => a.net.rotate(hours));
      expect(r.kind).toBe('invalid');
      expect(r.message).toMatch(/^The old secret can stay accepted for 0 to 720 hours \(30 days\), not .+; choose one of the times offered\.$/);
    }
    expect(readFileSync(a.file)).toEqual(before);
    expect(a.net.info()).toMatchObject({ generation: 0, previousUntil: null });
    expect(a.log).toEqual(['admin: created network “home”']);
  });

  test('through the daemon API: written to the file, the daemon not told (it follows the file)', async () => {
    const r = makeRig();
    rigs.push(r);
    await r.api.createNetwork('home');
    expect(await r.api.rotateSecret(24)).toMatchObject({ generation: 1, previousUntil: '2025-01-16T12:00:00.000Z' });
    expect(loadNetwork(join(r.dataDir, 'network.toml')).generation).toBe(1);
    expect(r.networkChanges).toBe(1); // the create only
    expect(r.adminLog).toContain('admin: rotated the network secret (generation 1)');
  });
});
