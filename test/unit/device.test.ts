// Two devices wired back to back through fake UDP and TUN, driven by a fake clock: the whole
// protocol state machine (handshake, data, replay, rekey, restart, cookies) without root.

import { describe, expect, test } from 'bun:test';
import { Device, type DeviceSeams } from '../../appliance/device.ts';
import { parseConfigText } from '../../appliance/config/load.ts';
import { encodeKey } from '../../appliance/config/schema.ts';
import { parsePrefix } from '../../appliance/dataplane/packet/addr.ts';
import { generatePrivateKey, publicKeyOf } from '../../appliance/noise/crypto.ts';

interface Node {
  dev: Device;
  tunOut: Uint8Array[]; // packets written to the TUN
  wire: { data: Uint8Array; port: number; address: string }[]; // datagrams sent
}

const A_ADDR = '192.168.77.1';
const B_ADDR = '192.168.77.2';

function ipv4(src: string, dst: string, payload: number[]): Uint8Array {
  const len = 20 + payload.length;
  const p = new Uint8Array(len);
  p[0] = 0x45;
  p[2] = len >> 8;
  p[3] = len & 0xff;
  p[8] = 64;
  p[9] = 17;
  p.set(src.split('.').map(Number), 12);
  p.set(dst.split('.').map(Number), 16);
  p.set(payload, 20);
  return p;
}

/** A and B back to back; `limitsB` is a [limits] section for B only (the responder). */
function makePair(opts: { wire: Wire; timers?: string; limitsB?: string; clock: { t: number }; bWithoutPeer?: boolean; admitB?: DeviceSeams['admitInitiator'] }) {
  const secret = encodeKey(crypto.getRandomValues(new Uint8Array(32)));
  const ka = generatePrivateKey();
  const kb = generatePrivateKey();
  const cfg = (self: Uint8Array, peer: Uint8Array, addr: string, peerAddr: string, peerNet: string, endpoint: boolean, limits = '', withPeer = true) =>
    parseConfigText(`
[interface]
name = "t0"
private_key = "${encodeKey(self)}"
address = ["${addr}/24"]
wire = "${opts.wire}"
${opts.timers ?? ''}
${limits}
[network]
secret = "${secret}"
${withPeer ? `[[peer]]
public_key = "${encodeKey(publicKeyOf(peer))}"
allowed_ips = ["${peerNet}"]
${endpoint ? `endpoint = "${peerAddr}:51820"` : ''}` : ''}
`);
  const mk = (config: ReturnType<typeof cfg>, admitInitiator?: DeviceSeams['admitInitiator']): Node => {
    const node: Node = { dev: undefined as unknown as Device, tunOut: [], wire: [] };
    node.dev = new Device(
      config,
      {
        sendMany: (list) => {
          for (let i = 0; i < list.length; i += 3) {
            node.wire.push({ data: (list[i] as Uint8Array).slice(), port: list[i + 1] as number, address: list[i + 2] as string });
          }
        },
        tunWrite: (p) => {
          node.tunOut.push(p.slice());
          return true;
        },
        now: () => opts.clock.t,
        wallNow: () => 1_700_000_000_000 + opts.clock.t,
        admitInitiator,
      },
    );
    return node;
  };
  const a = mk(cfg(ka, kb, '10.99.0.1', B_ADDR, '10.99.0.2/32', true));
  const bConfig = cfg(kb, ka, '10.99.0.2', A_ADDR, '10.99.0.1/32', false, opts.limitsB, !opts.bWithoutPeer);
  const b = mk(bConfig, opts.admitB);
  /** A fresh B with the same config: B after a restart. */
  const restartB = (): void => {
    const n = mk(bConfig);
    b.dev = n.dev;
    b.tunOut = n.tunOut;
    b.wire = n.wire;
  };
  /** Delivers everything on the wire until both sides are quiet; returns datagrams moved. */
  const pump = (filter?: (from: 'a' | 'b', d: Uint8Array) => boolean): number => {
    let moved = 0;
    for (let round = 0; round < 20; round++) {
      const fromA = a.wire.splice(0);
      const fromB = b.wire.splice(0);
      if (fromA.length + fromB.length === 0) break;
      for (const d of fromA) if (!filter || filter('a', d.data)) { b.dev.inbound(d.data, 51820, A_ADDR); moved++; }
      for (const d of fromB) if (!filter || filter('b', d.data)) { a.dev.inbound(d.data, 51820, B_ADDR); moved++; }
    }
    return moved;
  };
  return { a, b, pump, restartB };
}

