// The network file (appliance/network/store.ts): atomic 0600 writes, validation, transitions.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  admit,
  approve,
  createNetwork,
  deny,
  findMember,
  formatNetwork,
  loadNetwork,
  NetworkStoreError,
  parseNetworkText,
  revoke,
  saveNetwork,
  writeFileAtomic,
  type Network,
} from '../../../appliance/network/store.ts';

const K1 = Buffer.alloc(32, 1).toString('base64');
const K2 = Buffer.alloc(32, 2).toString('base64');
const K3 = Buffer.alloc(32, 3).toString('base64');
const T0 = new Date('2025-01-01T12:00:00.000Z');
const T1 = new Date('2025-02-01T08:30:00.250Z');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function storeError(f: () => unknown): NetworkStoreError {
  try {
    f();
  } catch (e) {
    if (e instanceof NetworkStoreError) return e;
    throw e;
  }
  throw new Error('expected a NetworkStoreError');
}

describe('createNetwork', () => {
  test('a random 32-byte secret, approval required, no members', () => {
    const a = createNetwork('home');
    const b = createNetwork('home');
    expect(a.secret.length).toBe(32);
    expect(a.secret).not.toEqual(b.secret);
    expect(a).toMatchObject({ name: 'home', keyFile: 'private.key', requireApproval: true, approved: [], pending: [], revoked: [] });
  });

  test('refuses names an invite could not carry', () => {
    expect(storeError(() => createNetwork('')).kind).toBe('invalid-argument');
    expect(storeError(() => createNetwork('x'.repeat(33))).kind).toBe('invalid-argument');
    expect(storeError(() => createNetwork('a\nb')).kind).toBe('invalid-argument');
  });
});

describe('files', () => {
  test('round trip, including UTF-8 names and millisecond timestamps', () => {
    let net = createNetwork('Familie Müller');
    net = approve(net, K1, T0, 'Oma’s Pi');
    net = admit(net, K2, 'tablet', T1).network;
    net = revoke(net, K3, T1);
    const path = join(dir, 'network.toml');
    saveNetwork(path, net);
    expect(loadNetwork(path)).toEqual(net);
  });

  test('the file is mode 0600 and no temp file is left behind', () => {
    const path = join(dir, 'network.toml');
    saveNetwork(path, createNetwork('home'));
    saveNetwork(path, createNetwork('home')); // over an existing file too
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // Beside it only the version it replaced (the last good copy), with the same mode.
    expect(readdirSync(dir).sort()).toEqual(['network.toml', 'network.toml.last-good']);
    expect(statSync(`${path}.last-good`).mode & 0o777).toBe(0o600);
  });

  test('a failed write leaves the old file and no temp file', () => {
    const path = join(dir, 'network.toml');
    saveNetwork(path, createNetwork('first'));
    // Renaming a file over a directory fails after the temp file was written.
    const blocked = join(dir, 'blocked');
    mkdirSync(join(blocked, 'inner'), { recursive: true });
    expect(storeError(() => writeFileAtomic(blocked, 'x')).kind).toBe('write');
    expect(readdirSync(dir).sort()).toEqual(['blocked', 'network.toml']);
    expect(loadNetwork(path).name).toBe('first');
  });

  test('a missing file says how to create one', () => {
    const e = storeError(() => loadNetwork(join(dir, 'network.toml')));
    expect(e.kind).toBe('read');
    expect(e.message).toContain('warren init');
  });

  test('a corrupt file is reported with the file and the problem', () => {
    const path = join(dir, 'network.toml');
    writeFileSync(path, 'name = "home"\nsecret = \n');
    const e = storeError(() => loadNetwork(path));
    expect(e.kind).toBe('parse');
    expect(e.message).toStartWith(`network file ${path} is not valid TOML:`);
    writeFileSync(path, Buffer.from([0x00, 0xff, 0xfe, 0x10]));
    expect(storeError(() => loadNetwork(path)).kind).toBe('parse');
  });
});

