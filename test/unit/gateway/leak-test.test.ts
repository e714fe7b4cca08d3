// The leak self-test's verdicts on fake answers (gateway/leak-test.ts); the netns admin test runs
// it for real from the dashboard.

import { describe, expect, test } from 'bun:test';
import { runLeakTest, type LeakTestDeps } from '../../../appliance/gateway/leak-test.ts';
import type { Runner } from '../../../appliance/system/runner.ts';

const TABLE = 'table inet warren {\n  chain filter_forward {\n    iifname "lan0" drop\n  }\n}';

function deps(o: Partial<LeakTestDeps> & { routeDev?: string; table?: boolean } = {}): LeakTestDeps {
  const run: Runner = (argv) => {
    if (argv[0] === 'ip') return { code: 0, stdout: `9.9.9.9 dev ${o.routeDev ?? 'warren0'} table 5741 src 100.80.0.1 uid 0\n`, stderr: '' };
    if (argv[0] === 'nft') return o.table === false ? { code: 1, stdout: '', stderr: 'no such table' } : { code: 0, stdout: TABLE, stderr: '' };
    return { code: 1, stdout: '', stderr: '' };
  };
  return {
    url: 'http://198.51.100.10/', overlay: '100.80.0.1', tun: 'warren0', resolvers: ['9.9.9.9'], redirectDns: true,
    exitName: 'grandma', exitAddress: async () => '203.0.113.20', run,
    fetchFrom: async () => 'client=203.0.113.20',
    ...o,
  };
}

describe('leak test', () => {
  test('all well: the internet sees the exit, DNS goes through the tunnel, the kill switch is loaded', async () => {
    const r = await runLeakTest(deps());
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => [c.name, c.ok])).toEqual([['Public address', true], ['DNS', true], ['Kill switch', true]]);
    expect(r.checks[0]!.detail).toContain('203.0.113.20');
  });

  test('the request was made from the overlay address (so it takes the devices\' way)', async () => {
    let from = '';
    await runLeakTest(deps({ fetchFrom: async (_u, local) => ((from = local), '203.0.113.20') }));
    expect(from).toBe('100.80.0.1');
  });

  test('leaks and failures are named: the home address seen, DNS outside the tunnel, no firewall, no exit, no answer', async () => {
    const seenHome = await runLeakTest(deps({ fetchFrom: async () => '203.0.113.2' }));
    expect(seenHome.ok).toBe(false);
    expect(seenHome.checks[0]).toMatchObject({ ok: false, detail: expect.stringContaining('203.0.113.2') });
    expect((await runLeakTest(deps({ routeDev: 'wan0' }))).checks[1]).toMatchObject({ ok: false, detail: expect.stringContaining('wan0') });
    expect((await runLeakTest(deps({ table: false }))).checks[2]!.ok).toBe(false);
    expect((await runLeakTest(deps({ exitName: null }))).checks[0]!.ok).toBe(false);
    const silent = await runLeakTest(deps({ fetchFrom: async () => { throw new Error('no answer in 5 s'); } }));
    expect(silent.checks[0]).toMatchObject({ ok: false, detail: expect.stringContaining('no answer') });
    expect((await runLeakTest(deps({ exitAddress: async () => null }))).checks[0]!.ok).toBeNull();
    expect((await runLeakTest(deps({ fetchFrom: async () => '<html>hello</html>' }))).checks[0]!.ok).toBeNull();
  });
});
