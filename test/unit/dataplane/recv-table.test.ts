// The receive table the data-plane worker opens sessions from (dataplane/recv-table.ts), and the
// index allocation that gives every live session an entry of its own (session/index-table.ts).

import { describe, expect, test } from 'bun:test';
import { ReceiveTable, newReceiveState, receiveCapacity, STATE_NONE, STATE_OPEN, STATE_TO_MAIN, RX_BYTES, RX_KEEPALIVES, RX_LAST, RX_PACKETS } from '../../../appliance/dataplane/recv-table.ts';
import { IndexTable } from '../../../appliance/session/index-table.ts';

const LIMIT = Number.MAX_SAFE_INTEGER;

describe('index table with a low mask', () => {
  test('no two live indices share their low bits; a freed one is reusable', () => {
    let n = 0;
    // A random source that keeps offering values whose low bits are taken.
    const t = new IndexTable<number>(() => (++n * 0x9e37_79b9) >>> 0);
    t.setLowMask(63);
    const live = Array.from({ length: 48 }, (_, i) => t.allocate(i));
    expect(new Set(live.map((i) => i & 63)).size).toBe(48);
    t.delete(live[5]!);
    const again = t.allocate(99);
    expect(new Set([...live.filter((_, i) => i !== 5), again].map((i) => i & 63)).size).toBe(48);
    expect(t.get(again)).toBe(99);
    expect(t.get(live[5]!)).toBeUndefined();
  });

  test('the mask is set before any allocation', () => {
    const t = new IndexTable<number>();
    t.allocate(1);
    expect(() => t.setLowMask(15)).toThrow(/before allocating/);
  });
});

describe('receive table', () => {
  const make = () => new ReceiveTable(receiveCapacity(4), 4);

  test('a session is found at its index only, with its key and state, until removed', () => {
    const t = make();
    expect(t.capacity).toBe(32);
    const key = crypto.getRandomValues(new Uint8Array(32));
    t.add(0xabcd_0005, { state: STATE_TO_MAIN, peerSlot: 3, suite: 1, wireSlot: 1, fastUntilMs: 5000 }, key);
    const s = newReceiveState();
    expect(t.read(0xabcd_0005, s)).toBe(STATE_TO_MAIN);
    expect([s.peerSlot, s.suite, s.wireSlot, s.fastUntilMs]).toEqual([3, 1, 1, 5000]);
    expect(Array.from(s.key)).toEqual(Array.from(key));
    expect(t.read(0xabce_0005, s)).toBe(STATE_NONE); // same entry, another index
    t.setState(0xabcd_0005, STATE_OPEN);
    expect(t.read(0xabcd_0005, s)).toBe(STATE_OPEN);
    t.remove(0xabce_0005); // not its index: nothing happens
    expect(t.read(0xabcd_0005, s)).toBe(STATE_OPEN);
    t.remove(0xabcd_0005);
    expect(t.read(0xabcd_0005, s)).toBe(STATE_NONE);
    expect(t.accept(0xabcd_0005, 1, LIMIT)).toBe(false); // a removed session accepts nothing
  });

  test('the shared replay window: new counters once, old ones within the window, a new session starts afresh', () => {
    const t = make();
    const key = new Uint8Array(32);
    const w = t.add(0x11, { state: STATE_OPEN, peerSlot: 0, suite: 0, wireSlot: 0, fastUntilMs: Infinity }, key);
    expect(w.accept(0, LIMIT)).toBe(true);
    expect(w.accept(0, LIMIT)).toBe(false);
    expect(t.accept(0x11, 5000, LIMIT)).toBe(true); // the worker's side, same window
    expect(w.accept(5000, LIMIT)).toBe(false);
    expect(w.accept(4000, LIMIT)).toBe(true); // 1,000 back: inside the window
    expect(w.accept(2000, LIMIT)).toBe(false); // 3,000 back: too old
    t.remove(0x11);
    const fresh = t.add(0x11, { state: STATE_OPEN, peerSlot: 0, suite: 0, wireSlot: 0, fastUntilMs: Infinity }, key);
    expect(fresh.accept(0, LIMIT)).toBe(true);
  });

  test('what the worker received, per peer slot', () => {
    const t = make();
    t.count(2, 1000, 1400, false);
    t.count(2, 1001, 0, true);
    expect([RX_LAST, RX_PACKETS, RX_BYTES, RX_KEEPALIVES].map((f) => t.received(2, f))).toEqual([1001, 1, 1400, 1]);
    expect(t.received(1, RX_PACKETS)).toBe(0);
  });
});
