// Relaying: A and D cannot reach each other (their datagrams to each other are lost, as between
// two NATs that defeat hole punching); R, a member both reach, passes their already-encrypted
// datagrams on. Three devices back to back on a fake network and a fake clock.

import { describe, expect, test } from 'bun:test';
import { Device, PEX_MAX, pexEntriesFor, type PexEntry } from '../../appliance/device.ts';
import type { Peer } from '../../appliance/session/peer.ts';
import { parseConfigText } from '../../appliance/config/load.ts';
import { encodeKey } from '../../appliance/config/schema.ts';
import { generatePrivateKey, publicKeyOf } from '../../appliance/noise/crypto.ts';

const ADDR = { a: '192.168.77.1', r: '192.168.77.2', d: '192.168.77.3' } as const;
const OVERLAY = { a: '10.99.0.1', r: '10.99.0.2', d: '10.99.0.3' } as const;
type Name = keyof typeof ADDR;

function ipv4(src: string, dst: string, payload: number[]): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  p[0] = 0x45;
  p[3] = p.length;
  p[8] = 64;
  p[9] = 17;
  p.set(src.split('.').map(Number), 12);
  p.set(dst.split('.').map(Number), 16);
  p.set(payload, 20);
  return p;
}

function network(relayEnabled: boolean, relayLimits = '') {
  const secret = encodeKey(crypto.getRandomValues(new Uint8Array(32)));
  const keys = { a: generatePrivateKey(), r: generatePrivateKey(), d: generatePrivateKey() };
  const clock = { t: 1000 };
  const wire: { from: Name; to: string; data: Uint8Array }[] = [];
  const tun: Record<Name, Uint8Array[]> = { a: [], r: [], d: [] };
  const pex: Record<Name, { from: string; entries: PexEntry[] }[]> = { a: [], r: [], d: [] };
  const control: Record<Name, { from: string; msg: unknown }[]> = { a: [], r: [], d: [] };
  const peerSection = (n: Name, withEndpoint: boolean) =>
    `[[peer]]\nname = "${n}"\npublic_key = "${encodeKey(publicKeyOf(keys[n]))}"\nallowed_ips = ["${OVERLAY[n]}/32"]\n${withEndpoint ? `endpoint = "${ADDR[n]}:51820"\npersistent_keepalive = 25\n` : ''}`;
  const config = (self: Name, peers: string, relay = false) => parseConfigText(`[interface]\nname = "t0"\nprivate_key = "${encodeKey(keys[self])}"\naddress = ["${OVERLAY[self]}/24"]\n[network]\nsecret = "${secret}"\n[relay]\nenabled = ${relay}\n${relay ? relayLimits : ''}${peers}`);
  const mk = (self: Name, peers: string, relay = false) =>
    new Device(config(self, peers, relay), {
      sendMany: (list) => {
        for (let i = 0; i < list.length; i += 3) wire.push({ from: self, to: list[i + 2] as string, data: (list[i] as Uint8Array).slice() });
      },
      tunWrite: (p) => (tun[self].push(p.slice()), true),
      now: () => clock.t,
      wallNow: () => 1_700_000_000_000 + clock.t,
      onPeerExchange: (from, entries) => pex[self].push({ from: from.name, entries }),
      onControl: (from, msg) => control[self].push({ from: from.name, msg }),
    });
  const dev = {
    a: mk('a', peerSection('r', true) + peerSection('d', false)),
    r: mk('r', peerSection('a', false) + peerSection('d', false), relayEnabled),
    d: mk('d', peerSection('r', true) + peerSection('a', false)),
  };
  const byAddr = new Map<string, Name>(Object.entries(ADDR).map(([n, a]) => [a, n as Name]));
  /** Delivers everything, except what A and D send each other directly (lost, as through two NATs). */
  const pump = () => {
    for (let round = 0; round < 30 && wire.length > 0; round++) {
      for (const d of wire.splice(0)) {
        const to = byAddr.get(d.to);
        if (!to || (d.from === 'a' && to === 'd') || (d.from === 'd' && to === 'a')) continue;
        dev[to].inbound(d.data, 51820, ADDR[d.from]);
      }
    }
  };
  const peer = (on: Name, of: Name) => dev[on].peers.find((p) => p.name === of)!;
  // Both reach the relay first (as members keep sessions with it).
  dev.a.outbound([ipv4(OVERLAY.a, OVERLAY.r, [1])], 1);
  dev.d.outbound([ipv4(OVERLAY.d, OVERLAY.r, [2])], 1);
  pump();
  return { dev, tun, pump, peer, clock, pex, control, wire };
}

