/**
 * Statistics for the DPI tests: is a wire's payload indistinguishable from uniform random bytes?
 *
 * Pure (no I/O, no root): the chi-square goodness-of-fit test against the uniform distribution,
 * with its p-value from the regularized upper incomplete gamma function Q(a, x) computed as in
 * Numerical Recipes in C, 2nd ed., §6.2 (`gser`: series for x < a + 1; `gcf`: Lentz's continued
 * fraction otherwise; `gammln`: Lanczos, §6.1), and a per-byte-offset test over captured payloads.
 *
 * Why per offset: a protocol with a fixed header (WireGuard's type byte 4 and three zero bytes)
 * is uniform on average over the whole datagram yet fully predictable at offsets 0–3; a DPI
 * signature looks exactly there.
 */

/** Relative precision of the series and continued fraction (NR's EPS; a few ulps of a double). */
const EPS = 1e-15;
/** Smallest magnitude kept in Lentz's method before it would divide by zero (NR's FPMIN). */
const FPMIN = 1e-300;
/**
 * Iteration cap. NR's ITMAX = 100 is enough only for small a: the series needs about
 * a few·√a terms near x ≈ a, so for df = 255 (a = 127.5) and beyond leave ample room.
 */
const ITMAX = 100_000;

/** Expected count per bin below which the chi-square approximation is unreliable (Cochran's rule). */
export const MIN_EXPECTED_PER_BIN = 5;
const BYTE_VALUES = 256;
/** Payloads needed at an offset before its 256-bin histogram is tested: 5 · 256 = 1,280. */
export const MIN_SAMPLES_PER_OFFSET = MIN_EXPECTED_PER_BIN * BYTE_VALUES;

const LANCZOS = [76.18009172947146, -86.50532032941677, 24.01409824083091, -1.231739572450155, 0.1208650973866179e-2, -0.5395239384953e-5];