const ping = ipv4('10.99.0.1', '10.99.0.2', [1, 2, 3, 4, 5]);
const pong = ipv4('10.99.0.2', '10.99.0.1', [9, 8, 7]);

type Wire = 'wireguard' | 'native';

for (const wire of ['wireguard', 'native'] as const) {
describe(`${wire} wire`, () => {
  describe('device: handshake and data', () => {
    test('a packet to the peer triggers a handshake, then arrives intact; the reply comes back', () => {
      const clock = { t: 1000 };
      const { a, b, pump } = makePair({ wire, clock });
      a.dev.outbound([ping], 1);
      expect(a.wire.length).toBe(1); // the initiation; the packet is staged
      if (wire === 'wireguard') expect(a.wire[0]?.data[0]).toBe(1);
      else expect(a.wire[0]?.data.length).not.toBe(148); // an envelope: no fixed size, no type byte
      pump();
      expect(b.tunOut).toHaveLength(1);
      expect(Buffer.from(b.tunOut[0] ?? [])).toEqual(Buffer.from(ping));
      b.dev.outbound([pong], 1);
      pump();
      expect(a.tunOut.map((p) => Buffer.from(p))).toEqual([Buffer.from(pong)]);
      expect(a.dev.peers[0]?.stats.handshakes).toBe(1);
      expect(b.dev.peers[0]?.stats.handshakes).toBe(1);
    });

    test('the responder learns the initiator endpoint (roaming) and a packet with no route is counted', () => {
      const clock = { t: 1000 };
      const { a, b, pump } = makePair({ wire, clock });
      a.dev.outbound([ping], 1);
      pump();
      expect(b.dev.peers[0]?.endpoint?.address).toBe(A_ADDR);
      b.dev.outbound([ipv4('10.99.0.2', '10.1.2.3', [1])], 1);
      expect(b.dev.counters.dropNoRoute).toBe(1);
    });
    test('both sides initiate at the same moment: data flows both ways', () => {
      const clock = { t: 1000 };
      const { a, b, pump } = makePair({ wire, clock });
      const peerOfB = b.dev.peers[0];
      if (!peerOfB) throw new Error('no peer');
      peerOfB.endpoint = { family: 4, address: A_ADDR, port: 51820 };
      a.dev.start();
      b.dev.start();
      pump();
      for (let i = 0; i < 3; i++) {
        a.dev.outbound([ping], 1);
        b.dev.outbound([pong], 1);
        pump();
      }
      expect(b.tunOut).toHaveLength(3);
      expect(a.tunOut).toHaveLength(3);
      expect(a.dev.counters.dropUnknownIndex + b.dev.counters.dropUnknownIndex).toBe(0);
    });
  });

  describe('device: peers joining at run time', () => {
    test('addPeer takes a new key once; the peer then handshakes and carries data', () => {
      const clock = { t: 1000 };
      const { a, b, pump } = makePair({ wire, clock });
      const extra = generatePrivateKey();
      const pc = { name: 'late', publicKey: publicKeyOf(extra), presharedKey: new Uint8Array(32), endpoint: null, allowedIps: [], persistentKeepalive: 0 };
      expect(a.dev.addPeer(pc)).not.toBeNull();
      expect(a.dev.addPeer(pc)).toBeNull(); // the same key again
      expect(a.dev.peers).toHaveLength(2);
      expect(a.dev.peerByKey(publicKeyOf(extra))?.name).toBe('late');
      // The configured peer still works alongside.
      a.dev.outbound([ping], 1);
      pump();
      expect(b.tunOut).toHaveLength(1);
    });

    test('an initiator B has no peer for is admitted only when the daemon says so, then carries data', () => {
      const clock = { t: 1000 };
      const refused = makePair({ wire, clock, bWithoutPeer: true });
      refused.a.dev.outbound([ping], 1);
      refused.pump();
      expect(refused.b.tunOut).toHaveLength(0);
      expect(refused.b.dev.peers).toHaveLength(0);
      expect(refused.b.dev.counters.handshakeInvalid).toBeGreaterThan(0);

      const asked: string[] = [];
      const { a, b, pump } = makePair({
        wire, clock, bWithoutPeer: true,
        admitB: (key) => {
          asked.push(encodeKey(key));
          return { name: 'admitted', publicKey: key, presharedKey: new Uint8Array(32), endpoint: null, allowedIps: [parsePrefix('10.99.0.1/32')!], persistentKeepalive: 0 };
        },
      });
      a.dev.outbound([ping], 1);
      pump();
      expect(asked).toEqual([encodeKey(a.dev.identity.publicKey)]); // the initiator's authenticated key, once
      expect(b.dev.peers.map((p) => p.name)).toEqual(['admitted']);
      expect(b.tunOut.map((p) => Buffer.from(p))).toEqual([Buffer.from(ping)]);
      b.dev.outbound([pong], 1);
      pump();
      expect(a.tunOut.map((p) => Buffer.from(p))).toEqual([Buffer.from(pong)]);
    });

    test('a removed peer: its session no longer carries data, its handshakes are refused, its slot is reused', () => {
      const clock = { t: 1000 };
      const { a, b, pump } = makePair({ wire, clock });
      a.dev.outbound([ping], 1);
      pump();
      expect(b.tunOut).toHaveLength(1);
      const peerOfA = b.dev.peers[0]!;
      const slot = peerOfA.slot;
      expect(b.dev.removePeer(peerOfA)).toBe(true);
      expect(b.dev.removePeer(peerOfA)).toBe(false);
      expect(b.dev.peers).toHaveLength(0);
      const dropped = () => Object.entries(b.dev.counters).filter(([k]) => /^drop|Invalid|malformed/i.test(k)).reduce((n, [, v]) => n + Number(v), 0);
      const before = dropped();
      a.dev.outbound([ping], 1); // A still has its session: B cannot open it any more
      pump();
      expect(b.tunOut).toHaveLength(1);
      expect(dropped()).toBeGreaterThan(before);
      clock.t += 200_000; // A's session expires; its new handshakes are refused (no admitInitiator)
      a.dev.tick();
      a.dev.outbound([ping], 1);
      pump();
      expect(b.tunOut).toHaveLength(1);
      expect(b.dev.counters.handshakeInvalid).toBeGreaterThan(0);
      b.dev.outbound([pong], 1);
      expect(b.dev.counters.dropNoRoute).toBe(1);
      const again = b.dev.addPeer({ name: 'back', publicKey: a.dev.identity.publicKey, presharedKey: new Uint8Array(32), endpoint: null, allowedIps: [parsePrefix('10.99.0.1/32')!], persistentKeepalive: 0 });
      expect(again?.slot).toBe(slot);
    });

    test('an offered endpoint starts a handshake at once; an authenticated endpoint is never overridden', () => {
      const clock = { t: 1000 };
      const { a, b, pump } = makePair({ wire, clock });
      const peerOfB = b.dev.peers[0]!;
      expect(peerOfB.endpoint).toBeNull();
      b.dev.offerEndpoint(peerOfB, { family: 4, address: A_ADDR, port: 51820 });
      expect(b.wire).toHaveLength(1); // an initiation, sent right away
      pump();
      b.dev.outbound([pong], 1);
      pump();
      expect(a.tunOut).toHaveLength(1);
      // B has heard from A: a later offer (a stale record, a wrong guess) changes nothing.
      b.dev.offerEndpoint(peerOfB, { family: 4, address: '192.0.2.99', port: 9 });
      expect(peerOfB.endpoint?.address).toBe(A_ADDR);
      expect(b.wire).toHaveLength(0);
    });

    test('a new candidate while a handshake is pending gets an initiation now, not after REKEY_TIMEOUT', () => {
      const clock = { t: 1000 };
      const { b } = makePair({ wire, clock });
      const peerOfB = b.dev.peers[0]!;
      b.dev.offerEndpoint(peerOfB, { family: 4, address: '192.0.2.1', port: 1 });
      b.dev.offerEndpoint(peerOfB, { family: 4, address: '192.0.2.2', port: 2 });
      expect(b.wire.map((d) => d.address)).toEqual(['192.0.2.1', '192.0.2.2']);
      b.dev.offerEndpoint(peerOfB, { family: 4, address: '192.0.2.2', port: 2 }); // the same again: nothing new
      expect(b.wire).toHaveLength(2);
    });
  });

  describe('device: hostile input', () => {
    test('a replayed transport datagram is dropped and counted', () => {
      const clock = { t: 1000 };
      const { a, b, pump } = makePair({ wire, clock });
      a.dev.outbound([ping], 1);
      pump();
      a.dev.outbound([ping], 1);
      const d = a.wire.splice(0)[0];
      if (!d) throw new Error('no datagram');
      const copy = d.data.slice();
      b.dev.inbound(d.data, 51820, A_ADDR);
      b.dev.inbound(copy, 51820, A_ADDR);
      expect(b.tunOut).toHaveLength(2);
      expect(b.dev.counters.dropReplay).toBe(1);
    });

    test('a bit-flipped transport datagram fails authentication and is counted', () => {
      const clock = { t: 1000 };
      const { a, b, pump } = makePair({ wire, clock });
      a.dev.outbound([ping], 1);
      pump();
      a.dev.outbound([ping], 1);
      const d = a.wire.splice(0)[0];
      if (!d) throw new Error('no datagram');
      d.data[30] = (d.data[30] ?? 0) ^ 0x01; // payload, past the native header-protection sample
      b.dev.inbound(d.data, 51820, A_ADDR);
      expect(b.tunOut).toHaveLength(1);
      expect(b.dev.counters.dropAuth).toBe(1);
    });

    test('garbage of every size is counted and dropped without throwing', () => {
      const clock = { t: 1000 };
      const { b } = makePair({ wire, clock });
      for (let n = 0; n < 300; n++) {
        const g = crypto.getRandomValues(new Uint8Array(n));
        if (n > 4 && n % 3 === 0) g[0] = 1 + (n % 4); // plausible types too
        if (n > 4 && n % 3 === 0) g[1] = g[2] = g[3] = 0;
        b.dev.inbound(g, 4444, '192.168.77.9');
      }
      expect(b.tunOut).toHaveLength(0);
      expect(b.wire).toHaveLength(0); // never a reply to garbage
      const c = b.dev.counters;
      expect(c.dropMalformed + c.dropUnknownIndex + c.handshakeBadMac + c.handshakeInvalid).toBe(300);
    });

    test('a replayed initiation is refused by its timestamp', () => {
      const clock = { t: 1000 };
      const { a, b } = makePair({ wire, clock });
      a.dev.outbound([ping], 1);
      const init = a.wire.splice(0)[0];
      if (!init) throw new Error('no initiation');
      const copy = init.data.slice();
      b.dev.inbound(init.data, 51820, A_ADDR);
      clock.t += 5000;
      b.dev.inbound(copy, 51820, A_ADDR);
      expect(b.dev.counters.initiationsReceived).toBe(1);
      expect(b.dev.counters.handshakeReplay).toBe(1);
    });
  });

  describe('device: timers', () => {
    test('rekey after REKEY_AFTER_TIME keeps data flowing with a new session', () => {
      const clock = { t: 1000 };
      const { a, b, pump } = makePair({ wire, clock, timers: '[timers]\nrekey_after_time = 3\nreject_after_time = 6' });
      a.dev.outbound([ping], 1);
      pump();
      const first = a.dev.peers[0]?.current?.localIndex;
      for (let s = 0; s < 10; s++) {
        clock.t += 1000;
        a.dev.outbound([ping], 1);
        b.dev.outbound([pong], 1);
        a.dev.tick();
        b.dev.tick();
        pump();
      }
      expect(b.tunOut).toHaveLength(11);
      expect(a.tunOut).toHaveLength(10);
      expect(a.dev.peers[0]?.stats.handshakes).toBeGreaterThanOrEqual(3);
      expect(a.dev.peers[0]?.current?.localIndex).not.toBe(first);
    });

    test('a lost initiation is retransmitted after REKEY_TIMEOUT, then gives up after REKEY_ATTEMPT_TIME', () => {
      const clock = { t: 1000 };
      const { a } = makePair({ wire, clock, timers: '[timers]\nrekey_timeout = 1\nrekey_attempt_time = 3' });
      a.dev.outbound([ping], 1);
      expect(a.wire.splice(0)).toHaveLength(1);
      let sent = 0;
      for (let i = 0; i < 100; i++) {
        clock.t += 100;
        a.dev.tick();
        sent += a.wire.splice(0).length;
      }
      expect(sent).toBe(3);
      expect(a.dev.peers[0]?.handshake).toBeNull();
      expect(a.dev.peers[0]?.staged).toHaveLength(0);
    });

    test('a passive keepalive answers received data when nothing else goes back', () => {
      const clock = { t: 1000 };
      const { a, b, pump } = makePair({ wire, clock });
      a.dev.outbound([ping], 1);
      pump();
      clock.t += 10_001;
      b.dev.tick();
      expect(b.dev.counters.keepalivesSent).toBe(1);
      pump();
      expect(a.dev.counters.keepalivesReceived).toBeGreaterThanOrEqual(1);
    });

    test('after the peer restarts (loses its keys) traffic resumes without operator action', () => {
      const clock = { t: 1000 };
      const { a, b, pump, restartB } = makePair({ wire, clock, timers: '[timers]\nkeepalive_timeout = 2\nrekey_timeout = 1' });
      a.dev.outbound([ping], 1);
      pump();
      restartB();
      for (let s = 0; s < 40 && b.tunOut.length < 3; s++) {
        clock.t += 250;
        a.dev.outbound([ping], 1);
        a.dev.tick();
        b.dev.tick();
        pump();
      }
      expect(b.tunOut.length).toBeGreaterThanOrEqual(3);
      // Old-session packets before the new handshake: an unknown index (WireGuard), or bytes the
      // native wire cannot tell from noise without a session.
      expect(b.dev.counters.dropUnknownIndex + b.dev.counters.dropMalformed).toBeGreaterThan(0);
    });
  });

  describe('device: cookies under load', () => {
    test('with load threshold 0 the responder answers with a cookie; the initiator retries with mac2 and completes', () => {
      const clock = { t: 1000 };
      const { a, b, pump } = makePair({ wire, clock, timers: '[timers]\nrekey_timeout = 1', limitsB: '[limits]\ncookie_after_handshakes_per_second = 0' });
      a.dev.outbound([ping], 1);
      pump();
      expect(b.dev.counters.cookieRepliesSent).toBe(1);
      expect(a.dev.counters.cookieRepliesReceived).toBe(1);
      expect(b.tunOut).toHaveLength(0);
      for (let i = 0; i < 15; i++) {
        clock.t += 100;
        a.dev.tick();
        pump();
      }
      expect(b.tunOut).toHaveLength(1);
      expect(b.dev.counters.cookieRepliesSent).toBe(1); // the retry carried a valid mac2
    });
  });
});
}

