// The log ring: bounded, oldest first, the most recent `limit` lines, long lines cut.

import { describe, expect, test } from 'bun:test';
import { LogRing, MAX_LINE_CHARS } from '../../../appliance/admin/log-ring.ts';

describe('LogRing', () => {
  test('keeps the last `capacity` lines, oldest first, across many wraps', () => {
    const ring = new LogRing(5);
    expect(ring.lines()).toEqual([]);
    for (let i = 0; i < 3; i++) ring.push(`l${i}`);
    expect(ring.lines()).toEqual(['l0', 'l1', 'l2']);
    for (let i = 3; i < 23; i++) ring.push(`l${i}`);
    expect(ring.size).toBe(5);
    expect(ring.lines()).toEqual(['l18', 'l19', 'l20', 'l21', 'l22']);
    expect(ring.lines(2)).toEqual(['l21', 'l22']);
    expect(ring.lines(0)).toEqual([]);
    expect(ring.lines(-3)).toEqual([]);
    expect(ring.lines(Number.NaN)).toEqual([]);
    expect(ring.lines(99)).toHaveLength(5);
  });

  test('a text with newlines is one line each; empty lines are dropped; long lines are cut', () => {
    const ring = new LogRing(10);
    ring.push('first\nsecond\n\nthird\n');
    ring.push('x'.repeat(MAX_LINE_CHARS + 50));
    expect(ring.lines().slice(0, 3)).toEqual(['first', 'second', 'third']);
    expect(ring.lines(1)[0]).toHaveLength(MAX_LINE_CHARS + 1);
  });

  test('the default holds 500 lines; a capacity below 1 is refused', () => {
    const ring = new LogRing();
    for (let i = 0; i < 1200; i++) ring.push(`${i}`);
    expect(ring.lines()).toHaveLength(500);
    expect(ring.lines(1)).toEqual(['1199']);
    expect(() => new LogRing(0)).toThrow(RangeError);
  });
});
