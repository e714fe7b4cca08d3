// State files survive crashes: a writer is SIGKILLed 100 times at random moments while it
// rewrites the network file and the settings file; after every kill both load, whole (never a
// half-written version), and a file broken afterwards is replaced by its last good copy.

import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastGoodPath, loadNetwork, withLastGood } from '../../../appliance/network/store.ts';
import { loadSettings } from '../../../appliance/admin/settings.ts';

const BUN = process.execPath;
const CHILD = join(import.meta.dir, 'writer-child.ts');

describe('crash safety of state files', () => {
  test('SIGKILL during writes, 100 times: the files always load whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-crash-'));
    try {
      let versions = 0;
      for (let i = 0; i < 100; i++) {
        const child = Bun.spawn([BUN, CHILD, dir], { stdout: 'pipe', stderr: 'inherit' });
        const reader = child.stdout.getReader();
        await reader.read(); // "ready": both files exist
        reader.releaseLock();
        await Bun.sleep(Math.random() * 40); // a random moment in the middle of the writes
        child.kill('SIGKILL');
        await child.exited;
        const net = loadNetwork(join(dir, 'network.toml')); // throws if half-written
        expect(net.name).toBe('crash');
        expect(net.approved.length).toBeGreaterThan(0);
        loadSettings(join(dir, 'settings.json'));
        loadNetwork(lastGoodPath(join(dir, 'network.toml')));
        versions += net.approved.length;
      }
      expect(versions).toBeGreaterThan(100);
      // What a kill can leave is a temp file, never read, and only beside the real ones.
      const names = readdirSync(dir).filter((n) => !['network.toml', 'settings.json', 'network.toml.last-good', 'settings.json.last-good'].includes(n));
      expect(names.every((n) => n.startsWith('.') && /\.tmp(\.keep)?$/.test(n))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test('a corrupt file is reported and its last good copy used', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-corrupt-'));
    try {
      const child = Bun.spawnSync([BUN, '-e', `
        const { createNetwork, saveNetwork, approve } = await import(${JSON.stringify(join(import.meta.dir, '../../../appliance/network/store.ts'))});
        const p = ${JSON.stringify(join(dir, 'network.toml'))};
        const net = createNetwork('home', () => new Uint8Array(32).fill(3));
        saveNetwork(p, net);
        saveNetwork(p, approve(net, Buffer.from(new Uint8Array(32).fill(9)).toString('base64'), new Date(), 'tv'));`]);
      expect(child.exitCode).toBe(0);
      const path = join(dir, 'network.toml');
      writeFileSync(path, 'name = "home"\nsecret = ');
      const said: string[] = [];
      const net = loadNetwork(path, (l) => said.push(l));
      expect(net.name).toBe('home');
      expect(said.join()).toContain('last good copy');
      expect(() => loadNetwork(path)).toThrow();
      // Settings likewise, through the same rule.
      writeFileSync(join(dir, 'settings.json'), '{"version": 1, "devices": {}}');
      writeFileSync(lastGoodPath(join(dir, 'settings.json')), '{"version": 1}');
      writeFileSync(join(dir, 'settings.json'), '{ not json');
      expect(() => withLastGood(join(dir, 'settings.json'), loadSettings, (l) => said.push(l))).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
