// The support bundle: what it holds, and that no key or secret survives — not in the config, the
// status, the settings or the log, nor an invite anywhere. Public keys stay only as 8 characters.

import { afterAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { redact, REMOVED } from '../../../appliance/admin/support-bundle.ts';
import type { DaemonStatus } from '../../../appliance/admin/daemon-api.ts';
import { loadNetwork } from '../../../appliance/network/store.ts';
import pkg from '../../../package.json' with { type: 'json' };
import { key, makeRig, type Rig } from './fixtures.ts';

const B64_KEY = /[A-Za-z0-9+/]{43}=/;
const INVITE = /warren\d+:[a-z2-7]{8,}/i;
const HEX_KEY = /[0-9a-f]{64}/i;

const rigs: Rig[] = [];
afterAll(() => rigs.forEach((r) => r.cleanup()));

describe('redact', () => {
  const known = new Set([key(1)]);

  test('secret-named fields lose their value in TOML and JSON; key file paths stay', () => {
    expect(redact(`private_key = "${key(9)}"`, known)).toBe(`private_key = "${REMOVED}"`);
    expect(redact(`secret = 'hunter2 is not base64'`, known)).toBe(`secret = '${REMOVED}'`);
    expect(redact(`"presharedKey": "short"`, known)).toBe(`"presharedKey": "${REMOVED}"`);
    expect(redact('private_key_file = "/etc/warren/private.key"', known)).toBe('private_key_file = "/etc/warren/private.key"');
  });

  test('any other key shape is removed; a known public key is shortened to 8 characters', () => {
    expect(redact(`peer ${key(1)} and ${key(9)}`, known)).toBe(`peer ${key(1).slice(0, 8)}… and ${REMOVED}`);
    expect(redact(`unpadded ${key(9).slice(0, 43)}.`, known)).toBe(`unpadded ${REMOVED}.`);
    expect(redact(`hex ${'ab'.repeat(32)}`, known)).toBe(`hex ${REMOVED}`);
    expect(redact('/var/lib/warren/network.toml and 192.168.1.1:51820', known)).toBe('/var/lib/warren/network.toml and 192.168.1.1:51820');
  });

  test('invites are removed whole, in either case', () => {
    expect(redact('join with warren1:aaqaaaaaa5ugs3tfnzqw2zjaonswg4tf please', known)).toBe(`join with warren1:${REMOVED} please`);
    expect(redact('WARREN1:AAQAAAAAA5UGS3TFNZQW2ZJA', known)).toBe(`warren1:${REMOVED}`);
    expect(redact('warren: stopped', known)).toBe('warren: stopped');
  });
});

describe('supportBundle', () => {
  test('versions, network, settings, config, status and log, with no key, secret or invite left', async () => {
    const r = makeRig();
    rigs.push(r);
    const net = await r.api.createNetwork('home');
    const self = net.approved[0]?.publicKey ?? '';
    const invite = await r.api.invite();
    const secret = Buffer.from(loadNetwork(join(r.dataDir, 'network.toml')).secret).toString('base64');
    const configPath = join(r.root, 'warren.toml');
    writeFileSync(configPath, `[interface]\nprivate_key = "${key(7)}"\n[network]\nname = "home"\nsecret = "${secret}"\n[[peer]]\nname = "grandma"\npublic_key = "${key(2)}"\npreshared_key = "${key(8)}"\nendpoint = "198.51.100.7:51820"\n`);
    const status: DaemonStatus & Record<string, unknown> = {
      interface: 'warren0', publicKey: self, uptimeSeconds: 5,
      peers: [{ name: 'grandma', publicKey: key(2), endpoint: '198.51.100.7:51820', lastHandshakeSecondsAgo: 3, rxBytes: 1, txBytes: 2 }],
      gateway: { exit: { name: 'grandma', publicKey: key(2) }, dns: true, killSwitch: 'on' },
      counters: { dropAuth: 0 },
    };
    r.status.current = status;
    await r.api.setPrivacy({ hops: 1, exit: key(2), killSwitch: 'on', dns: 'on', padding: 'bucket' });
    r.ring.push(`2025-01-15T12:00:00Z warren: invite ${invite}`);
    r.ring.push(`2025-01-15T12:00:01Z debug private key ${key(7)} secret ${secret}`);
    const withConfig = makeRig({ configPath, status: () => r.status.current, logs: () => r.ring.lines(), dataDir: r.dataDir, settingsPath: r.settingsPath });
    rigs.push(withConfig);

    const bundle = await withConfig.api.supportBundle();
    expect(bundle).not.toMatch(B64_KEY);
    expect(bundle).not.toMatch(INVITE);
    expect(bundle).not.toMatch(HEX_KEY);
    for (const s of [secret, key(7), key(8), invite]) expect(bundle).not.toContain(s.slice(0, 20));
    expect(bundle).toContain(`warren: ${pkg.version}`);
    expect(bundle).toContain(`bun: ${Bun.version}`);
    expect(bundle).toContain('name: home');
    expect(bundle).toContain('approved: 1, pending: 0, revoked: 0');
    expect(bundle).toContain(`== config ${configPath} ==`);
    expect(bundle).toContain('endpoint = "198.51.100.7:51820"');
    expect(bundle).toContain(`${self.slice(0, 8)}…`); // own key, shortened
    expect(bundle).toContain(`"exit": "${key(2).slice(0, 8)}…"`); // settings: the exit, a known peer
    expect(bundle).toContain('"dropAuth": 0');
    expect(bundle).toContain('debug private key');
  });

  test('on a fresh appliance: no network, no tunnel, no config', async () => {
    const r = makeRig();
    rigs.push(r);
    const bundle = await r.api.supportBundle();
    expect(bundle).toContain('== network ==\n(none yet)');
    expect(bundle).toContain('== status ==\n(no tunnel running)');
    expect(bundle).toContain('== config ==\n(not available)');
  });
});
