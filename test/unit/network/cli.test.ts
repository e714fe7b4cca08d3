// `warren init | invite | join | members | approve | deny | revoke`, end to end: the real
// ./warren entry point, spawned with a temporary --data directory.

import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { admit, loadNetwork, saveNetwork } from '../../../appliance/network/store.ts';

const ROOT = resolve(import.meta.dir, '../../..');
const tmp = mkdtempSync(join(tmpdir(), 'warren-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function warren(...args: string[]): { code: number; out: string; err: string } {
  const r = Bun.spawnSync([join(ROOT, 'warren'), ...args], { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.exitCode ?? -1, out: r.stdout.toString(), err: r.stderr.toString() };
}

const A = join(tmp, 'alice');
const B = join(tmp, 'bob');
let invite = '';
let bobKey = '';

describe('warren network commands', () => {
  test('init creates the key and the network file (0600) and prints the invite', () => {
    const r = warren('init', '--name', 'Familie Müller', '--data', A);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('created network "Familie Müller"');
    invite = /^(warren1:[a-z2-7]+)$/m.exec(r.out)?.[1] ?? '';
    expect(invite).not.toBe('');
    expect(readdirSync(A).sort()).toEqual(['network.toml', 'private.key']);
    for (const f of ['network.toml', 'private.key']) expect(statSync(join(A, f)).mode & 0o777).toBe(0o600);
    expect(r.out).toMatch(/this node: \S{44}  100\.\d+\.\d+\.\d+  fd[0-9a-f:]+/);
  });

  test('init refuses a directory that already holds a network', () => {
    const r = warren('init', '--name', 'other', '--data', A);
    expect(r.code).toBe(1);
    expect(r.err).toContain('already holds network "Familie Müller"');
  });

  test('init without --name is a usage error', () => {
    expect(warren('init', '--data', join(tmp, 'x')).code).toBe(2);
    expect(existsSync(join(tmp, 'x', 'network.toml'))).toBe(false);
  });

  test('invite prints the same invite and a QR code', () => {
    const r = warren('invite', '--data', A);
    expect(r.code).toBe(0);
    expect(r.out).toContain(invite);
    expect(r.out).toMatch(/[█▀▄]{5}/);
  });

  test('join writes the network file with the same secret and prints what it joined', () => {
    const r = warren('join', invite, '--data', B);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('joined network "Familie Müller"');
    bobKey = /warren approve (\S{44})/.exec(r.out)?.[1] ?? '';
    expect(bobKey).not.toBe('');
    const a = loadNetwork(join(A, 'network.toml'));
    const b = loadNetwork(join(B, 'network.toml'));
    expect(b.name).toBe(a.name);
    expect(b.secret).toEqual(a.secret);
    expect(statSync(join(B, 'network.toml')).mode & 0o777).toBe(0o600);
    expect(warren('join', invite, '--data', B).out).toContain('already a member');
  });

  test('a malformed invite: exit 2, one line naming the problem, nothing written', () => {
    const C = join(tmp, 'carol');
    const cases: [string, string][] = [
      [invite.slice(0, -3), 'invite is truncated'],
      [`${invite.slice(0, 12)}${invite[12] === 'a' ? 'b' : 'a'}${invite.slice(13)}`, 'invite checksum does not match: check for a typo'],
      ['hello', 'not a Warren invite'],
      [invite.replace('warren1:', 'warren9:'), 'unsupported invite version 9'],
    ];
    for (const [text, message] of cases) {
      const r = warren('join', text, '--data', C);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n').length).toBe(1);
      expect(r.err).toContain(message);
    }
    expect(existsSync(C)).toBe(false);
  });

  test('members, approve (by key prefix), deny, revoke', () => {
    let r = warren('members', '--data', A);
    expect(r.code).toBe(0);
    expect(r.out).toContain('approved (1)');
    expect(r.out).toContain('pending (0)');

    // A pending request, as discovery would record it.
    const netPath = join(A, 'network.toml');
    const carolKey = Buffer.alloc(32, 7).toString('base64');
    saveNetwork(netPath, admit(loadNetwork(netPath), carolKey, 'carol', new Date()).network);
    expect(warren('members', '--data', A).out).toContain('pending (1)');

    r = warren('approve', bobKey, '--name', 'bob', '--data', A);
    expect(r.code).toBe(0);
    expect(r.out).toContain('approved bob');
    r = warren('deny', carolKey.slice(0, 8), '--data', A);
    expect(r.code).toBe(0);
    expect(r.out).toContain('denied carol');
    r = warren('members', '--data', A);
    expect(r.out).toContain('approved (2)');
    expect(r.out).toContain('revoked (1)');
    expect(r.out).toMatch(new RegExp(`${bobKey.replace(/[+/]/g, '\\$&')}  bob  since \\S+  100\\.`));

    r = warren('deny', bobKey, '--data', A);
    expect(r.code).toBe(1);
    expect(r.err).toContain('warren revoke');
    r = warren('revoke', bobKey.slice(0, 10), '--data', A);
    expect(r.code).toBe(0);
    expect(r.out).toContain('revoked bob');
    expect(warren('revoke', bobKey, '--data', A).out).toContain('already revoked');
    const net = loadNetwork(netPath);
    expect(net.approved.length).toBe(1);
    expect(net.revoked.map((m) => m.name).sort()).toEqual(['bob', 'carol']);
    expect(readdirSync(A).sort()).toEqual(['network.toml', 'network.toml.last-good', 'private.key']);
  });

  test('a node cannot revoke itself; unknown prefixes and missing networks are explained', () => {
    const self = loadNetwork(join(A, 'network.toml')).approved[0]?.key ?? '';
    expect(warren('revoke', self, '--data', A).err).toContain("this node's own key");
    const r = warren('approve', 'zzzzzz', '--data', A);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no listed key starts with "zzzzzz"');
    const m = warren('members', '--data', join(tmp, 'nowhere'));
    expect(m.code).toBe(1);
    expect(m.err).toContain('warren init');
  });

  test('help lists the new commands', () => {
    const r = warren('help');
    for (const c of ['init --name NAME', 'invite', 'join INVITE', 'members', 'approve KEY', 'deny KEY', 'revoke KEY']) expect(r.out).toContain(c);
  });
});
