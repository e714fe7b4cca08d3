// A bounded fuzz run of every external parser in every test run (scripts/fuzz runs millions).
import { describe, expect, test } from 'bun:test';
import { fuzz } from '../../scripts/fuzz/run.ts';

describe('fuzzing', () => {
  test('every parser survives 3,000 seeded mutated inputs: no untyped error, no input over 200 ms', () => {
    const results = fuzz(3_000, 20261128);
    expect(results.length).toBe(7);
    for (const r of results) {
      expect(`${r.target}: ${r.crashes.map((c) => `${c.error} on ${c.input}`).join('; ')}`).toBe(`${r.target}: `);
      expect(r.slowest).toBeLessThan(200);
    }
  }, 120_000);

  test('the fuzzer finds a planted crash and says how to replay it', () => {
    const planted = {
      name: 'planted',
      seeds: [new Uint8Array([1, 2, 3, 4])],
      run(input: Uint8Array) {
        if (input.length > 0 && input[0] === 0xff) throw new TypeError('planted bug');
        if (input.length > 100) throw Object.assign(new Error('too long'), { kind: 'invalid' }); // typed: allowed
      },
    };
    const [r] = fuzz(2_000, 7, undefined, [planted]);
    expect(r?.crashes.length).toBeGreaterThan(0);
    expect(r?.crashes[0]?.error).toBe('TypeError: planted bug');
    expect(r?.crashes[0]?.input.startsWith('ff')).toBe(true);
  });
});
