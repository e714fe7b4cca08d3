// The daemon's view of the network file: new devices recorded as pending (or approved when the
// network does not require approval), approve/revoke edits seen while running, a broken edit
// neither opens nor closes the network, and the pending list is bounded.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Membership, MAX_PENDING } from '../../../appliance/network/membership.ts';
import { approve, createNetwork, loadNetwork, revoke, saveNetwork, updateNetwork, type Network } from '../../../appliance/network/store.ts';
import { encodeKey } from '../../../appliance/config/schema.ts';

let dir: string;
let file: string;
let lines: string[];
const key = () => crypto.getRandomValues(new Uint8Array(32));
const bump = (n: number) => utimesSync(file, new Date(), new Date(Date.now() + n * 1000)); // a visible mtime change

function setup(edit: (n: Network) => Network = (n) => n): Membership {
  const net = edit(createNetwork('home'));
  saveNetwork(file, net);
  lines = [];
  return new Membership({ name: 'home', secret: net.secret, file, addressSecret: net.secret, previous: null }, (l) => lines.push(l));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-membership-'));
  file = join(dir, 'network.toml');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('membership and `warren approve` writing at the same moment', () => {
  test('an approval written within the same timestamp as the cached file is not overwritten by "pending"', () => {
    const m = setup();
    const k = key();
    m.revoked(); // the daemon has read (and cached) the file
    const { mtime } = statSync(file);
    // `warren approve` writes the key as approved; the file system's timestamp does not move.
    saveNetwork(file, approve(loadNetwork(file), encodeKey(k), new Date()));
    utimesSync(file, mtime, mtime);
    expect(m.standing(k)).toBe('approved');
    expect(loadNetwork(file).approved.map((a) => a.key)).toContain(encodeKey(k));
    expect(loadNetwork(file).pending).toEqual([]);
    expect(lines.some((l) => l.includes('waiting for approval'))).toBe(false);
  });

  test('a writer waits for the lock; a stale lock (a crashed writer) is broken', () => {
    setup();
    writeFileSync(`${file}.lock`, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${file}.lock`, old, old);
    const next = updateNetwork(file, (n) => approve(n, encodeKey(key()), new Date()));
    expect(next.approved).toHaveLength(loadNetwork(file).approved.length);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });
});

describe('membership', () => {
  test('an unknown device is recorded as pending, once, and is not admitted', () => {
    const m = setup();
    const k = key();
    expect(m.admits(k)).toBe(false);
    expect(m.standing(k)).toBe('pending');
    const onDisk = loadNetwork(file);
    expect(onDisk.pending.map((p) => p.key)).toEqual([encodeKey(k)]);
    expect(lines.filter((l) => l.includes('waiting for approval'))).toHaveLength(1);
    expect(lines[0]).toContain(`warren approve ${encodeKey(k)}`);
  });

  test('approve and revoke made while running are seen', () => {
    const m = setup();
    const k = key();
    expect(m.admits(k)).toBe(false);
    saveNetwork(file, approve(loadNetwork(file), encodeKey(k), new Date()));
    bump(1);
    expect(m.admits(k)).toBe(true);
    saveNetwork(file, revoke(loadNetwork(file), encodeKey(k), new Date()));
    bump(2);
    expect(m.admits(k)).toBe(false);
    expect(m.standing(k)).toBe('revoked');
    expect(m.revoked()).toEqual([encodeKey(k)]);
  });

  test('without require_approval a new device is approved and written so', () => {
    const m = setup((n) => ({ ...n, requireApproval: false }));
    const k = key();
    expect(m.admits(k)).toBe(true);
    expect(loadNetwork(file).approved.map((p) => p.key)).toEqual([encodeKey(k)]);
  });

  test('a broken edit keeps what the last good read said', () => {
    const k = key();
    const m = setup((n) => approve(n, encodeKey(k), new Date()));
    expect(m.admits(k)).toBe(true);
    writeFileSync(file, 'secret = ');
    bump(3);
    expect(m.admits(k)).toBe(true);
    expect(m.admits(key())).toBe(false); // and opens nothing new
    expect(lines.some((l) => l.includes('network:'))).toBe(true);
  });

  test(`at most ${MAX_PENDING} devices wait; more are refused without being written`, () => {
    const m = setup();
    for (let i = 0; i < MAX_PENDING; i++) expect(m.standing(key())).toBe('pending');
    expect(m.standing(key())).toBe('unlisted');
    expect(loadNetwork(file).pending).toHaveLength(MAX_PENDING);
  });

  test('a network given only by its secret admits every holder of the secret', () => {
    const s = key();
    const m = new Membership({ name: 'home', secret: s, file: null, addressSecret: s, previous: null }, () => {});
    expect(m.admits(key())).toBe(true);
  });

  test('peer config: overlay addresses derived from the key, the same on every call', () => {
    const m = setup();
    const k = key();
    const a = m.peerConfig(k, []);
    expect(a.allowedIps).toHaveLength(2);
    expect(m.peerConfig(k, []).allowedIps).toEqual(a.allowedIps);
    expect(a.publicKey).toBe(k);
  });
});