describe('peer quality probes (native wire)', () => {
  test('a probe is echoed in the session; the round trip is measured; a lost echo counts as loss', () => {
    const clock = { t: 1000 };
    const { a, b, pump } = makePair({ wire: 'native', clock });
    a.dev.outbound([ping], 1);
    pump();
    const peerB = a.dev.peers[0]!;
    expect(a.dev.probe(peerB, clock.t)).toBe(true);
    clock.t += 12; // the echo comes back 12 ms later
    pump();
    expect(b.tunOut).toHaveLength(1); // the probe is not an IP packet: nothing reached B's TUN
    expect(peerB.quality.figures(clock.t)).toMatchObject({ rttMs: 12, probesSent: 1, probesAnswered: 1 });
    // A probe whose echo is lost.
    a.dev.probe(peerB, clock.t);
    a.wire.length = 0;
    clock.t += 5000;
    expect(peerB.quality.figures(clock.t).lossPercent).toBe(50);
    // B's view of A: up.
    expect(b.dev.peers[0]!.quality.figures(clock.t).upSeconds).not.toBeNull();
  });

  test('the WireGuard wire does not probe (a stock peer would take it for an IP packet)', () => {
    const clock = { t: 1000 };
    const { a, pump } = makePair({ wire: 'wireguard', clock });
    a.dev.outbound([ping], 1);
    pump();
    expect(a.dev.probe(a.dev.peers[0]!, clock.t)).toBe(false);
  });
});
