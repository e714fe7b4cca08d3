// Relay choice (discovery/paths.ts): after RELAY_AFTER_MS without a direct packet, a member is
// reached through a live relay, drawn at random weighted by measured quality.

import { expect, test } from 'bun:test';
import { PathChooser, RELAY_AFTER_MS } from '../../../appliance/discovery/paths.ts';
import { PeerQuality } from '../../../appliance/session/quality.ts';
import type { Peer } from '../../../appliance/session/peer.ts';

function fakePeer(name: string, key: number, rtt: number | null, now: number): Peer {
  const quality = new PeerQuality();
  if (rtt !== null) {
    for (let t = now - 20_000; t <= now - 2000; t += 2000) {
      quality.heard(t);
      quality.probeAnswered(quality.probeSent(t), t + rtt);
    }
    quality.heard(now);
  }
  return {
    name, publicKey: new Uint8Array(32).fill(key), quality, lastReceivedMs: rtt === null ? 0 : now,
    endpoint: rtt === null ? null : { family: 4, address: `192.0.2.${key}`, port: 51820 },
  } as unknown as Peer;
}

test('a slow relay (200 ms more) is chosen rarely; a failing one never; an unreachable member waits RELAY_AFTER_MS', () => {
  let seed = 3;
  const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  const chosen: Record<string, number> = {};
  const now = 100_000;
  for (let i = 0; i < 400; i++) {
    const fast = fakePeer('fast', 1, 15, now);
    const slow = fakePeer('slow', 2, 215, now);
    const dead = fakePeer('dead', 3, 15, now - 10_000);
    dead.quality.probeSent(now - 5000);
    const far = fakePeer('far', 4, null, now);
    const paths = new PathChooser(random);
    for (const r of [fast, slow, dead]) paths.offer(r.publicKey, true);
    const host = { peers: [fast, slow, dead, far], useRelay: (_p: Peer, relay: Peer) => (chosen[relay.name] = (chosen[relay.name] ?? 0) + 1) };
    paths.tick(host, now);
    paths.tick(host, now + RELAY_AFTER_MS - 1);
    expect(Object.values(chosen).reduce((x, y) => x + y, 0)).toBe(i); // not yet
    paths.tick(host, now + RELAY_AFTER_MS);
  }
  expect(chosen.dead).toBeUndefined();
  expect(chosen.fast!).toBeGreaterThan(380);
  expect(chosen.slow ?? 0).toBeLessThan(10);
});
