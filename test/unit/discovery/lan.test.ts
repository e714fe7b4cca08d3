// LAN beacons: the key and port follow the secret; a beacon of another network, a tampered or a
// stale one opens to nothing.

import { describe, expect, test } from 'bun:test';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { lanParameters } from '../../../appliance/discovery/lan.ts';
import { openRecord, sealRecord } from '../../../appliance/discovery/record.ts';

describe('LAN beacons', () => {
  const secret = crypto.getRandomValues(new Uint8Array(32));
  const other = crypto.getRandomValues(new Uint8Array(32));

  test('key and port are derived from the secret: stable, different per network, port 20000–59999', () => {
    const a = lanParameters(secret);
    expect(lanParameters(secret)).toEqual(a);
    const b = lanParameters(other);
    expect(Buffer.from(a.key).equals(Buffer.from(b.key))).toBe(false);
    for (const p of [a.port, b.port]) expect(p >= 20000 && p < 60000).toBe(true);
  });

  test("a beacon opens only with its network's key, untampered and fresh", () => {
    const now = Math.floor(Date.now() / 1000);
    const fields = { staticKey: x25519.getPublicKey(x25519.utils.randomSecretKey()), endpoints: [{ ip: '10.88.0.1', port: 40401, kind: 'lan' as const }], offers: { relay: false, exit: false }, timestamp: now };
    const beacon = sealRecord(fields, ed25519.utils.randomSecretKey(), lanParameters(secret).key);
    expect(openRecord(beacon, lanParameters(secret).key, now).ok).toBe(true);
    expect(openRecord(beacon, lanParameters(other).key, now).ok).toBe(false);
    const flipped = beacon.slice();
    flipped[40] = (flipped[40] ?? 0) ^ 1;
    expect(openRecord(flipped, lanParameters(secret).key, now).ok).toBe(false);
    expect(openRecord(beacon, lanParameters(secret).key, now + 3 * 3600).ok).toBe(false);
  });
});
