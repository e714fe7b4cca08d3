// Onion circuits on a fake network: a source, two relays and an exit, their links delivering
// synchronously. What each hop sees is recorded, and checked: only the exit sees the packet, no
// hop but the first sees the source, layers do not repeat a byte string between hops.

import { describe, expect, test } from 'bun:test';
import { CIRCUIT_POOL, CircuitEngine, SOURCE_PLACEHOLDER, type SourceCircuit } from '../../../appliance/circuit/engine.ts';
import { HopInitiator, hopRespond, peel, wrap } from '../../../appliance/circuit/onion.ts';
import { addrOf, addrText, readAddr, rewriteAddr } from '../../../appliance/circuit/rewrite.ts';
import { generatePrivateKey, publicKeyOf } from '../../../appliance/noise/crypto.ts';
import type { Peer } from '../../../appliance/session/peer.ts';

type Name = 's' | 'r1' | 'r2' | 'e';
const NAMES: Name[] = ['s', 'r1', 'r2', 'e'];

/** An IPv4/UDP packet with a correct IP checksum and UDP checksum. */
function udp(src: string, dst: string, payload: number[]): Uint8Array {
  const p = new Uint8Array(28 + payload.length);
  p[0] = 0x45; p[2] = p.length >> 8; p[3] = p.length & 0xff; p[8] = 64; p[9] = 17;
  p.set(src.split('.').map(Number), 12); p.set(dst.split('.').map(Number), 16);
  p[20] = 0x30; p[21] = 0x39; p[22] = 0x00; p[23] = 0x35; p[24] = (8 + payload.length) >> 8; p[25] = (8 + payload.length) & 0xff;
  p.set(payload, 28);
  const sum = (words: number[]) => { let s = 0; for (const w of words) s += w; while (s > 0xffff) s = (s & 0xffff) + (s >>> 16); return ~s & 0xffff; };
  const w16 = (b: Uint8Array, from: number, to: number) => { const out: number[] = []; for (let i = from; i < to; i += 2) out.push((b[i]! << 8) | (b[i + 1] ?? 0)); return out; };
  const ip = sum(w16(p, 0, 20)); p[10] = ip >> 8; p[11] = ip & 0xff;
  const pseudo = [...w16(p, 12, 20), 17, 8 + payload.length, ...w16(p, 20, p.length)];
  const u = sum(pseudo) || 0xffff; p[26] = u >> 8; p[27] = u & 0xff;
  return p;
}

function checksumsOk(p: Uint8Array): boolean {
  const fold = (s: number) => { while (s > 0xffff) s = (s & 0xffff) + (s >>> 16); return s; };
  let s = 0; for (let i = 0; i < 20; i += 2) s += (p[i]! << 8) | p[i + 1]!;
  if (fold(s) !== 0xffff) return false;
  let u = 17 + (p.length - 20);
  for (let i = 12; i < 20; i += 2) u += (p[i]! << 8) | p[i + 1]!;
  for (let i = 20; i < p.length; i += 2) u += (p[i]! << 8) | (p[i + 1] ?? 0);
  return fold(u) === 0xffff;
}

