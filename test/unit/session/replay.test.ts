// The sliding window's behaviour at its edges (RFC 6479 §2; WireGuard §5.4.6).
import { describe, expect, test } from 'bun:test';
import { ReplayWindow, REPLAY_WINDOW_SIZE } from '../../../appliance/session/replay.ts';

const LIMIT = Number.MAX_SAFE_INTEGER;

describe('replay window', () => {
  test('accepts each counter once, in any order inside the window', () => {
    const w = new ReplayWindow();
    for (const c of [0, 2, 1, 5, 3, 4]) expect(w.accept(c, LIMIT)).toBe(true);
    for (const c of [0, 1, 2, 3, 4, 5]) expect(w.accept(c, LIMIT)).toBe(false);
  });
  test('refuses counters older than the window, accepts the oldest one inside it', () => {
    const w = new ReplayWindow();
    const top = 10_000;
    expect(w.accept(top, LIMIT)).toBe(true);
    expect(w.accept(top - REPLAY_WINDOW_SIZE, LIMIT)).toBe(true);
    expect(w.accept(top - REPLAY_WINDOW_SIZE - 1, LIMIT)).toBe(false);
  });
  test('a large jump clears the ring: old bits do not shadow new counters', () => {
    const w = new ReplayWindow();
    for (let c = 0; c < 3000; c++) expect(w.accept(c, LIMIT)).toBe(true);
    expect(w.accept(1_000_000, LIMIT)).toBe(true);
    // counters that share ring slots with the old ones must still be fresh
    for (let c = 1_000_000 - 1500; c < 1_000_000; c += 7) expect(w.accept(c, LIMIT)).toBe(true);
  });
  test('the limit and non-integers are refused', () => {
    const w = new ReplayWindow();
    expect(w.accept(100, 100)).toBe(false);
    expect(w.accept(-1, LIMIT)).toBe(false);
    expect(w.accept(1.5, LIMIT)).toBe(false);
  });
  test('random order against a reference set', () => {
    const w = new ReplayWindow();
    const seen = new Set<number>();
    let top = 0;
    for (let i = 0; i < 20_000; i++) {
      const c = Math.max(0, top + Math.floor(Math.random() * 300) - 250);
      const expected = !seen.has(c) && !(top - c > REPLAY_WINDOW_SIZE);
      expect(w.accept(c, LIMIT)).toBe(expected);
      if (expected) {
        seen.add(c);
        top = Math.max(top, c);
      }
    }
  });
});