describe('validation names the field', () => {
  const good = formatNetwork(approve(createNetwork('home'), K1, T0, 'pi'));
  const cases: [string, string, string][] = [
    ['missing name', good.replace(/^name = .*$/m, ''), 'name'],
    ['name too long', good.replace(/^name = .*$/m, `name = "${'x'.repeat(40)}"`), 'name'],
    ['short secret', good.replace(/^secret = .*$/m, 'secret = "AAAA"'), 'secret'],
    ['approval not a boolean', good.replace(/^require_approval = .*$/m, 'require_approval = "yes"'), 'require_approval'],
    ['bad member key', good.replace(K1, 'not-a-key'), 'approved[0].key'],
    ['member without a date', good.replace(/^since = .*$/m, 'since = "yesterday"'), 'approved[0].since'],
    ['unknown setting', `${good}\n[extra]\nx = 1\n`, 'extra'],
    ['unknown member field', good.replace(/^since = (.*)$/m, 'since = $1\ncolour = "red"'), 'approved[0].colour'],
    ['members not a list', good.replace('pending = []', 'pending = 3'), 'pending'],
    ['a key in two lists', good.replace('revoked = []', `[[revoked]]\nkey = "${K1}"\nname = ""\nsince = 2025-01-01T00:00:00Z`), 'revoked[0].key'],
  ];
  for (const [what, text, field] of cases) {
    test(what, () => {
      const e = storeError(() => parseNetworkText(text, '/x/network.toml'));
      expect(e.kind).toBe('field');
      expect(e.field).toBe(field);
      expect(e.message).toStartWith(`network file /x/network.toml: ${field}: `);
    });
  }

  test('defaults: key_file and require_approval may be left out', () => {
    const net = parseNetworkText(`name = "home"\nsecret = "${K3}"\n`, 'n');
    expect(net).toMatchObject({ keyFile: 'private.key', requireApproval: true, approved: [] });
  });
});

describe('membership transitions are pure', () => {
  const base = createNetwork('home');

  test('admit: unknown keys wait when approval is required, else are approved; known keys keep their standing', () => {
    const r = admit(base, K1, 'laptop', T0);
    expect(r.standing).toBe('pending');
    expect(r.network.pending).toEqual([{ key: K1, name: 'laptop', since: T0 }]);
    expect(base.pending).toEqual([]);
    const open: Network = { ...base, requireApproval: false };
    expect(admit(open, K1, 'laptop', T0).standing).toBe('approved');
    const revoked = revoke(base, K1, T0);
    expect(admit(revoked, K1, 'laptop', T1)).toEqual({ standing: 'revoked', network: revoked });
  });

  test('approve a pending key keeps its name; approve ahead of time; approving twice changes nothing', () => {
    const pending = admit(base, K1, 'laptop', T0).network;
    const a = approve(pending, K1, T1);
    expect(a.pending).toEqual([]);
    expect(a.approved).toEqual([{ key: K1, name: 'laptop', since: T1 }]);
    expect(approve(a, K1, new Date())).toBe(a);
    expect(approve(a, K1, new Date(), 'renamed').approved).toEqual([{ key: K1, name: 'renamed', since: T1 }]);
    expect(approve(base, K2, T0, 'phone').approved).toEqual([{ key: K2, name: 'phone', since: T0 }]);
  });

  test('deny moves a pending key to revoked; anything else is refused with a hint', () => {
    const pending = admit(base, K1, 'laptop', T0).network;
    const d = deny(pending, K1, T1);
    expect(d.pending).toEqual([]);
    expect(findMember(d, K1)).toEqual({ list: 'revoked', member: { key: K1, name: 'laptop', since: T1 } });
    const approved = approve(base, K2, T0);
    const e = storeError(() => deny(approved, K2, T1));
    expect(e.kind).toBe('not-pending');
    expect(e.message).toContain('warren revoke');
    expect(storeError(() => deny(base, K3, T1)).message).toContain('not known here');
  });

  test('revoke from approved, pending or unknown; twice changes nothing', () => {
    const a = approve(base, K1, T0, 'pi');
    const r = revoke(a, K1, T1);
    expect(r.approved).toEqual([]);
    expect(r.revoked).toEqual([{ key: K1, name: 'pi', since: T1 }]);
    expect(revoke(r, K1, new Date())).toBe(r);
    expect(revoke(base, K3, T0).revoked.length).toBe(1);
    expect(a.approved.length).toBe(1); // the input is untouched
  });

  test('keys are checked', () => {
    expect(storeError(() => approve(base, 'abc', T0)).kind).toBe('invalid-argument');
  });
});

test('the written file is readable TOML that a person can edit', () => {
  const text = formatNetwork(approve(createNetwork('home'), K1, T0, 'pi'));
  expect(text).toContain('require_approval = true');
  expect(text).toContain('[[approved]]');
  expect(text).toContain('since = 2025-01-01T12:00:00.000Z');
});
