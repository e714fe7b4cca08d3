// The native wire's pieces: envelopes, header protection, padding, key derivation.

import { describe, expect, test } from 'bun:test';
import { deriveWireKeys, combinePsk, bindSuite } from '../../../appliance/wire/keys.ts';
import { sealEnvelope, openEnvelope, ENVELOPE_NONCE, MAX_PADDING } from '../../../appliance/wire/envelope.ts';
import { nobleMask, maskFunction } from '../../../appliance/wire/header-protection.ts';
import { paddedSize } from '../../../appliance/wire/padding.ts';
import { NativeWire, WIREGUARD_WIRE, type DataHeader } from '../../../appliance/wire/wire.ts';
import { loadStream } from '../../../ffi/sodium.ts';

const secret = new Uint8Array(32).fill(42);
const keys = deriveWireKeys(secret);
const rnd = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function initiationLike(): Uint8Array {
  const m = rnd(148);
  m[0] = 1;
  m[1] = m[2] = m[3] = 0;
  return m;
}

describe('keys', () => {
  test('each use gets its own key, and another secret gives other keys', () => {
    const all = [keys.psk, keys.envelope, keys.header].map(hex);
    expect(new Set(all).size).toBe(3);
    const other = deriveWireKeys(new Uint8Array(32).fill(43));
    expect(hex(other.psk)).not.toBe(hex(keys.psk));
    expect(() => deriveWireKeys(new Uint8Array(31))).toThrow();
  });
  test('a peer PSK is combined with the network PSK; none leaves the network PSK', () => {
    expect(hex(combinePsk(keys.psk, new Uint8Array(32)))).toBe(hex(keys.psk));
    expect(hex(combinePsk(keys.psk, new Uint8Array(32).fill(1)))).not.toBe(hex(keys.psk));
  });
  test('suite binding gives different keys per suite', () => {
    const k = rnd(32);
    expect(hex(bindSuite(k, 'aes256gcm'))).not.toBe(hex(bindSuite(k, 'chacha20poly1305')));
  });
});

describe('handshake envelope', () => {
  test('round trip, with the capability byte, at varying lengths', () => {
    const lengths = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const m = initiationLike();
      const d = sealEnvelope(keys.envelope, m, 1, rnd);
      lengths.add(d.length);
      expect(d.length).toBeGreaterThanOrEqual(ENVELOPE_NONCE + 148 + 1);
      expect(d.length).toBeLessThanOrEqual(ENVELOPE_NONCE + 148 + 1 + MAX_PADDING);
      const o = openEnvelope(keys.envelope, d);
      expect(o?.type).toBe(1);
      expect(o?.capabilities).toBe(1);
      expect(hex(o!.message)).toBe(hex(m));
    }
    expect(lengths.size).toBeGreaterThan(100);
  });
  test('random bytes, truncations, another network key: never an envelope, never a throw', () => {
    const d = sealEnvelope(keys.envelope, initiationLike(), 0, rnd);
    // Cutting into the message (not just the padding, which carries nothing) is never accepted.
    for (let n = 0; n < ENVELOPE_NONCE + 148 + 1; n++) expect(openEnvelope(keys.envelope, d.subarray(0, n))).toBeNull();
    expect(openEnvelope(deriveWireKeys(rnd(32)).envelope, d)).toBeNull();
    let opened = 0;
    for (let i = 0; i < 5000; i++) if (openEnvelope(keys.envelope, rnd(24 + (i % 400)))) opened++;
    // A random datagram passes the 4-byte type check with probability ~3·2^-32; mac1 stops it later.
    expect(opened).toBe(0);
  });
});

describe('header protection', () => {
  test('libsodium and noble compute the same mask', () => {
    const native = loadStream();
    expect(native).not.toBeNull();
    for (let i = 0; i < 100; i++) {
      const sample = rnd(16);
      const a = new Uint8Array(12);
      const b = new Uint8Array(12);
      native!(keys.header, sample, a);
      nobleMask(keys.header, sample, b);
      expect(hex(a)).toBe(hex(b));
    }
    expect(maskFunction()).toBe(native!);
  });
  test('a native data header round-trips through protect/readData, and hides index and counter', () => {
    const wire = new NativeWire(keys, 'bucket');
    const dgram = new Uint8Array(12 + 128 + 16);
    wire.writeHeader(dgram, 0xdeadbeef, 2 ** 40 + 7);
    dgram.set(rnd(144), 12); // stands in for the sealed payload
    wire.protect(dgram);
    expect(hex(dgram.subarray(0, 4))).not.toBe('efbeadde');
    const h: DataHeader = { index: 0, counter: 0 };
    expect(wire.readData(dgram, h)).toBe(true);
    expect(h.index).toBe(0xdeadbeef);
    expect(h.counter).toBe(2 ** 40 + 7);
    expect(wire.readData(dgram.subarray(0, 27), h)).toBe(false);
  });
  test('WireGuard data headers keep their plain layout', () => {
    const d = new Uint8Array(32);
    WIREGUARD_WIRE.writeHeader(d, 5, 9);
    expect(hex(d.subarray(0, 16))).toBe('04000000050000000900000000000000');
    const h: DataHeader = { index: 0, counter: 0 };
    expect(WIREGUARD_WIRE.readData(d, h)).toBe(true);
    expect([h.index, h.counter]).toEqual([5, 9]);
  });
});

describe('padding', () => {
  test('off, bucket and mtu', () => {
    expect(paddedSize('off', 61, 1420)).toBe(61);
    expect(paddedSize('bucket', 61, 1420)).toBe(128);
    expect(paddedSize('bucket', 129, 1420)).toBe(256);
    expect(paddedSize('bucket', 1100, 1420)).toBe(1420);
    expect(paddedSize('bucket', 1420, 1420)).toBe(1420);
    expect(paddedSize('mtu', 40, 1420)).toBe(1420);
    expect(paddedSize('bucket', 600, 512)).toBe(600); // never shrinks, never above an MTU it cannot meet
  });
});
