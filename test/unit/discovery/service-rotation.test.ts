// Discovery across a rotation of the network secret, over a local DHT swarm of its own on loopback
// (local bootstrap only): a member that rotated publishes and looks up under both secrets while
// the previous one is accepted, so a member that missed the rotation and it still find each other.

import { describe, expect, test } from 'bun:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { MemberRecord } from '../../../appliance/discovery/record.ts';
import { hex, useSwarm } from './swarm.ts';

const { member } = useSwarm();

describe('discovery service across a rotation', () => {
  test('after a rotation: a member that missed it and a member that rotated still find each other (both secrets published and looked up)', async () => {
    const before = crypto.getRandomValues(new Uint8Array(32));
    const after = crypto.getRandomValues(new Uint8Array(32));
    const foundByRotated = new Map<string, MemberRecord>();
    const foundByAway = new Map<string, MemberRecord>();
    const rotated = member(before, ed25519.utils.randomSecretKey(), foundByRotated);
    const away = member(before, ed25519.utils.randomSecretKey(), foundByAway);
    const stranger = new Map<string, MemberRecord>();
    const onlyNew = member(after, ed25519.utils.randomSecretKey(), stranger);
    try {
      rotated.setSecrets(after, before);
      await Promise.all([rotated.start(), away.start(), onlyNew.start()]);
      const deadline = Date.now() + 15_000;
      const done = () => foundByRotated.has(hex(away.identityKey)) && foundByAway.has(hex(rotated.identityKey)) && stranger.has(hex(rotated.identityKey));
      while (Date.now() < deadline && !done()) await Bun.sleep(100);
      expect(foundByAway.has(hex(rotated.identityKey))).toBe(true); // under the old secret
      expect(foundByRotated.has(hex(away.identityKey))).toBe(true);
      expect(stranger.has(hex(rotated.identityKey))).toBe(true); // under the new one
      expect(foundByAway.has(hex(onlyNew.identityKey))).toBe(false); // the old secret does not find the new one's records
      // The previous secret forgotten: the rotated member no longer publishes or looks up under it.
      rotated.setSecrets(after, null);
    } finally {
      await Promise.all([rotated.stop(), away.stop(), onlyNew.stop()]);
    }
  }, 30_000);
});
