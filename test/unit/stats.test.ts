import { describe, expect, test } from 'bun:test';
import { chacha20 } from '@noble/ciphers/chacha.js';
import {
  byteUniformityByOffset,
  chiSquarePValue,
  chiSquareUniform,
  describeUniformity,
  gammaQ,
  MIN_SAMPLES_PER_OFFSET,
} from '../netns/lib/stats.ts';

/** 10,000 payloads of 64 random bytes, as an ideal obfuscated wire would carry. */
/**
 * Random-looking payloads from a fixed-key ChaCha20 keystream: as good as random for the test,
 * but the same every run, so a "passes" assertion cannot be the 1-in-1,000 false alarm that
 * family-wise α = 0.001 allows (the repeated-trials test below uses fresh randomness on purpose).
 */
let stream = 0;
function randomPayloads(count = 10_000, length = 64): Uint8Array[] {
  const key = new Uint8Array(32).fill(7);
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setUint32(0, stream++, true);
  const bytes = chacha20(key, nonce, new Uint8Array(count * length));
  return Array.from({ length: count }, (_, i) => bytes.subarray(i * length, (i + 1) * length));
}

function freshRandomPayloads(count = 10_000, length = 64): Uint8Array[] {
  return Array.from({ length: count }, () => crypto.getRandomValues(new Uint8Array(length)));
}

/** Q(k, x) for integer k in closed form, e^(−x) Σ_{i<k} x^i / i!, summed in logs: an independent check. */
function gammaQIntegerA(k: number, x: number): number {
  let logTerm = -x; // ln(e^(−x) x^0 / 0!)
  let sum = Math.exp(logTerm);
  for (let i = 1; i < k; i++) {
    logTerm += Math.log(x) - Math.log(i);
    sum += Math.exp(logTerm);
  }
  return sum;
}

describe('chi-square p-value', () => {
  // Critical values from standard chi-square tables; p to 3 decimal places.
  test.each([
    [1, 3.841, 0.05],
    [255, 293.25, 0.05],
    [10, 23.209, 0.01],
  ])('df=%d at x=%d → p≈%d', (df, x, p) => {
    expect(chiSquarePValue(x, df)).toBeCloseTo(p, 3);
  });

  // Reference: scipy.stats.chi2.sf (SciPy 1.17.1), relative error ≤ 1e-8.
  test.each([
    [1, 3.841, 0.050013683763956804],
    [255, 293.25, 0.04999099030813729],
    [10, 23.209, 0.01000086581474075],
    [255, 200, 0.9954254445419519], // series branch
    [255, 255, 0.48822252177040637], // series branch, near the switch at x/2 = a + 1
    [255, 256.5, 0.4618385405538116], // continued fraction, just past the switch
    [255, 400, 1.6600025244123397e-8],
    [255, 1000, 9.37847734365788e-89],
    [2, 5, 0.0820849986238988],
    [64, 60, 0.6186429898084839],
  ])('df=%d at x=%d matches scipy', (df, x, p) => {
    expect(Math.abs(chiSquarePValue(x, df) - p) / p).toBeLessThan(1e-8);
  });

  test('agrees with the closed form for even df on both branches', () => {
    for (const k of [1, 2, 5, 127, 128]) {
      for (const x of [0.1, 1, k / 2, k, k + 1, k + 2, 2 * k + 10, 4 * k + 50]) {
        const want = gammaQIntegerA(k, x);
        expect(Math.abs(gammaQ(k, x) - want)).toBeLessThan(1e-12 + 1e-9 * want);
      }
    }
  });

  test('tails: x = 0 gives 1, a huge statistic gives ~0, and Q is monotone in x', () => {
    expect(chiSquarePValue(0, 255)).toBe(1);
    expect(chiSquarePValue(0, 1)).toBe(1);
    expect(chiSquarePValue(5_000, 255)).toBeLessThan(1e-300);
    expect(chiSquarePValue(65_280, 255)).toBe(0); // every byte the same: 256·(n−n/256)… ≫ df
    let last = 1;
    for (let x = 0; x <= 2_000; x += 7) {
      const p = chiSquarePValue(x, 255);
      expect(p).toBeLessThanOrEqual(last);
      expect(p).toBeGreaterThanOrEqual(0);
      last = p;
    }
  });

  test('rejects arguments outside its domain', () => {
    expect(() => gammaQ(0, 1)).toThrow(RangeError);
    expect(() => gammaQ(1, -1)).toThrow(RangeError);
    expect(() => gammaQ(1, NaN)).toThrow(RangeError);
    expect(() => chiSquarePValue(1, 0)).toThrow(RangeError);
    expect(() => chiSquarePValue(1, 2.5)).toThrow(RangeError);
  });
});

