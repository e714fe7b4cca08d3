// The discovery loop over a local DHT swarm on loopback (local bootstrap only): two members that
// drew the same slot for this hour both end up findable, because a lookup that sees another
// member's record in its own slot moves to the next slot of its own sequence.

import { describe, expect, test } from 'bun:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { DISCOVERY_SLOTS, hourOf, preferredSlot } from '../../../appliance/discovery/rendezvous.ts';
import type { MemberRecord } from '../../../appliance/discovery/record.ts';
import { hex, useSwarm } from './swarm.ts';

const { member } = useSwarm();

describe('discovery service', () => {
  test('the slot sequence: attempt 0 is the preferred slot, later attempts spread over all slots', () => {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const id = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
    const h = hourOf(Date.now());
    expect(preferredSlot(secret, h, id, 0)).toBe(preferredSlot(secret, h, id));
    const seq = Array.from({ length: 200 }, (_, i) => preferredSlot(secret, h, id, i + 1));
    expect(new Set(seq).size).toBe(DISCOVERY_SLOTS);
    expect(() => preferredSlot(secret, h, id, -1)).toThrow(RangeError);
    expect(() => preferredSlot(secret, h, id, 1.5)).toThrow(RangeError);
  });

  test('two members that drew the same slot both find each other', async () => {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const hour = hourOf(Date.now());
    // Draw identities until two share this hour's preferred slot (1 in 16 per pair).
    const seedA = ed25519.utils.randomSecretKey();
    const slotA = preferredSlot(secret, hour, ed25519.getPublicKey(seedA));
    let seedB = ed25519.utils.randomSecretKey();
    while (preferredSlot(secret, hour, ed25519.getPublicKey(seedB)) !== slotA) seedB = ed25519.utils.randomSecretKey();
    const foundByA = new Map<string, MemberRecord>();
    const foundByB = new Map<string, MemberRecord>();
    const a = member(secret, seedA, foundByA);
    const b = member(secret, seedB, foundByB);
    try {
      await Promise.all([a.start(), b.start()]);
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && !(foundByA.has(hex(b.identityKey)) && foundByB.has(hex(a.identityKey)))) await Bun.sleep(100);
      expect(foundByA.has(hex(b.identityKey))).toBe(true);
      expect(foundByB.has(hex(a.identityKey))).toBe(true);
      if (hourOf(Date.now()) === hour) {
        expect(a.stats.slotMoves + b.stats.slotMoves).toBeGreaterThan(0);
        expect(a.currentSlot).not.toBe(b.currentSlot);
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 30_000);
});
