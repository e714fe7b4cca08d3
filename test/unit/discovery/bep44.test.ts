// BEP 44's published mutable-item vectors, checked with our signed-buffer encoding, our target
// derivation and noble's Ed25519 (the library bittorrent-dht's `verify` hook uses here).

import { describe, expect, test } from 'bun:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import vectors from '../../vectors/discovery/bep44-mutable.json';
import { bencodedLength, mutableSignedBytes, verifyMutableItem, BEP44_MAX_VALUE_BYTES } from '../../../appliance/discovery/bep44.ts';
import { mutableTarget } from '../../../appliance/discovery/rendezvous.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const utf8 = (s: string) => new TextEncoder().encode(s);

describe('BEP 44 test vectors', () => {
  for (const v of vectors.vectors) {
    test(v.name, () => {
      const salt = utf8(v.saltUtf8);
      const value = utf8(v.valueUtf8);
      const publicKey = unhex(v.publicKey);
      const signature = unhex(v.signature);
      const signed = mutableSignedBytes(salt, v.seq, value);
      expect(new TextDecoder().decode(signed)).toBe(v.signedUtf8);
      expect(hex(mutableTarget(publicKey, salt))).toBe(v.target);
      expect(ed25519.verify(signature, signed, publicKey)).toBe(true);
      expect(verifyMutableItem({ publicKey, salt, seq: v.seq, value, signature })).toBe(true);
      // The BEP's private key is the expanded one: its first half, the clamped scalar a, gives A = aG.
      const scalar = BigInt(`0x${hex(unhex(v.privateKey).subarray(0, 32).reverse())}`);
      expect(hex(ed25519.Point.BASE.multiply(scalar % ed25519.Point.CURVE().n).toBytes())).toBe(v.publicKey);
    });
  }

  test('a changed seq, salt or value no longer verifies', () => {
    const v = vectors.vectors[1]!;
    const base = { publicKey: unhex(v.publicKey), salt: utf8(v.saltUtf8), seq: v.seq, value: utf8(v.valueUtf8), signature: unhex(v.signature) };
    expect(verifyMutableItem({ ...base, seq: 2 })).toBe(false);
    expect(verifyMutableItem({ ...base, salt: utf8('foobaz') })).toBe(false);
    expect(verifyMutableItem({ ...base, value: utf8('Hello World?') })).toBe(false);
    expect(verifyMutableItem({ ...base, signature: new Uint8Array(63) })).toBe(false);
    expect(verifyMutableItem({ ...base, seq: -1 })).toBe(false);
  });

  test('the value cap counts the bencoded form', () => {
    expect(bencodedLength(new Uint8Array(995))).toBe(999);
    expect(bencodedLength(new Uint8Array(996))).toBe(BEP44_MAX_VALUE_BYTES);
    expect(() => mutableSignedBytes(new Uint8Array(0), 1.5, new Uint8Array(1))).toThrow(RangeError);
  });
});