describe('chiSquareUniform', () => {
  test('a perfectly flat histogram has statistic 0 and p = 1', () => {
    expect(chiSquareUniform(new Array(256).fill(40))).toEqual({ statistic: 0, df: 255, pValue: 1 });
  });

  test('a two-bin example computed by hand', () => {
    // expected 50 each: (60−50)²/50 + (40−50)²/50 = 4, df 1, p = 0.0455
    const r = chiSquareUniform([60, 40]);
    expect(r.statistic).toBeCloseTo(4, 12);
    expect(r.df).toBe(1);
    expect(r.pValue).toBeCloseTo(0.0455, 4);
  });

  test('rejects fewer than two bins, negative or fractional counts, and an empty table', () => {
    expect(() => chiSquareUniform([5])).toThrow(RangeError);
    expect(() => chiSquareUniform([5, -1])).toThrow(RangeError);
    expect(() => chiSquareUniform([5, 1.5])).toThrow(RangeError);
    expect(() => chiSquareUniform([0, 0])).toThrow(RangeError);
  });
});

describe('byteUniformityByOffset', () => {
  test('uniform random payloads pass at every offset', () => {
    const u = byteUniformityByOffset(randomPayloads(), 64);
    expect(u.pass, describeUniformity(u)).toBe(true);
    expect(u).toHaveLength(64);
    expect(u.threshold).toBeCloseTo(0.001 / 64, 15);
    expect(u.undersampled).toEqual([]);
    expect(u.every((r) => r.tested && r.n === 10_000)).toBe(true);
    expect(u.minP).toBe(u[u.worstOffset]?.pValue ?? NaN);
  });

  test("a fixed first byte (WireGuard's message type 4) fails at offset 0 only", () => {
    const payloads = randomPayloads();
    for (const p of payloads) p[0] = 4;
    const u = byteUniformityByOffset(payloads, 64);
    expect(u.pass).toBe(false);
    expect(u.worstOffset).toBe(0);
    expect(u[0]?.pValue).toBe(0);
    expect(u.filter((r) => r.pValue < u.threshold).map((r) => r.offset)).toEqual([0]);
    expect(describeUniformity(u)).toContain('failing offsets: 0');
  });

  test("zero reserved bytes 1–3 (WireGuard's header) fail at exactly those offsets", () => {
    const payloads = randomPayloads();
    for (const p of payloads) p.fill(0, 1, 4);
    const u = byteUniformityByOffset(payloads, 64);
    expect(u.pass).toBe(false);
    expect(u.filter((r) => r.pValue < u.threshold).map((r) => r.offset)).toEqual([1, 2, 3]);
  });

  test('a partial bias (one byte value 5× as likely at one offset) is caught', () => {
    const payloads = randomPayloads();
    // Bin 0xAA at offset 17 gets ~156 extra hits over an expected ~39: χ² rises by ~600.
    // (Twice its share, ~39 extra, adds only ~39 to an expected 255 and would go unseen at this n.)
    for (const [i, p] of payloads.entries()) if (i % 64 === 0) p[17] = 0xaa;
    const u = byteUniformityByOffset(payloads, 64);
    expect(u.pass).toBe(false);
    expect(u.worstOffset).toBe(17);
  });

  test('20 repeated random trials pass at least 19 times (family-wise α = 0.001)', () => {
    let passes = 0;
    for (let trial = 0; trial < 20; trial++) if (byteUniformityByOffset(freshRandomPayloads(), 64).pass) passes++;
    expect(passes).toBeGreaterThanOrEqual(19);
  });

  test('offsets reached by too few payloads are reported, not tested, and the check does not pass', () => {
    // 2,000 payloads of 16 bytes plus 500 of 64: offsets 16–63 have only 500 samples.
    const payloads = [...randomPayloads(2_000, 16), ...randomPayloads(500, 64)];
    const u = byteUniformityByOffset(payloads, 64);
    expect(u.undersampled).toEqual(Array.from({ length: 48 }, (_, i) => 16 + i));
    expect(u[20]).toMatchObject({ offset: 20, n: 500, tested: false });
    expect(Number.isNaN(u[20]?.pValue)).toBe(true);
    expect(u[15]).toMatchObject({ n: 2_500, tested: true });
    expect(u.pass).toBe(false);
    expect(describeUniformity(u)).toContain(`undersampled (< ${MIN_SAMPLES_PER_OFFSET} payloads): offsets 16–63`);
    // Asking only for the well-sampled offsets passes.
    expect(byteUniformityByOffset(payloads, 16).pass).toBe(true);
  });

  test('no payloads: nothing tested, no pass', () => {
    const u = byteUniformityByOffset([], 4);
    expect(u).toMatchObject({ pass: false, minP: 1, worstOffset: -1, undersampled: [0, 1, 2, 3] });
  });

  test('rejects a bad offset count or family alpha', () => {
    expect(() => byteUniformityByOffset([], 0)).toThrow(RangeError);
    expect(() => byteUniformityByOffset([], 1.5)).toThrow(RangeError);
    expect(() => byteUniformityByOffset([], 4, 0)).toThrow(RangeError);
    expect(() => byteUniformityByOffset([], 4, 1)).toThrow(RangeError);
  });
});
