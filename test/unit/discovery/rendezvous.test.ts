// Rendezvous derivation: deterministic for members, distinct per hour, secret, slot and label.

import { describe, expect, test } from 'bun:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  DISCOVERY_SLOTS,
  SALT_BYTES,
  hourKeyPair,
  hourOf,
  hourTargets,
  mutableTarget,
  preferredSlot,
  recordKey,
  slotSalt,
  targetsFor,
} from '../../../appliance/discovery/rendezvous.ts';
import { deriveWireKeys } from '../../../appliance/wire/keys.ts';

const secret = new Uint8Array(32).fill(7);
const other = new Uint8Array(32).fill(8);
const H = 480_000; // an hour in 2024
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('rendezvous', () => {
  test('every member derives the same hour key pair, salts, record key and targets', () => {
    expect(hex(hourKeyPair(secret, H).publicKey)).toBe(hex(hourKeyPair(new Uint8Array(32).fill(7), H).publicKey));
    expect(hex(slotSalt(secret, H, 3))).toBe(hex(slotSalt(secret, H, 3)));
    expect(hex(recordKey(secret, H))).toBe(hex(recordKey(secret, H)));
    expect(targetsFor(secret, H).map((t) => hex(t.target))).toEqual(targetsFor(secret, H).map((t) => hex(t.target)));
  });

  test('the key pair is a real Ed25519 pair and the target is SHA-1(k || salt)', () => {
    const kp = hourKeyPair(secret, H);
    expect(hex(ed25519.getPublicKey(kp.secretKey))).toBe(hex(kp.publicKey));
    const msg = new TextEncoder().encode('x');
    expect(ed25519.verify(ed25519.sign(msg, kp.secretKey), msg, kp.publicKey)).toBe(true);
    const t = hourTargets(secret, H)[5]!;
    expect(t.slot).toBe(5);
    expect(t.salt.length).toBe(SALT_BYTES);
    expect(hex(t.target)).toBe(hex(mutableTarget(kp.publicKey, slotSalt(secret, H, 5))));
    expect(t.target.length).toBe(20);
  });

  test('targetsFor covers every slot of this hour and the next', () => {
    const ts = targetsFor(secret, H);
    expect(ts.length).toBe(2 * DISCOVERY_SLOTS);
    expect(ts.filter((t) => t.hour === H).length).toBe(DISCOVERY_SLOTS);
    expect(ts.filter((t) => t.hour === H + 1).map((t) => hex(t.target))).toEqual(hourTargets(secret, H + 1).map((t) => hex(t.target)));
    expect(new Set(ts.map((t) => hex(t.target))).size).toBe(ts.length);
  });

  test('hours, secrets, slots and labels all give unrelated outputs', () => {
    const outputs = [
      hourKeyPair(secret, H).secretKey,
      hourKeyPair(secret, H + 1).secretKey,
      hourKeyPair(other, H).secretKey,
      hourKeyPair(secret, H).publicKey,
      recordKey(secret, H),
      recordKey(secret, H + 1),
      recordKey(other, H),
      slotSalt(secret, H, 0),
      slotSalt(secret, H, 1),
      slotSalt(secret, H + 1, 0),
      slotSalt(other, H, 0),
      ...Object.values(deriveWireKeys(secret)),
    ].map(hex);
    expect(new Set(outputs).size).toBe(outputs.length);
    const hourH = new Set(targetsFor(secret, H).filter((t) => t.hour === H).map((t) => hex(t.target)));
    expect(hourTargets(secret, H + 1).some((t) => hourH.has(hex(t.target)))).toBe(false);
    expect(hourTargets(other, H).some((t) => hourH.has(hex(t.target)))).toBe(false);
  });

  test('preferred slots are in range, stable within an hour and vary across hours', () => {
    const id = ed25519.getPublicKey(new Uint8Array(32).fill(1));
    const slots = Array.from({ length: 24 }, (_, i) => preferredSlot(secret, H + i, id));
    expect(slots.every((s) => s >= 0 && s < DISCOVERY_SLOTS)).toBe(true);
    expect(preferredSlot(secret, H, id)).toBe(slots[0]!);
    expect(new Set(slots).size).toBeGreaterThan(1);
  });

  test('hour numbers and bad arguments', () => {
    expect(hourOf(3600 * 1000 * H + 3599_999)).toBe(H);
    expect(hourOf(3600 * 1000 * (H + 1))).toBe(H + 1);
    expect(() => hourKeyPair(new Uint8Array(31), H)).toThrow(RangeError);
    expect(() => recordKey(secret, -1)).toThrow(RangeError);
    expect(() => recordKey(secret, 1.5)).toThrow(RangeError);
    expect(() => slotSalt(secret, H, DISCOVERY_SLOTS)).toThrow(RangeError);
    expect(() => mutableTarget(new Uint8Array(32), new Uint8Array(65))).toThrow(RangeError);
  });
});
