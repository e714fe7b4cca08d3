// A bounded fuzz run of every external parser and of the web admin's routes in every test run
// (scripts/fuzz runs millions).
import { describe, expect, test } from 'bun:test';
import { ADMIN_SEEDS, AdminFuzz, encodeSeed } from '../../scripts/fuzz/admin.ts';
import { fuzz } from '../../scripts/fuzz/run.ts';
import { FakeAdminApi } from '../../webui/fake-api.ts';

describe('fuzzing', () => {
  test('every parser and the admin routes survive 3,000 seeded mutated inputs: no untyped error or 5xx, no input over 200 ms each time it is fed', async () => {
    const results = await fuzz(3_000, 20261128);
    expect(results.map((r) => r.target)).toEqual([
      'native wire decoder',
      "device receive path (both wires' framing)",
      'handshake and cookie messages',
      'DHT member record',
      'invite',
      'config file',
      'network file',
      'admin routes',
    ]);
    // A hang (an input over 200 ms every time it is fed) is among the crashes.
    for (const r of results) expect(`${r.target}: ${r.crashes.map((c) => `${c.error} on ${c.input}`).join('; ')}`).toBe(`${r.target}: `);
  }, 120_000);

  test('the fuzzer finds a planted crash and says how to replay it', async () => {
    const planted = {
      name: 'planted',
      seeds: [new Uint8Array([1, 2, 3, 4])],
      run(input: Uint8Array) {
        if (input.length > 0 && input[0] === 0xff) throw new TypeError('planted bug');
        if (input.length > 100) throw Object.assign(new Error('too long'), { kind: 'invalid' }); // typed: allowed
      },
    };
    const [r] = await fuzz(2_000, 7, undefined, [planted]);
    expect(r?.crashes.length).toBeGreaterThan(0);
    expect(r?.crashes[0]?.error).toBe('TypeError: planted bug');
    expect(r?.crashes[0]?.input.startsWith('ff')).toBe(true);
  });

  test('an asynchronous target is awaited: its rejections are crashes, its typed ones are not', async () => {
    const planted = {
      name: 'planted async',
      seeds: [new Uint8Array([1, 2, 3, 4])],
      async run(input: Uint8Array) {
        await Promise.resolve();
        if (input.length > 0 && input[0] === 0xff) throw new RangeError('planted async bug');
        if (input.length > 100) throw Object.assign(new Error('too long'), { kind: 'invalid' });
      },
    };
    const [r] = await fuzz(2_000, 7, undefined, [planted]);
    expect(r?.crashes[0]?.error).toBe('RangeError: planted async bug');
  });

  test('an input over 200 ms every time it is fed is a hang; one slow only once is a stall (the machine paused)', async () => {
    const busy = (ms: number): void => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    let n = 0;
    let pausedOnce = false;
    const planted = {
      name: 'planted slow',
      seeds: [],
      generate: () => new Uint8Array([n++]),
      run(input: Uint8Array) {
        if (input[0] === 3) busy(250);
        if (input[0] === 6 && !pausedOnce) {
          pausedOnce = true;
          busy(250);
        }
      },
    };
    const [r] = await fuzz(10, 1, undefined, [planted]);
    expect(r?.crashes.map((c) => [c.iteration, c.error.replace(/\d+/g, 'N')])).toEqual([[3, 'Error: Hang: N ms, and N, N, N ms fed again']]);
    expect(r?.stalls).toBe(1);
    expect(r?.slowest).toBeGreaterThan(200);
  });
});

describe('the admin routes target', () => {
  test('every seed, unmutated, reaches its handler: signed in with a CSRF token where it needs one, the status it should get', async () => {
    const admin = new AdminFuzz();
    await admin.start();
    try {
      const got: string[] = [];
      const want: string[] = [];
      for (const s of ADMIN_SEEDS) {
        const a = await admin.send(encodeSeed(s));
        got.push(`${s.method} ${s.path} [${s.flags}] → ${a?.status}`);
        want.push(`${s.method} ${s.path} [${s.flags}] → ${s.expect}`);
      }
      expect(got).toEqual(want);
      await admin.stillAnswers();
    } finally {
      await admin.stop();
    }
  }, 30_000);

  test('a handler that throws (a 500) is reported as a crash with the route and the logged error', async () => {
    const admin = new AdminFuzz();
    await admin.start();
    const peers = FakeAdminApi.prototype.peers;
    FakeAdminApi.prototype.peers = () => Promise.reject(new TypeError('planted admin bug'));
    try {
      const dashboard = encodeSeed({ method: 'GET', path: '/', flags: 'fake session', expect: 200 });
      await expect(admin.run(dashboard)).rejects.toThrow(/^HTTP 500 on GET \/ \[session fake\] body "": webui: GET \/: TypeError: planted admin bug/);
    } finally {
      FakeAdminApi.prototype.peers = peers;
      await admin.stop();
    }
  });
});