describe('relay', () => {
  test('A reaches D through R both ways; R sees only keys and ciphertext and counts what it passed on', () => {
    const { dev, tun, pump, peer } = network(true);
    expect(tun.r).toHaveLength(2);
    // Direct: A's handshakes to D go nowhere.
    peer('a', 'd').endpoint = { family: 4, address: ADDR.d, port: 51820 };
    dev.a.outbound([ipv4(OVERLAY.a, OVERLAY.d, [3])], 1);
    pump();
    expect(tun.d).toHaveLength(0);
    // Through R.
    dev.a.useRelay(peer('a', 'd'), peer('a', 'r'));
    pump();
    const ping = ipv4(OVERLAY.a, OVERLAY.d, [4, 4]);
    dev.a.outbound([ping], 1);
    pump();
    expect(tun.d.map((p) => Buffer.from(p).toString('hex'))).toContain(Buffer.from(ping).toString('hex'));
    // D learned A's path through R from the handshake, and answers that way.
    expect(peer('d', 'a').endpoint?.relay).toBeDefined();
    const pong = ipv4(OVERLAY.d, OVERLAY.a, [5]);
    dev.d.outbound([pong], 1);
    pump();
    expect(tun.a.map((p) => Buffer.from(p).toString('hex'))).toEqual([Buffer.from(pong).toString('hex')]);
    expect(dev.r.counters.relayForwarded).toBeGreaterThanOrEqual(4); // initiation, response, ping, pong
    expect(dev.a.counters.relaySent).toBeGreaterThan(0);
    expect(dev.d.counters.relayDelivered).toBeGreaterThan(0);
    expect(tun.r).toHaveLength(2); // R's own TUN got nothing of theirs
    expect(peer('a', 'd').stats.handshakes).toBe(1);
  });

  test('a member that does not relay refuses; nothing reaches D', () => {
    const { dev, tun, pump, peer } = network(false);
    dev.a.useRelay(peer('a', 'd'), peer('a', 'r'));
    dev.a.outbound([ipv4(OVERLAY.a, OVERLAY.d, [6])], 1);
    pump();
    expect(tun.d).toHaveLength(0);
    expect(dev.r.counters.relayRefused).toBeGreaterThan(0);
    expect(dev.r.counters.relayForwarded).toBe(0);
  });

  test('once a direct packet authenticates, the path is direct again, and a late relayed one does not undo it', () => {
    const { dev, pump, peer, clock } = network(true);
    dev.a.useRelay(peer('a', 'd'), peer('a', 'r'));
    pump();
    expect(peer('d', 'a').endpoint?.relay).toBeDefined();
    // D sends directly (a hole opened): A's endpoint for D becomes direct.
    const direct = dev.d.peers.find((p) => p.name === 'a')!;
    direct.endpoint = { family: 4, address: ADDR.a, port: 51820 };
    const sent: Uint8Array[] = [];
    // Hand-deliver D's next packet to A as if from D's address.
    const before = dev.a.counters.rxDatagrams;
    const orig = (dev.d as unknown as { seams: { sendMany: (l: unknown[]) => void } }).seams.sendMany;
    (dev.d as unknown as { seams: { sendMany: (l: unknown[]) => void } }).seams.sendMany = (l) => {
      for (let i = 0; i < l.length; i += 3) sent.push((l[i] as Uint8Array).slice());
    };
    dev.d.outbound([ipv4(OVERLAY.d, OVERLAY.a, [7])], 1);
    (dev.d as unknown as { seams: { sendMany: (l: unknown[]) => void } }).seams.sendMany = orig;
    for (const d of sent) dev.a.inbound(d, 51820, ADDR.d);
    expect(dev.a.counters.rxDatagrams).toBeGreaterThan(before);
    expect(peer('a', 'd').endpoint).toEqual({ family: 4, address: ADDR.d, port: 51820 });
    // A relayed packet from D arriving later does not move A back to the relay.
    clock.t += 1000;
    direct.endpoint = { family: 4, address: 'relay', port: 0, relay: { via: peer('d', 'r').publicKey, to: peer('d', 'a').publicKey } };
    dev.d.outbound([ipv4(OVERLAY.d, OVERLAY.a, [8])], 1);
    pump();
    expect(peer('a', 'd').endpoint?.relay).toBeUndefined();
  });

  test('peer exchange: R tells A of D (key and endpoint) inside their session; at most PEX_MAX entries; needs a session', () => {
    const { dev, pump, peer, pex } = network(true);
    const d = peer('r', 'd');
    expect(dev.r.sendPeerExchange(peer('r', 'a'), [{ publicKey: d.publicKey, endpoint: d.endpoint }])).toBe(true);
    pump();
    expect(pex.a).toHaveLength(1);
    expect(pex.a[0]!.from).toBe('r');
    expect(Buffer.from(pex.a[0]!.entries[0]!.publicKey).equals(Buffer.from(d.publicKey))).toBe(true);
    expect(pex.a[0]!.entries[0]!.endpoint).toEqual({ family: 4, address: ADDR.d, port: 51820 });
    // A relayed endpoint is not shared (null), and a list is cut at PEX_MAX.
    const many = Array.from({ length: PEX_MAX + 5 }, () => ({ publicKey: crypto.getRandomValues(new Uint8Array(32)), endpoint: { family: 4 as const, address: 'relay', port: 0, relay: { via: d.publicKey, to: d.publicKey } } }));
    dev.r.sendPeerExchange(peer('r', 'a'), many);
    pump();
    expect(pex.a[1]!.entries).toHaveLength(PEX_MAX);
    expect(pex.a[1]!.entries.every((e) => e.endpoint === null)).toBe(true);
    // No session with D from A: nothing goes out.
    expect(dev.a.sendPeerExchange(peer('a', 'd'), [{ publicKey: d.publicKey, endpoint: null }])).toBe(false);
  });
});

