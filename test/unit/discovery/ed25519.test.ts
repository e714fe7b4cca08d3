// libsodium's Ed25519 (the runtime path) against @noble/curves (the reference) and RFC 8032 §7.1 test 1.
import { describe, expect, test } from 'bun:test';
import { loadEd25519 } from '../../../ffi/sodium.ts';
import { ed25519, nobleEd25519 } from '../../../appliance/discovery/ed25519.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const un = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

describe('native Ed25519', () => {
  const native = loadEd25519();
  test('is available (libsodium23) and is what discovery uses', () => {
    expect(native).not.toBeNull();
  });
  test('RFC 8032 §7.1 TEST 1 (empty message)', () => {
    const seed = un('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    expect(hex(ed25519.getPublicKey(seed))).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const sig = ed25519.sign(new Uint8Array(0), seed);
    expect(hex(sig)).toBe('e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b');
    expect(ed25519.verify(sig, new Uint8Array(0), ed25519.getPublicKey(seed))).toBe(true);
  });
  test('agrees with noble; a flipped bit fails', () => {
    const ref = nobleEd25519();
    for (let i = 0; i < 30; i++) {
      const seed = crypto.getRandomValues(new Uint8Array(32));
      const msg = crypto.getRandomValues(new Uint8Array(i * 7));
      expect(hex(native!.getPublicKey(seed))).toBe(hex(ref.getPublicKey(seed)));
      const sig = native!.sign(msg, seed);
      expect(hex(sig)).toBe(hex(ref.sign(msg, seed)));
      expect(ref.verify(sig, msg, ref.getPublicKey(seed))).toBe(true);
      const bad = sig.slice();
      bad[i % 64]! ^= 1;
      expect(native!.verify(bad, msg, native!.getPublicKey(seed))).toBe(false);
    }
  });
});
