// README's first command: the lab comes up, the commands it prints work, Ctrl-C leaves nothing.

import { expect, test } from 'bun:test';
import { join } from 'node:path';
import { REPO_ROOT, run, waitFor } from './lib/netns.ts';

test('the lab runs two appliances, its printed ping works, and SIGINT removes everything', async () => {
  const proc = Bun.spawn([join(REPO_ROOT, 'node_modules/.bin/bun'), join(REPO_ROOT, 'scripts/lab.ts')], { stdout: 'pipe', stderr: 'pipe' });
  let out = '';
  const reader = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stdout) out += dec.decode(chunk);
  })();
  try {
    await waitFor('the lab to print its instructions', () => out.includes('Ctrl-C stops'), { timeoutMs: 60_000, intervalMs: 200 });
    const pings = out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('ip netns exec') && l.includes(' ping '));
    expect(pings.length).toBeGreaterThanOrEqual(2);
    for (const cmd of pings) {
      const argv = [...cmd.split(/\s+/).slice(0, -1), '-c', '2', '-W', '3', cmd.split(/\s+/).at(-1) ?? ''];
      const r = await run(argv, { check: false, timeoutMs: 30_000 });
      expect(`${cmd}: ${r.code}`).toBe(`${cmd}: 0`);
    }
    const status = out.split('\n').map((l) => l.trim()).find((l) => l.includes(' status --json '));
    expect(status).toBeDefined();
    const st = JSON.parse((await run((status ?? '').split(/\s+/))).stdout) as { peers: { handshakes: number }[] };
    expect(st.peers[0]?.handshakes).toBeGreaterThanOrEqual(1);
    const namespaces = [...new Set(out.match(/warren-[0-9a-z]+-(a|b|inet)\b/g) ?? [])];
    expect(namespaces).toHaveLength(3);
    proc.kill('SIGINT');
    await proc.exited;
    const left = (await run(['ip', 'netns', 'list'])).stdout;
    for (const ns of namespaces) expect(left).not.toContain(ns);
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await reader.catch(() => {});
  }
}, 120_000);
