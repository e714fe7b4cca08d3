/** Published vectors against appliance/noise/crypto.ts (and the pinned noble primitives under it). */
import { describe, expect, test } from 'bun:test';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { blake2s } from '@noble/hashes/blake2.js';
import {
  aeadOpen,
  aeadSeal,
  constantTimeEqual,
  dh,
  generatePrivateKey,
  hash,
  hmac,
  kdf1,
  kdf2,
  kdf3,
  mac,
  publicKeyOf,
  xaeadOpen,
  xaeadSeal,
} from '../../../appliance/noise/crypto.ts';
import { CONSTRUCTION, IDENTIFIER } from '../../../appliance/noise/constants.ts';
import { fromHex, loadVector, toHex, utf8 } from './vectors.ts';

interface X25519Vectors {
  scalarMult: { section: string; scalar: string; u: string; output: string }[];
  iterated: { start: string; after1: string; after1000: string };
  diffieHellman: {
    alicePrivate: string;
    alicePublic: string;
    bobPrivate: string;
    bobPublic: string;
    shared: string;
  };
}

describe('X25519 — RFC 7748', () => {
  const v = loadVector('x25519-rfc7748.json') as X25519Vectors;

  for (const c of v.scalarMult) {
    test(`§${c.section}`, () => {
      expect(toHex(dh(fromHex(c.scalar), fromHex(c.u)) ?? new Uint8Array())).toBe(c.output);
    });
  }

  test('§5.2 iterated, 1 and 1000 rounds', () => {
    let k = fromHex(v.iterated.start);
    let u = fromHex(v.iterated.start);
    for (let i = 1; i <= 1000; i++) {
      const result = dh(k, u);
      if (result === null) throw new Error(`iteration ${i} hit a low-order point`);
      u = k;
      k = result;
      if (i === 1) expect(toHex(k)).toBe(v.iterated.after1);
    }
    expect(toHex(k)).toBe(v.iterated.after1000);
  });

  test('§6.1 Diffie-Hellman', () => {
    const d = v.diffieHellman;
    expect(toHex(publicKeyOf(fromHex(d.alicePrivate)))).toBe(d.alicePublic);
    expect(toHex(publicKeyOf(fromHex(d.bobPrivate)))).toBe(d.bobPublic);
    expect(toHex(dh(fromHex(d.alicePrivate), fromHex(d.bobPublic)) ?? new Uint8Array())).toBe(d.shared);
    expect(toHex(dh(fromHex(d.bobPrivate), fromHex(d.alicePublic)) ?? new Uint8Array())).toBe(d.shared);
  });

  test('generatePrivateKey clamps like `wg genkey` and uses the random seam', () => {
    const key = generatePrivateKey(() => new Uint8Array(32).fill(0xff));
    expect(key[0]).toBe(0xf8);
    expect(key[31]).toBe(0x7f);
    const other = generatePrivateKey();
    expect(toHex(other)).not.toBe(toHex(generatePrivateKey()));
  });
});

interface AeadVectors {
  section_2_8_2: { key: string; nonce: string; aad: string; plaintextUtf8: string; ciphertext: string; tag: string };
  appendix_A_5: { key: string; counter: string; aad: string; plaintext: string; ciphertext: string; tag: string };
}

describe('ChaCha20-Poly1305 — RFC 8439', () => {
  const v = loadVector('chacha20poly1305-rfc8439.json') as AeadVectors;

  test('§2.8.2 against the pinned noble primitive (its nonce is not WireGuard-shaped)', () => {
    const c = v.section_2_8_2;
    const sealed = chacha20poly1305(fromHex(c.key), fromHex(c.nonce), fromHex(c.aad)).encrypt(utf8(c.plaintextUtf8));
    expect(toHex(sealed)).toBe(c.ciphertext + c.tag);
  });

  test('§A.5 through aeadSeal/aeadOpen: nonce = 0^32 || LE64(counter)', () => {
    const c = v.appendix_A_5;
    const counter = BigInt(c.counter);
    const sealed = aeadSeal(fromHex(c.key), counter, fromHex(c.plaintext), fromHex(c.aad));
    expect(toHex(sealed)).toBe(c.ciphertext + c.tag);
    const opened = aeadOpen(fromHex(c.key), counter, fromHex(c.ciphertext + c.tag), fromHex(c.aad));
    expect(toHex(opened ?? new Uint8Array())).toBe(c.plaintext);
    expect(aeadOpen(fromHex(c.key), counter + 1n, sealed, fromHex(c.aad))).toBeNull();
  });

  test('number and bigint counters give the same nonce', () => {
    const key = new Uint8Array(32).fill(7);
    const a = aeadSeal(key, 5, utf8('x'), new Uint8Array());
    const b = aeadSeal(key, 5n, utf8('x'), new Uint8Array());
    expect(toHex(a)).toBe(toHex(b));
  });
});

