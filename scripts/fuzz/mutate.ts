// Seeded mutation of fuzz inputs: bit flips, byte sets, truncation, extension, duplication of
// a slice, splicing two seeds, random bytes, and "interesting" values at random offsets; for a
// target with a dictionary (text formats), also its tokens inserted or written over a slice.

/** xorshift128+ PRNG: deterministic per seed, so a failure is reproduced from (seed, iteration). */
export class Rng {
  private s0: bigint;
  private s1: bigint;
  constructor(seed: number) {
    this.s0 = BigInt(seed) * 0x9e3779b97f4a7c15n & 0xffffffffffffffffn || 1n;
    this.s1 = (BigInt(seed) ^ 0x5851f42d4c957f2dn) & 0xffffffffffffffffn || 2n;
  }
  next(): number {
    let x = this.s0;
    const y = this.s1;
    this.s0 = y;
    x ^= (x << 23n) & 0xffffffffffffffffn;
    this.s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return Number((this.s1 + y) & 0xffffffffn);
  }
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
}

const INTERESTING = [0x00, 0x01, 0x02, 0x03, 0x04, 0x7f, 0x80, 0xff, 0x64 /* d */, 0x65 /* e */, 0x3a /* : */, 0x3d /* = */, 0x5b /* [ */, 0x22 /* " */];

/** `tokens`: the target's dictionary; without one, the choices (and so every sequence) are as before. */
export function mutate(seeds: Uint8Array[], rng: Rng, tokens?: readonly Uint8Array[]): Uint8Array {
  const seed = seeds[rng.below(seeds.length)] ?? new Uint8Array(0);
  let out = seed.slice();
  const rounds = 1 + rng.below(4);
  for (let r = 0; r < rounds; r++) {
    switch (rng.below(tokens?.length ? 11 : 9)) {
      case 0: // flip one bit
        if (out.length) out[rng.below(out.length)]! ^= 1 << rng.below(8);
        break;
      case 1: // set a byte to an interesting value
        if (out.length) out[rng.below(out.length)] = INTERESTING[rng.below(INTERESTING.length)]!;
        break;
      case 2: // truncate
        out = out.slice(0, rng.below(out.length + 1));
        break;
      case 3: { // extend with random bytes
        const extra = new Uint8Array(rng.below(64));
        for (let i = 0; i < extra.length; i++) extra[i] = rng.below(256);
        const n = new Uint8Array(out.length + extra.length);
        n.set(out);
        n.set(extra, out.length);
        out = n;
        break;
      }
      case 4: { // duplicate a slice in place
        if (!out.length) break;
        const from = rng.below(out.length);
        const len = rng.below(Math.min(32, out.length - from) + 1);
        const at = rng.below(out.length + 1);
        out = new Uint8Array([...out.subarray(0, at), ...out.subarray(from, from + len), ...out.subarray(at)]);
        break;
      }
      case 5: { // splice with another seed
        const other = seeds[rng.below(seeds.length)] ?? new Uint8Array(0);
        const cut = rng.below(out.length + 1);
        out = new Uint8Array([...out.subarray(0, cut), ...other.subarray(rng.below(other.length + 1))]);
        break;
      }
      case 6: // random bytes of random length
        out = new Uint8Array(rng.below(600));
        for (let i = 0; i < out.length; i++) out[i] = rng.below(256);
        break;
      case 7: // delete a byte
        if (out.length) {
          const at = rng.below(out.length);
          out = new Uint8Array([...out.subarray(0, at), ...out.subarray(at + 1)]);
        }
        break;
      case 8: // overwrite a run with one value
        if (out.length) out.fill(rng.below(256), rng.below(out.length), rng.below(out.length + 1));
        break;
      case 9: { // insert a dictionary token
        const token = tokens?.[rng.below(tokens.length)] ?? new Uint8Array(0);
        const at = rng.below(out.length + 1);
        out = new Uint8Array([...out.subarray(0, at), ...token, ...out.subarray(at)]);
        break;
      }
      default: { // a dictionary token in place of a slice
        const token = tokens?.[rng.below(tokens.length)] ?? new Uint8Array(0);
        const at = rng.below(out.length + 1);
        const len = rng.below(Math.min(16, out.length - at) + 1);
        out = new Uint8Array([...out.subarray(0, at), ...token, ...out.subarray(at + len)]);
      }
    }
  }
  return out;
}
