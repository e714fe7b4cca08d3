// Peer quality (session/quality.ts): round trip, loss, rates, uptime, failure, weighted choice.

import { describe, expect, test } from 'bun:test';
import { PeerQuality, PROBE_TIMEOUT_MS, DOWN_AFTER_MS, weightedChoice } from '../../../appliance/session/quality.ts';

describe('peer quality', () => {
  test('round trip: smoothed as RFC 6298 does, with the minimum kept', () => {
    const q = new PeerQuality();
    expect(q.figures(0).rttMs).toBeNull();
    q.probeAnswered(q.probeSent(1000), 1040);
    expect(q.figures(1040)).toMatchObject({ rttMs: 40, minRttMs: 40 });
    q.probeAnswered(q.probeSent(3000), 3120);
    expect(q.figures(3120)).toMatchObject({ rttMs: 50, minRttMs: 40 }); // 40 + (120 - 40) / 8
  });

  test('an echo matching no probe, repeated, or from before the probe is not counted', () => {
    const q = new PeerQuality();
    const id = q.probeSent(1000);
    expect(q.probeAnswered(id + 7, 1010)).toBe(false);
    expect(q.probeAnswered(id, 999)).toBe(false);
    expect(q.probeAnswered(id, 1010)).toBe(true);
    expect(q.probeAnswered(id, 1020)).toBe(false);
    expect(q.figures(1020)).toMatchObject({ probesSent: 1, probesAnswered: 1, rttMs: 10 });
  });

  test('loss: probes unanswered after the timeout, over the window; young ones are not judged yet', () => {
    const q = new PeerQuality();
    for (let i = 0; i < 10; i++) {
      const t = i * 2000;
      const id = q.probeSent(t);
      if (i % 5 !== 0 && i !== 9) q.probeAnswered(id, t + 20); // 0 and 5 lost; 9 not answered yet
    }
    expect(q.figures(18_000 + 100).lossPercent).toBe(22.2); // 2 of the 9 judged; the last is too young
    expect(q.figures(18_000 + PROBE_TIMEOUT_MS).lossPercent).toBe(30);
    // An answer later than the timeout counts as lost too.
    const late = new PeerQuality();
    late.probeAnswered(late.probeSent(0), PROBE_TIMEOUT_MS + 500);
    expect(late.figures(10_000).lossPercent).toBe(100);
  });

  test('rates from the byte counters, uptime from authenticated traffic', () => {
    const q = new PeerQuality();
    for (let s = 0; s <= 20; s++) q.sampleBytes(s * 1_000_000, s * 10_000, s * 1000);
    expect(q.figures(20_000).rxBytesPerSecond).toBeGreaterThan(990_000);
    expect(q.figures(20_000).txBytesPerSecond).toBeGreaterThan(9_900);
    expect(q.figures(0).upSeconds).toBeNull();
    q.heard(1000);
    q.heard(9000);
    expect(q.figures(11_000).upSeconds).toBe(10);
    expect(q.figures(9000 + DOWN_AFTER_MS + 1).upSeconds).toBeNull(); // silent: down
    q.heard(40_000);
    expect(q.figures(41_000).upSeconds).toBe(1); // up again: counted afresh
  });

  test('failing: nothing heard and the newest judged probe unanswered; not while it answers', () => {
    const q = new PeerQuality();
    q.heard(1000);
    q.probeAnswered(q.probeSent(1000), 1010);
    q.heard(1010);
    expect(q.failing(2000)).toBe(false);
    q.probeSent(3000); // never answered
    expect(q.failing(3000 + PROBE_TIMEOUT_MS - 1)).toBe(false); // not judged yet
    expect(q.failing(3000 + PROBE_TIMEOUT_MS)).toBe(true);
    q.heard(6500); // any authenticated packet: not failing
    expect(q.failing(6600)).toBe(false);
  });

  test('weighted choice: by 1/cost², every item possible, none when empty', () => {
    let seed = 1;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const counts = new Map<number, number>();
    for (let i = 0; i < 10_000; i++) {
      const pick = weightedChoice([10, 20, 100], (c) => c, random)!;
      counts.set(pick, (counts.get(pick) ?? 0) + 1);
    }
    // Weights 1/100, 1/400, 1/10000: shares 79.4 %, 19.8 %, 0.8 %.
    expect(counts.get(10)! / 10_000).toBeCloseTo(0.794, 1);
    expect(counts.get(20)! / 10_000).toBeCloseTo(0.198, 1);
    expect(counts.get(100)!).toBeGreaterThan(20);
    expect(weightedChoice([], () => 1)).toBeNull();
  });
});