interface XAeadVector { key: string; nonce: string; aad: string; plaintextUtf8: string; ciphertext: string; tag: string }

describe('XChaCha20-Poly1305 — draft-irtf-cfrg-xchacha-03', () => {
  const v = loadVector('xchacha20poly1305-draft.json') as XAeadVector;
  test('§A.3.1 seal and open', () => {
    const sealed = xaeadSeal(fromHex(v.key), fromHex(v.nonce), utf8(v.plaintextUtf8), fromHex(v.aad));
    expect(toHex(sealed)).toBe(v.ciphertext + v.tag);
    const opened = xaeadOpen(fromHex(v.key), fromHex(v.nonce), sealed, fromHex(v.aad));
    expect(new TextDecoder().decode(opened ?? new Uint8Array())).toBe(v.plaintextUtf8);
    expect(xaeadOpen(fromHex(v.key), fromHex(v.nonce), sealed, new Uint8Array())).toBeNull();
  });
});

interface Blake2Vectors {
  unkeyed: { inputUtf8: string; digest: string }[];
  keyed: { key: string; digests: string[] };
}
interface CrossVectors {
  mac: { key: string; input: string; mac: string }[];
  hmac: { key: string; input: string; hmac: string }[];
}

describe('BLAKE2s — RFC 7693 and the BLAKE2 reference KAT', () => {
  const v = loadVector('blake2s.json') as Blake2Vectors;
  test('Appendix B: HASH("abc")', () => {
    for (const c of v.unkeyed) expect(toHex(hash(utf8(c.inputUtf8)))).toBe(c.digest);
  });
  test('HASH of several parts equals HASH of their concatenation', () => {
    expect(toHex(hash(utf8('a'), utf8(''), utf8('bc')))).toBe(v.unkeyed[0]?.digest ?? 'missing');
  });
  test('keyed 32-byte digests (blake2s-kat.txt), through the pinned primitive', () => {
    const key = fromHex(v.keyed.key);
    v.keyed.digests.forEach((digest, n) => {
      const input = Uint8Array.from({ length: n }, (_, i) => i);
      expect(toHex(blake2s(input, { key }))).toBe(digest);
    });
  });

  const x = loadVector('blake2s-wireguard-cpython.json') as CrossVectors;
  test('MAC = keyed BLAKE2s-128, cross-checked with CPython', () => {
    for (const c of x.mac) expect(toHex(mac(fromHex(c.key), fromHex(c.input)))).toBe(c.mac);
  });
  test('HMAC-BLAKE2s, cross-checked with CPython', () => {
    for (const c of x.hmac) expect(toHex(hmac(fromHex(c.key), fromHex(c.input)))).toBe(c.hmac);
  });
});

describe('KDF (whitepaper §5.4)', () => {
  const key = new Uint8Array(32).fill(0x42);
  const input = utf8('input keying material');
  test('KDFn outputs follow τ0 = HMAC(key, in), τi = HMAC(τ0, τi−1 || i)', () => {
    const t0 = hmac(key, input);
    const t1 = hmac(t0, Uint8Array.of(1));
    const t2 = hmac(t0, Uint8Array.of(...t1, 2));
    const t3 = hmac(t0, Uint8Array.of(...t2, 3));
    expect(toHex(kdf1(key, input))).toBe(toHex(t1));
    expect(kdf2(key, input).map(toHex)).toEqual([toHex(t1), toHex(t2)]);
    expect(kdf3(key, input).map(toHex)).toEqual([toHex(t1), toHex(t2), toHex(t3)]);
  });
});

describe('WireGuard initial state', () => {
  const v = loadVector('wireguard-initial-state.json') as {
    construction: string;
    identifier: string;
    initialChainingKey: string;
    initialHash: string;
  };
  test('constants hash to the values every implementation hard-codes', () => {
    expect(CONSTRUCTION).toBe(v.construction);
    expect(IDENTIFIER).toBe(v.identifier);
    const ck = hash(utf8(CONSTRUCTION));
    expect(toHex(ck)).toBe(v.initialChainingKey);
    expect(toHex(hash(ck, utf8(IDENTIFIER)))).toBe(v.initialHash);
  });
});

describe('constantTimeEqual', () => {
  test('equal, different, different lengths', () => {
    expect(constantTimeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3))).toBe(true);
    expect(constantTimeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4))).toBe(false);
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3))).toBe(false);
  });
});