function network(opts: { relays?: Name[]; exits?: Name[]; maxCircuits?: number; carry?: () => boolean } = {}) {
  const keys = Object.fromEntries(NAMES.map((n) => [n, generatePrivateKey()])) as Record<Name, Uint8Array>;
  const pub = (n: Name) => publicKeyOf(keys[n]);
  const slots = Object.fromEntries(NAMES.map((n, i) => [n, i + 1])) as Record<Name, number>;
  // Node X's Peer object for node Y.
  const peerObj = new Map<string, Peer>();
  const peerOf = (on: Name, of: Name): Peer => {
    const k = `${on}>${of}`;
    if (!peerObj.has(k)) peerObj.set(k, { slot: slots[of], publicKey: pub(of), name: of } as unknown as Peer);
    return peerObj.get(k)!;
  };
  const nameOf = (p: Peer) => (p as unknown as { name: Name }).name;
  const links: Record<Name, Name[]> = { s: ['r1'], r1: ['s', 'r2', 'e'], r2: ['r1', 'e'], e: ['r1', 'r2'] };
  const queue: { from: Name; to: Name; msg: Uint8Array }[] = [];
  const seen: Record<Name, Uint8Array[]> = { s: [], r1: [], r2: [], e: [] };
  const tun: Record<Name, Uint8Array[]> = { s: [], r1: [], r2: [], e: [] };
  const clock = { t: 1000 };
  const engines = {} as Record<Name, CircuitEngine>;
  for (const n of NAMES) {
    engines[n] = new CircuitEngine({
      get peers() { return links[n].map((o) => peerOf(n, o)); },
      peerByKey: (k) => { const o = NAMES.find((x) => Buffer.from(pub(x)).equals(Buffer.from(k))); return o && links[n].includes(o) ? peerOf(n, o) : undefined; },
      sendLink: (p, msg) => { const to = nameOf(p); if (!links[n].includes(to)) return false; queue.push({ from: n, to, msg: msg.slice() }); return true; },
      flush: () => {},
      staticPrivate: keys[n],
      now: () => clock.t,
      log: () => {},
      canRelay: () => (opts.relays ?? ['r1', 'r2']).includes(n),
      canExit: () => (opts.exits ?? ['e']).includes(n),
      maxCircuits: () => opts.maxCircuits ?? 256,
      carryFor: () => opts.carry?.() ?? true,
      tunWrite: (pkt) => (tun[n].push(pkt.slice()), true),
    });
  }
  const pump = () => {
    for (let i = 0; i < 1000 && queue.length > 0; i++) {
      const { from, to, msg } = queue.shift()!;
      seen[to].push(msg);
      engines[to].onLink(peerOf(to, from), msg);
    }
  };
  return { engines, pump, tun, seen, clock, pub };
}

const has = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay).includes(Buffer.from(needle));

describe('onion cryptography', () => {
  test('the hop agreement gives both sides the same keys; a reply from another key fails', () => {
    const hop = generatePrivateKey();
    const i = new HopInitiator(publicKeyOf(hop));
    const r = hopRespond(hop, i.ephemeral)!;
    const keys = i.finish(r.reply)!;
    expect(Buffer.from(keys.fwd).equals(Buffer.from(r.keys.fwd))).toBe(true);
    expect(Buffer.from(keys.bwd).equals(Buffer.from(r.keys.bwd))).toBe(true);
    const j = new HopInitiator(publicKeyOf(hop));
    const impostor = hopRespond(generatePrivateKey(), j.ephemeral)!;
    expect(j.finish(impostor.reply)).toBeNull();
    const k = new HopInitiator(publicKeyOf(hop));
    const tampered = hopRespond(hop, k.ephemeral)!.reply;
    tampered[40]! ^= 1;
    expect(k.finish(tampered)).toBeNull();
  });

  test('a layer opens with its key only, and any flipped bit fails it', () => {
    const key = crypto.getRandomValues(new Uint8Array(32));
    const layer = wrap(key, 7, new Uint8Array([1, 2, 3]));
    expect(peel(key, layer)).toEqual({ counter: 7, inner: new Uint8Array([1, 2, 3]) });
    expect(peel(crypto.getRandomValues(new Uint8Array(32)), layer)).toBeNull();
    for (let i = 0; i < layer.length; i++) {
      const bad = layer.slice();
      bad[i]! ^= 0x80;
      expect(peel(key, bad)).toBeNull();
    }
    expect(peel(key, new Uint8Array(10))).toBeNull();
  });

  test('rewriting an address keeps the IP and UDP checksums right', () => {
    const p = udp('198.18.0.1', '198.51.100.10', [1, 2, 3, 4, 5]);
    expect(checksumsOk(p)).toBe(true);
    rewriteAddr(p, 12, addrOf('198.18.7.9'));
    expect(addrText(readAddr(p, 12))).toBe('198.18.7.9');
    expect(checksumsOk(p)).toBe(true);
    rewriteAddr(p, 16, addrOf('203.0.113.250'));
    expect(checksumsOk(p)).toBe(true);
  });
});