describe('control messages', () => {
  test('a member\'s JSON reaches the other inside the session; too long or without a session it is not sent; nothing reaches the TUN', () => {
    const { dev, pump, peer, control, tun } = network(true);
    const tunBefore = tun.r.length;
    expect(dev.a.sendControl(peer('a', 'r'), { t: 'port', id: 7, proto: 'tcp' })).toBe(true);
    pump();
    expect(control.r).toEqual([{ from: 'a', msg: { t: 'port', id: 7, proto: 'tcp' } }]);
    expect(tun.r.length).toBe(tunBefore);
    expect(dev.a.sendControl(peer('a', 'r'), { pad: 'x'.repeat(1100) })).toBe(false);
    expect(dev.a.sendControl(peer('a', 'd'), { t: 'port' })).toBe(false); // no session with D
  });

  test('hostile control plaintexts (bad length, not JSON, not UTF-8, a bare number) are dropped and counted', () => {
    const { dev, pump, peer, control } = network(true);
    const seal = (plain: number[]) => (dev.a as unknown as { sendPlain: (p: Peer, b: Uint8Array) => boolean }).sendPlain(peer('a', 'r'), new Uint8Array(plain));
    const before = dev.r.counters.dropMalformed;
    const text = (s: string) => [...new TextEncoder().encode(s)];
    seal([0x15, 0xff, 0xff, ...text('{}')]); // longer than it is
    seal([0x15, 0, 3, ...text('{x}')]); // not JSON
    seal([0x15, 0, 2, 0xc3, 0x28]); // not UTF-8
    seal([0x15, 0, 1, ...text('7')]); // JSON, not an object
    seal([0x15]); // no length
    dev.a.flush();
    pump();
    expect(control.r).toEqual([]);
    expect(dev.r.counters.dropMalformed - before).toBe(5);
  });
});