/** ln Γ(x) for x > 0 (NR §6.1, Lanczos with γ = 5, N = 6; relative error < 2e-10). */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma needs x > 0, got ${x}`);
  let y = x;
  const tmp = x + 5.5 - (x + 0.5) * Math.log(x + 5.5);
  let ser = 1.000000000190015;
  for (const c of LANCZOS) ser += c / ++y;
  return -tmp + Math.log((2.5066282746310005 * ser) / x);
}

/** The common factor e^(−x) · x^a / Γ(a), in logs so that a = 127.5, x = 2000 does not overflow. */
function prefactor(a: number, x: number): number {
  return Math.exp(-x + a * Math.log(x) - logGamma(a));
}

/** P(a, x) by its series, for x < a + 1 (NR `gser`). */
function lowerBySeries(a: number, x: number): number {
  let ap = a;
  let term = 1 / a;
  let sum = term;
  for (let n = 0; n < ITMAX; n++) {
    ap += 1;
    term *= x / ap;
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPS) return sum * prefactor(a, x);
  }
  throw new RangeError(`incomplete gamma series did not converge for a=${a}, x=${x}`);
}

/** Q(a, x) by its continued fraction (modified Lentz), for x ≥ a + 1 (NR `gcf`). */
function upperByContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / FPMIN;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i <= ITMAX; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = b + an / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) return prefactor(a, x) * h;
  }
  throw new RangeError(`incomplete gamma continued fraction did not converge for a=${a}, x=${x}`);
}

/** The regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a), a > 0, x ≥ 0. */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0) || !Number.isFinite(a)) throw new RangeError(`gammaQ needs a > 0 and x ≥ 0, got a=${a}, x=${x}`);
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  // Each branch is used where it converges fast. Below a + 1, P is not close to 1, so Q = 1 − P
  // keeps its precision (Q is not tiny there); the tail Q ≪ 1 always comes from the fraction.
  return x < a + 1 ? 1 - lowerBySeries(a, x) : upperByContinuedFraction(a, x);
}

/** The chi-square survival function: P(X ≥ x) for X ~ χ²(df). */
export function chiSquarePValue(statistic: number, df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`df must be a positive integer, got ${df}`);
  return gammaQ(df / 2, statistic / 2);
}

export interface ChiSquareResult {
  statistic: number;
  df: number;
  pValue: number;
}

/** Pearson's chi-square goodness-of-fit of `counts` against the uniform distribution over its bins. */
export function chiSquareUniform(counts: readonly number[]): ChiSquareResult {
  if (counts.length < 2) throw new RangeError(`need at least 2 categories, got ${counts.length}`);
  let n = 0;
  for (const c of counts) {
    if (!Number.isInteger(c) || c < 0) throw new RangeError(`counts must be non-negative integers, got ${c}`);
    n += c;
  }
  if (n === 0) throw new RangeError('counts are all zero: nothing to test');
  const expected = n / counts.length;
  let statistic = 0;
  for (const c of counts) statistic += (c - expected) ** 2 / expected;
  const df = counts.length - 1;
  return { statistic, df, pValue: chiSquarePValue(statistic, df) };
}

export interface OffsetUniformity {
  offset: number;
  /** Payloads long enough to have a byte at this offset. */
  n: number;
  /** NaN when not tested (n < MIN_SAMPLES_PER_OFFSET). */
  statistic: number;
  /** NaN when not tested. */
  pValue: number;
  tested: boolean;
}

export interface UniformitySummary {
  /** Every requested offset was tested and none had p < threshold. */
  pass: boolean;
  /** Smallest p over the tested offsets (1 when none was tested). */
  minP: number;
  /** Bonferroni: familyAlpha / offsets. */
  threshold: number;
  /** Offset of minP (-1 when none was tested). */
  worstOffset: number;
  /** Offsets with fewer than MIN_SAMPLES_PER_OFFSET payloads: reported, not tested. */
  undersampled: number[];
}

export type ByteUniformity = OffsetUniformity[] & UniformitySummary;

/**
 * Tests, at each byte offset 0 … offsets−1 separately, whether the byte values seen there across
 * `payloads` are uniform over 0–255 (chi-square, df = 255).
 *
 * The family of `offsets` tests is held to family-wise error `familyAlpha` by Bonferroni: an
 * offset fails when p < familyAlpha / offsets. So truly random payloads fail the whole check with
 * probability ≤ familyAlpha (0.1 % by default), while a fixed byte fails it with p ≈ 0.
 *
 * Statistical caveat: the chi-square distribution is only a good approximation of the statistic
 * when every bin expects ≥ 5 observations, i.e. n/256 ≥ 5 ⇒ n ≥ 1,280 payloads reaching that
 * offset. With fewer the p-values are wrong (mostly too small for sparse tables), so such an offset
 * is listed in `undersampled` and not tested — and `pass` is false, since nothing was shown there.
 * Capture more traffic, or ask for fewer offsets, rather than lowering the bar.
 */
export function byteUniformityByOffset(payloads: readonly Uint8Array[], offsets: number, familyAlpha = 0.001): ByteUniformity {
  if (!Number.isInteger(offsets) || offsets < 1) throw new RangeError(`offsets must be a positive integer, got ${offsets}`);
  if (!(familyAlpha > 0 && familyAlpha < 1)) throw new RangeError(`familyAlpha must be in (0, 1), got ${familyAlpha}`);
  const histograms = Array.from({ length: offsets }, () => new Array<number>(BYTE_VALUES).fill(0));
  const n = new Array<number>(offsets).fill(0);
  for (const p of payloads) {
    const end = Math.min(offsets, p.length);
    for (let off = 0; off < end; off++) {
      const h = histograms[off] as number[];
      const b = p[off] as number;
      h[b] = (h[b] as number) + 1;
      n[off] = (n[off] as number) + 1;
    }
  }
  const threshold = familyAlpha / offsets;
  const results: OffsetUniformity[] = [];
  const undersampled: number[] = [];
  let minP = 1;
  let worstOffset = -1;
  for (let offset = 0; offset < offsets; offset++) {
    const count = n[offset] as number;
    if (count < MIN_SAMPLES_PER_OFFSET) {
      undersampled.push(offset);
      results.push({ offset, n: count, statistic: NaN, pValue: NaN, tested: false });
      continue;
    }
    const { statistic, pValue } = chiSquareUniform(histograms[offset] as number[]);
    results.push({ offset, n: count, statistic, pValue, tested: true });
    if (worstOffset === -1 || pValue < minP) {
      minP = pValue;
      worstOffset = offset;
    }
  }
  const pass = undersampled.length === 0 && minP >= threshold;
  return Object.assign(results, { pass, minP, threshold, worstOffset, undersampled });
}

/** One line for an assertion message: the verdict, the worst offset, and any untested offsets. */
export function describeUniformity(u: ByteUniformity): string {
  const worst = u.worstOffset >= 0 ? u[u.worstOffset] : undefined;
  const parts = [
    `${u.pass ? 'uniform' : 'NOT uniform'} over ${u.length} offsets (Bonferroni threshold p ≥ ${u.threshold.toExponential(2)})`,
    worst === undefined ? 'no offset tested' : `worst offset ${worst.offset}: χ²=${worst.statistic.toFixed(1)}, p=${worst.pValue.toExponential(2)}, n=${worst.n}`,
  ];
  const failing = u.filter((r) => r.tested && r.pValue < u.threshold).map((r) => r.offset);
  if (failing.length > 0) parts.push(`failing offsets: ${failing.join(',')}`);
  if (u.undersampled.length > 0) {
    parts.push(`undersampled (< ${MIN_SAMPLES_PER_OFFSET} payloads): offsets ${u.undersampled[0]}–${u.undersampled[u.undersampled.length - 1]}`);
  }
  return parts.join('; ');
}
