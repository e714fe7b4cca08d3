// libsodium's X25519 (the runtime path) against @noble/curves (the reference) and RFC 7748 §6.1.
import { describe, expect, test } from 'bun:test';
import { loadX25519 } from '../../../ffi/sodium.ts';
import { dh, nobleX25519, publicKeyOf } from '../../../appliance/noise/crypto.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const un = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

describe('native X25519', () => {
  const native = loadX25519();
  test('is available (libsodium23)', () => expect(native).not.toBeNull());
  test('RFC 7748 §6.1 Diffie-Hellman through dh() and publicKeyOf()', () => {
    const a = un('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const b = un('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    expect(hex(publicKeyOf(a))).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(hex(publicKeyOf(b))).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    expect(hex(dh(a, publicKeyOf(b))!)).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
  });
  test('agrees with noble on random keys', () => {
    const ref = nobleX25519();
    for (let i = 0; i < 50; i++) {
      const a = crypto.getRandomValues(new Uint8Array(32));
      const b = crypto.getRandomValues(new Uint8Array(32));
      expect(hex(native!.getPublicKey(a))).toBe(hex(ref.getPublicKey(a)));
      expect(hex(native!.getSharedSecret(a, ref.getPublicKey(b)))).toBe(hex(ref.getSharedSecret(a, ref.getPublicKey(b))));
    }
  });
  test('a low-order public key gives no shared secret', () => {
    expect(dh(crypto.getRandomValues(new Uint8Array(32)), new Uint8Array(32))).toBeNull();
  });
});