describe('circuits', () => {
  function built(n: ReturnType<typeof network>, path: Name[]): SourceCircuit {
    const c = n.engines.s.build(path.map(n.pub))!;
    n.pump();
    return c;
  }

  test('a 3-hop circuit builds; a packet reaches the exit\'s TUN from a circuit address, the reply reaches the source', () => {
    const n = network();
    const c = built(n, ['r1', 'r2', 'e']);
    expect(c.state).toBe('ready');
    expect(n.engines.r1.carried() + n.engines.r2.carried() + n.engines.e.carried()).toBe(3);
    const marker = [...new TextEncoder().encode('KNOWN-PAYLOAD-1234')];
    const pkt = udp(addrText(SOURCE_PLACEHOLDER), '198.51.100.10', marker);
    expect(n.engines.s.fromTun(pkt.slice(), c)).toBe(true);
    n.pump();
    expect(n.tun.e).toHaveLength(1);
    const out = n.tun.e[0]!;
    const src = readAddr(out, 12);
    expect(src >= CIRCUIT_POOL.first && src <= CIRCUIT_POOL.last).toBe(true);
    expect(checksumsOk(out)).toBe(true);
    // The payload is in clear at the exit only; no relay's link messages carry it, or the destination.
    const payload = new Uint8Array(marker);
    const dst = new Uint8Array([198, 51, 100, 10]);
    expect(n.seen.r1.some((m) => has(m, payload) || has(m, dst))).toBe(false);
    expect(n.seen.r2.some((m) => has(m, payload) || has(m, dst))).toBe(false);
    // A reply from the internet to the circuit address goes back to the source, addressed as it sent.
    const reply = udp('198.51.100.10', addrText(src), [9, 9, 9]);
    expect(n.engines.e.fromTun(reply, null)).toBe(true);
    n.pump();
    expect(n.tun.s).toHaveLength(1);
    expect(addrText(readAddr(n.tun.s[0]!, 16))).toBe(addrText(SOURCE_PLACEHOLDER));
    expect(checksumsOk(n.tun.s[0]!)).toBe(true);
    expect(c.rxPackets).toBe(1);
  });

  test('no two hops see the same bytes of a cell (each layer has its own counter and key)', () => {
    const n = network();
    const c = built(n, ['r1', 'r2', 'e']);
    n.seen.r1.length = n.seen.r2.length = n.seen.e.length = 0;
    n.engines.s.fromTun(udp(addrText(SOURCE_PLACEHOLDER), '198.51.100.10', new Array(64).fill(7)), c);
    n.pump();
    const at = (x: Name) => n.seen[x].at(-1)!.subarray(8, 40);
    expect(has(n.seen.r2.at(-1)!, at('r1'))).toBe(false);
    expect(has(n.seen.e.at(-1)!, at('r2'))).toBe(false);
  });

  test('probes measure the circuit end to end; a silent exit fails the circuit', () => {
    const n = network();
    const c = built(n, ['r1', 'e']);
    n.engines.s.tick();
    n.clock.t += 5;
    n.pump();
    expect(c.rttMs).toBe(5);
    n.clock.t += 4000; // nothing answers for 4 s
    n.engines.s.tick();
    expect(c.state).toBe('failed');
    expect(n.engines.s.counters.failed).toBe(1);
  });

  test('a hop that does not relay, an unknown next hop, a relay at its circuit limit: the build fails, the source is told', () => {
    const a = network({ relays: [] });
    expect(built(a, ['r1', 'e']).state).toBe('failed');
    const b = network();
    expect(built(b, ['r1', 's' as Name]).state).toBe('failed'); // r1 will not send back to the source
    const c = network({ maxCircuits: 0 });
    expect(built(c, ['r1', 'e']).state).toBe('failed');
    expect(c.engines.r1.counters.refused).toBe(1);
  });

  test('a hop over the member\'s carry budget drops its cells (and the source\'s circuit stops answering)', () => {
    let allow = true;
    const n = network({ carry: () => allow });
    const c = built(n, ['r1', 'r2', 'e']);
    allow = false;
    n.engines.s.fromTun(udp(addrText(SOURCE_PLACEHOLDER), '198.51.100.10', [1]), c);
    n.pump();
    expect(n.tun.e).toHaveLength(0);
    expect(n.engines.r1.counters.cellsDropped).toBe(1);
  });

  test('closing a circuit frees it at every hop; hostile link messages are dropped, never thrown', () => {
    const n = network();
    const c = built(n, ['r1', 'r2', 'e']);
    n.engines.s.close(c);
    n.pump();
    expect(n.engines.r1.carried() + n.engines.r2.carried() + n.engines.e.carried()).toBe(0);
    const r1 = n.engines.r1;
    const from = { slot: 1, publicKey: n.pub('s'), name: 's' } as unknown as Peer;
    for (let i = 0; i < 2000; i++) {
      const junk = crypto.getRandomValues(new Uint8Array(i % 90));
      if (junk.length > 0) junk[0] = 0x16 + (i % 4);
      expect(() => r1.onLink(from, junk)).not.toThrow();
    }
  });
});
