// README's first command: the whole home comes up, the commands it prints give what it says to
// expect, and Ctrl-C leaves nothing behind.

import { expect, test } from 'bun:test';
import { join } from 'node:path';
import { REPO_ROOT, run, waitFor } from './lib/netns.ts';

test('the lab brings up the home; its printed curl commands give what they promise; SIGINT removes everything', async () => {
  const proc = Bun.spawn([join(REPO_ROOT, 'node_modules/.bin/bun'), join(REPO_ROOT, 'scripts/lab.ts')], { stdout: 'pipe', stderr: 'pipe' });
  let out = '';
  let err = '';
  const reader = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stdout) out += dec.decode(chunk);
  })();
  const errReader = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) err += dec.decode(chunk);
  })();
  try {
    await waitFor('the lab to print its instructions', () => {
      if (proc.exitCode !== null) throw new Error(`the lab exited ${proc.exitCode}:\n${out}\n${err}`);
      return out.includes('Ctrl-C stops');
    }, { timeoutMs: 120_000, intervalMs: 200 });
    const curls = out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('ip netns exec') && l.includes(' curl '));
    expect(curls.length).toBe(3);
    for (const line of curls) {
      const [cmd = '', comment = ''] = line.split('#');
      const expected = /expect: (\S+)/.exec(comment)?.[1];
      const r = await run(cmd.trim().split(/\s+/), { check: false, timeoutMs: 30_000 });
      expect(`${cmd.trim()} → ${r.stdout.trim()}`).toBe(`${cmd.trim()} → ${expected}`);
    }
    const pings = out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('ip netns exec') && l.includes(' ping '));
    expect(pings.length).toBe(1);
    for (const line of pings) {
      const cmd = line.split('#')[0]!.trim().split(/\s+/);
      const r = await run([...cmd.slice(0, -1), '-c', '2', '-W', '3', cmd.at(-1)!], { check: false, timeoutMs: 30_000 });
      expect(`${line}: ${r.code}`).toBe(`${line}: 0`);
    }
    const status = out.split('\n').map((l) => l.trim()).find((l) => l.includes(' status --json '));
    const st = JSON.parse((await run((status ?? '').split(/\s+/))).stdout) as { peers: { handshakes: number }[]; gateway: { exit: unknown } };
    expect(st.peers[0]?.handshakes).toBeGreaterThanOrEqual(1);
    expect(st.gateway.exit).not.toBeNull();
    const namespaces = [...new Set(out.match(/warren-[0-9a-z]+-[a-z]+\b/g) ?? [])];
    expect(namespaces.length).toBeGreaterThanOrEqual(7);
    const peersCmd = out.split('\n').map((l) => l.trim()).find((l) => l.includes(' peers --socket '))!.split('#')[0]!.trim().split(/\s+/);
    expect((await run([...peersCmd.slice(0, 4), ...peersCmd.slice(4), '--json'])).stdout).toContain('"path": "relay"');
    proc.kill('SIGINT');
    await proc.exited;
    const left = (await run(['ip', 'netns', 'list'])).stdout;
    for (const ns of namespaces) expect(left).not.toContain(ns);
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await reader.catch(() => {});
    await errReader.catch(() => {});
  }
}, 180_000);