describe('relay fairness ([relay] member_rate_mbit)', () => {
  test('a member sending through the relay faster than its cap loses what is over the burst; the budget refills with time', () => {
    const { dev, tun, pump, peer, clock } = network(true, 'member_rate_mbit = 1\n');
    expect(dev.r.counters.relayRateLimited).toBe(0);
    dev.a.useRelay(peer('a', 'd'), peer('a', 'r'));
    pump();
    const before = tun.d.length;
    // 200 packets of ~1 KB at one instant: the burst (64 KiB at 1 Mbit/s) lets ~60 through.
    for (let i = 0; i < 200; i++) dev.a.outbound([ipv4(OVERLAY.a, OVERLAY.d, new Array(1000).fill(i & 0xff))], 1);
    pump();
    const through = tun.d.length - before;
    expect(through).toBeGreaterThan(40);
    expect(through).toBeLessThan(80);
    expect(dev.r.counters.relayRateLimited).toBeGreaterThan(100);
    // A second later, 125 KB more may pass (1 Mbit/s), up to the burst.
    clock.t += 1000;
    const mid = tun.d.length;
    for (let i = 0; i < 30; i++) dev.a.outbound([ipv4(OVERLAY.a, OVERLAY.d, new Array(1000).fill(1))], 1);
    pump();
    expect(tun.d.length - mid).toBe(30);
  });
});

describe('relay limits ([limits] max_relayed_pairs)', () => {
  test('at max_relayed_pairs = 1, one pair is relayed both ways; at 0, none is, and the refusals are counted', () => {
    for (const cap of [1, 0]) {
      const { dev, tun, pump, peer } = network(true, `[limits]\nmax_relayed_pairs = ${cap}\n`);
      dev.a.useRelay(peer('a', 'd'), peer('a', 'r'));
      const ping = ipv4(OVERLAY.a, OVERLAY.d, [7]);
      dev.a.outbound([ping], 1);
      pump();
      dev.d.outbound([ipv4(OVERLAY.d, OVERLAY.a, [8])], 1);
      pump();
      if (cap === 1) {
        expect(tun.d.map((p) => Buffer.from(p).toString('hex'))).toContain(Buffer.from(ping).toString('hex'));
        expect(tun.a).toHaveLength(1);
        expect(dev.r.relayedPairs()).toBe(1);
        expect(dev.r.counters.relayPairsRefused).toBe(0);
      } else {
        expect(tun.d).toHaveLength(0);
        expect(dev.r.relayedPairs()).toBe(0);
        expect(dev.r.counters.relayPairsRefused).toBeGreaterThan(0);
        expect(dev.r.counters.relayForwarded).toBe(0);
      }
    }
  });
});

describe('peer exchange selection', () => {
  test('the receiver\'s own mapping always first; with 50 live members, every one is told within 20 rounds (100 s)', () => {
    const mk = (i: number) => ({ name: `m${i}`, publicKey: new Uint8Array(32).fill(i), endpoint: { family: 4, address: `203.0.113.${i}`, port: 51820 } }) as unknown as Peer;
    const alive = Array.from({ length: 50 }, (_, i) => mk(i + 1));
    const to = alive[7]!;
    let seed = 9;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const told = new Set<number>();
    for (let round = 0; round < 20; round++) {
      const entries = pexEntriesFor(to, alive, random);
      expect(entries).toHaveLength(PEX_MAX);
      expect(entries[0]!.publicKey).toBe(to.publicKey); // where we see it: never cut
      expect(entries.slice(1).some((e) => e.publicKey === to.publicKey)).toBe(false);
      for (const e of entries.slice(1)) told.add(e.publicKey[0]!);
    }
    expect(told.size).toBe(49); // every other member, not the same 15
  });
});
