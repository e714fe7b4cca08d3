// The source's circuit choice on a fake clock: paths drawn from live relays and exits (a fixed
// path when configured), connections keep their circuit while it lives, rotation moves new ones
// and lets old ones drain, a failed circuit is replaced at once.

import { describe, expect, test } from 'bun:test';
import { localCircuitAddr, type CircuitEngine, type SourceCircuit } from '../../../appliance/circuit/engine.ts';
import { CircuitManager, DRAIN_IDLE_MS, ROTATE_MS } from '../../../appliance/circuit/manager.ts';
import { addrText } from '../../../appliance/circuit/rewrite.ts';
import type { Peer } from '../../../appliance/session/peer.ts';

function peer(name: string, live = true): Peer {
  return {
    name,
    publicKey: new Uint8Array(32).fill(name.charCodeAt(0)),
    current: live ? {} : null,
    lastReceivedMs: live ? 1000 : 0,
    endpoint: live ? { family: 4, address: '203.0.113.9', port: 1 } : null,
    quality: { failing: () => false, cost: () => 1 },
  } as unknown as Peer;
}

function tcp(src: number, dport: number): Uint8Array {
  const p = new Uint8Array(40);
  p[0] = 0x45; p[9] = 6;
  p.set(addrText(src).split('.').map(Number), 12);
  p.set([198, 51, 100, 10], 16);
  p[20] = 0x30; p[21] = 0x39; p[22] = dport >> 8; p[23] = dport & 0xff;
  return p;
}

function setup(peers: Peer[], opts: { exits?: Peer[]; relays?: string[]; fixed?: Uint8Array[] | null } = {}) {
  const clock = { t: 1000 };
  const built: SourceCircuit[] = [];
  const closed: SourceCircuit[] = [];
  const engine = {
    build(path: Uint8Array[], localAddr: number) {
      const c = { id: built.length + 1, path, localAddr, state: 'ready', builtMs: clock.t, startedMs: clock.t } as unknown as SourceCircuit;
      built.push(c);
      return c;
    },
    close(c: SourceCircuit) {
      c.state = 'failed';
      closed.push(c);
    },
    sources: () => built,
  } as unknown as CircuitEngine;
  const m = new CircuitManager(engine, {
    peers,
    offersRelay: (p) => (opts.relays ?? ['a', 'b', 'c']).includes(p.name),
    exits: () => opts.exits ?? [],
    fixedPath: () => opts.fixed ?? null,
    now: () => clock.t,
    log: () => {},
    random: () => 0,
  });
  return { m, clock, built, closed };
}

describe('circuit choice', () => {
  test('a drawn path: a live relay first, another relay in the middle, the exit last; never the exit as a relay', () => {
    const [a, b, x] = [peer('a'), peer('b'), peer('x')];
    const { m } = setup([a, b, x], { exits: [x], relays: ['a', 'b', 'x'] });
    const path = m.choosePath(3) as Uint8Array[];
    expect(path.map((k) => String.fromCharCode(k[0]!))).toEqual(['a', 'b', 'x']);
    expect((m.choosePath(2) as Uint8Array[]).map((k) => String.fromCharCode(k[0]!))).toEqual(['a', 'x']);
  });

  test('no exit, no live relay, one relay for three hops: no path, and why', () => {
    expect(setup([peer('a')]).m.choosePath(2)).toBe('no member offers an exit');
    const x = peer('x');
    expect(setup([peer('a', false), x], { exits: [x] }).m.choosePath(2)).toBe('no relay with a live session to start a circuit');
    expect(setup([peer('a'), x], { exits: [x] }).m.choosePath(3)).toBe('a 3-hop circuit needs two relays');
  });

  test('after a circuit fails, its first hop is passed over while another relay will do', () => {
    const [a, b, x] = [peer('a'), peer('b'), peer('x')];
    const { m, built } = setup([a, b, x], { exits: [x] });
    m.setWanted([2]);
    m.tick();
    expect(String.fromCharCode(built[0]!.path[0]![0]!)).toBe('a');
    built[0]!.state = 'failed';
    m.tick();
    expect(String.fromCharCode(built[1]!.path[0]![0]!)).toBe('b');
  });

  test('a fixed path is used as it is', () => {
    const fixed = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
    expect(setup([], { fixed }).m.choosePath(3)).toBe(fixed);
  });

  test('connections keep their circuit across a rotation; new ones take the new circuit; the old one closes once drained', () => {
    const [a, b, x] = [peer('a'), peer('b'), peer('x')];
    const { m, clock, built, closed } = setup([a, b, x], { exits: [x] });
    m.setWanted([3]);
    m.tick();
    expect(built).toHaveLength(1);
    const old = tcp(localCircuitAddr(3), 80);
    expect(m.circuitFor(old)).toBe(built[0]!);
    expect(m.circuitFor(tcp(localCircuitAddr(2), 80))).toBeNull(); // no 2-hop devices wanted
    clock.t += ROTATE_MS + 1;
    for (const p of [a, b, x]) p.lastReceivedMs = clock.t; // the relays are still heard from
    expect(m.circuitFor(old)).toBe(built[0]!); // the connection is live when the rotation comes
    m.tick();
    expect(built).toHaveLength(2);
    expect(m.circuitFor(old)).toBe(built[0]!); // a live connection stays
    expect(m.circuitFor(tcp(localCircuitAddr(3), 443))).toBe(built[1]!); // a new one moves
    clock.t += DRAIN_IDLE_MS + 1;
    m.tick();
    expect(closed).toEqual([built[0]!]);
    expect(m.circuitFor(old)).toBe(built[1]!); // its circuit gone, it moves too
  });

  test('a failed circuit is replaced at the next tick; hop counts no longer wanted are closed', () => {
    const [a, b, x] = [peer('a'), peer('b'), peer('x')];
    const { m, built, closed } = setup([a, b, x], { exits: [x] });
    m.setWanted([2, 3]);
    m.tick();
    expect(built).toHaveLength(2);
    built[0]!.state = 'failed';
    m.tick();
    expect(built).toHaveLength(3);
    m.setWanted([]);
    expect(closed.length).toBe(2);
  });
});
