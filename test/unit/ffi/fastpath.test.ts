// The data plane's native paths (ffi/fastpath.c) against the TypeScript that is their reference:
// datagrams sealed by seal.ts are judged by rx_batch, packets sealed by tx_batch are opened by
// wire.ts and the AEADs — through real sockets on loopback (a UDP pair for the wire, a Unix
// datagram pair standing in for the TUN, which keeps packet boundaries the same way).

import { afterAll, describe, expect, test } from 'bun:test';
import { dlopen, FFIType } from 'bun:ffi';
import { loadFastPath, RX_AUTH, RX_DELIVER, RX_KEEPALIVE, RX_OPENED, RX_RAW, RX_RESULT_INTS, RX_SOURCE, TX_FORWARD, TX_NO_ROUTE, TX_RESULT_INTS, TX_SENT } from '../../../ffi/fastpath.ts';
import { loadSodium } from '../../../ffi/sodium.ts';
import { closeFd, openUdpSocket, sendTo } from '../../../ffi/dataplane.ts';
import { ReceiveTable, STATE_OPEN, STATE_TO_MAIN } from '../../../appliance/dataplane/recv-table.ts';
import { SendTable, F_COUNTER, F_TX_PACKETS, F_FIRST_UNANSWERED } from '../../../appliance/dataplane/send-table.ts';
import { RouteShare } from '../../../appliance/dataplane/route-share.ts';
import { buildDatagram, datagramSize, transportNonce } from '../../../appliance/dataplane/seal.ts';
import { NativeWire, WIREGUARD_WIRE, type DataHeader, type Wire } from '../../../appliance/wire/wire.ts';
import { aeadFor } from '../../../appliance/session/aead.ts';
import { parsePrefix } from '../../../appliance/dataplane/packet/addr.ts';
import { ipv4 } from '../../../appliance/warmup.ts';

const fast = loadFastPath();
const sodium = loadSodium();
const LOOPBACK = 0x7f000001;
const libc = dlopen('libc.so.6', {
  socketpair: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  send: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
  recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
});
const fds: number[] = [];
afterAll(() => fds.forEach(closeFd));

function udp(): { fd: number; port: number } {
  const s = openUdpSocket(0);
  fds.push(s.fd);
  return s;
}

/** A pair of Unix datagram sockets: what is sent on one is read, packet by packet, from the other. */
function fakeTun(): [number, number] {
  const sv = new Int32Array(2);
  expect(libc.symbols.socketpair(1, 2 | 0o4000, 0, sv)).toBe(0); // AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK
  fds.push(sv[0]!, sv[1]!);
  return [sv[0]!, sv[1]!];
}

const shared = (bytes: number) => new SharedArrayBuffer(bytes);

describe.skipIf(sodium === null)('native data path (ffi/fastpath.c)', () => {
  test('compiles and loads where libsodium is (else the daemon silently runs the slower JavaScript paths)', () => {
    expect(fast).not.toBeNull();
  });

  for (const [kind, suite] of [['native', 1], ['native', 0], ['wireguard', 0]] as const) {
    test(`rx_batch judges what seal.ts sealed (${kind} wire, ${suite ? 'AES-256-GCM' : 'ChaCha20-Poly1305'})`, () => {
      const header = crypto.getRandomValues(new Uint8Array(32));
      const wire: Wire = kind === 'native' ? new NativeWire({ header, envelope: header, psk: header }, 'bucket') : WIREGUARD_WIRE;
      const keys = new Uint8Array(shared(64));
      keys.set(header, 0);
      const key = crypto.getRandomValues(new Uint8Array(32));
      const table = new ReceiveTable(64, 4);
      const index = 0x1234_5603;
      table.add(index, { state: STATE_OPEN, peerSlot: 2, suite, wireSlot: 0, fastUntilMs: Infinity }, key);
      const unconfirmed = 0x1234_5604;
      table.add(unconfirmed, { state: STATE_TO_MAIN, peerSlot: 2, suite, wireSlot: 0, fastUntilMs: Infinity }, key);
      const rx = udp();
      const peer = udp();
      const other = udp();
      // The peer's endpoint (send table) is `peer`'s socket; its allowed IPs 10.9.0.2/32.
      const send = new SendTable(4);
      send.publish(2, { remoteIndex: 1, suite, keyGen: 1, port: peer.port, ipv4: LOOPBACK, wireSlot: 0, createdMs: 0, key });
      const routes = new RouteShare(8);
      routes.write([{ prefix: parsePrefix('10.9.0.2/32')!, slot: 2 }, { prefix: parsePrefix('10.9.0.3/32')!, slot: 3 }]);
      const aead = aeadFor(suite ? 'aes256gcm' : 'chacha20poly1305');
      const nonce = new Uint8Array(12);
      const seal = (pkt: Uint8Array, counter: number, idx = index, padded = wire.paddedSize(pkt.length, 1420)) => {
        const d = new Uint8Array(datagramSize(wire, padded));
        buildDatagram(d, wire, aead, key, nonce, idx, counter, pkt, padded);
        return d;
      };
      const pkt = ipv4([10, 9, 0, 2], [10, 9, 0, 1], 300);
      const flipped = seal(pkt, 2);
      flipped[flipped.length - 3]! ^= 1;
      const control = new Uint8Array(40);
      control[0] = 0x15;
      const cases: [Uint8Array, number, number][] = [
        [seal(pkt, 1), peer.fd, RX_DELIVER],
        [flipped, peer.fd, RX_AUTH],
        [seal(pkt, 3, 0x0bad_0003), peer.fd, RX_RAW], // no session at that index
        [seal(pkt, 4), other.fd, RX_OPENED], // from another address: the main thread roams
        [seal(pkt, 5, unconfirmed), peer.fd, RX_OPENED], // a responder's session, not yet confirmed
        [seal(new Uint8Array(kind === 'native' ? 16 : 0), 6, index, kind === 'native' ? 16 : 0), peer.fd, RX_KEEPALIVE],
        [seal(ipv4([10, 9, 0, 3], [10, 9, 0, 1], 100), 7), peer.fd, RX_SOURCE], // another member's address
        [seal(control, 8), peer.fd, RX_OPENED],
        [crypto.getRandomValues(new Uint8Array(200)), peer.fd, RX_RAW],
      ];
      for (const [d, from] of cases) expect(sendTo(from, d, rx.port, LOOPBACK)).toBe(d.length);
      const slot = 2048;
      const arena = new Uint8Array(shared(32 * slot));
      const res = new Int32Array(shared(32 * RX_RESULT_INTS * 4));
      const got = fast!.rx_batch(rx.fd, arena, slot, new Uint8Array(shared(512)), 32, keys,
        kind === 'native' ? 1 | 2 : 0, table.words, table.mask, send.ints, new Uint8Array(routes.sab), 1000, res);
      expect(got).toBe(cases.length);
      expect(Array.from({ length: got }, (_, i) => res[i * RX_RESULT_INTS])).toEqual(cases.map((c) => c[2]));
      // The delivered packet: opened in place where the verdict says, with its session and counter.
      const r = res.subarray(0, RX_RESULT_INTS);
      expect(r[1]! >>> 0).toBe(index);
      expect([r[2], r[3], r[4]]).toEqual([1, 0, 2]);
      expect(Array.from(arena.slice(r[5]!, r[5]! + r[6]!))).toEqual(Array.from(pkt));
      // What a datagram handed over as received looks like: untouched (the main thread opens it).
      const raw = RX_RESULT_INTS * 2;
      expect(Array.from(arena.slice(2 * slot, 2 * slot + res[raw + 7]!))).toEqual(Array.from(cases[2]![0]));
      // The same datagram opened by the TypeScript path agrees.
      const hdr: DataHeader = { index: 0, counter: 0 };
      const again = seal(pkt, 9);
      expect(wire.readData(again, hdr)).toBe(true);
      expect(aead.open(key, transportNonce(hdr.counter, nonce), again, wire.headerBytes, again.length)).toBe(true);
    });
  }

  for (const kind of ['native', 'wireguard'] as const) {
    test(`tx_batch seals what wire.ts and the AEAD open, counts in the send table, and leaves the rest (${kind} wire)`, () => {
      const header = crypto.getRandomValues(new Uint8Array(32));
      const wire: Wire = kind === 'native' ? new NativeWire({ header, envelope: header, psk: header }, 'bucket') : WIREGUARD_WIRE;
      const keys = new Uint8Array(shared(64));
      keys.set(header, 32); // this peer's session is under key slot 1 (the previous secret, after a rotation)
      const key = crypto.getRandomValues(new Uint8Array(32));
      const out = udp();
      const far = udp();
      const send = new SendTable(4);
      send.publish(1, { remoteIndex: 0x0a0b_0c0d, suite: 1, keyGen: 7, port: far.port, ipv4: LOOPBACK, wireSlot: kind === 'native' ? 1 : 0, createdMs: 1000, key });
      const routes = new RouteShare(8);
      routes.write([{ prefix: parsePrefix('10.9.0.0/24')!, slot: 1 }, { prefix: parsePrefix('10.8.0.0/24')!, slot: 3 }]);
      const [tunIn, tunOut] = fakeTun();
      const packets = [ipv4([10, 9, 9, 1], [10, 9, 0, 5], 60), ipv4([10, 9, 9, 1], [10, 9, 0, 6], 1400), ipv4([10, 9, 9, 1], [172, 16, 0, 1], 60), ipv4([10, 9, 9, 1], [10, 8, 0, 1], 80)];
      for (const p of packets) expect(Number(libc.symbols.send(tunIn, p, p.length, 0))).toBe(p.length);
      const slot = 1504;
      const rd = new Uint8Array(shared(64 * slot));
      const outArena = new Uint8Array(shared(64 * slot));
      const res = new Int32Array(shared(64 * TX_RESULT_INTS * 4));
      const cfg = new Int32Array(shared(32));
      cfg.set([kind === 'native' ? 1 : 0, 1, 1420, 4, 0]);
      const counters = new Float64Array(shared(32));
      const gens = new Int32Array(shared(16)).fill(-1);
      const r = fast!.tx_batch(tunOut, rd, slot, 64, out.fd, outArena, slot, new Uint8Array(shared(1024)), cfg,
        send.floats, send.ints, send.keys, new Uint8Array(routes.sab), keys, counters, gens, 2000, 180_000, res);
      expect(r & 0xffff).toBe(4);
      expect(r >>> 16).toBe(2); // two datagrams went out
      expect(Array.from({ length: 4 }, (_, k) => res[k * TX_RESULT_INTS])).toEqual([TX_SENT, TX_SENT, TX_NO_ROUTE, TX_FORWARD]);
      expect([send.get(1, F_COUNTER), send.get(1, F_TX_PACKETS), send.get(1, F_FIRST_UNANSWERED)]).toEqual([2, 2, 2000]);
      expect(counters[1]).toBe(2);
      const buf = new Uint8Array(2048);
      const aead = aeadFor('aes256gcm');
      const nonce = new Uint8Array(12);
      const hdr: DataHeader = { index: 0, counter: 0 };
      for (const [k, p] of packets.slice(0, 2).entries()) {
        const n = Number(libc.symbols.recv(far.fd, buf, buf.length, 0x40));
        const d = buf.slice(0, n);
        expect(n).toBe(datagramSize(wire, wire.paddedSize(p.length, 1420)));
        expect(wire.readData(d, hdr)).toBe(true);
        expect([hdr.index, hdr.counter]).toEqual([0x0a0b_0c0d, k]);
        expect(aead.open(key, transportNonce(hdr.counter, nonce), d, wire.headerBytes, d.length)).toBe(true);
        expect(Array.from(d.slice(wire.headerBytes, wire.headerBytes + p.length))).toEqual(Array.from(p));
      }
      // A new key generation restarts the counter; keys older than REJECT_AFTER_TIME send nothing.
      send.publish(1, { remoteIndex: 0x0a0b_0c0e, suite: 1, keyGen: 8, port: far.port, ipv4: LOOPBACK, wireSlot: kind === 'native' ? 1 : 0, createdMs: 1000, key });
      libc.symbols.send(tunIn, packets[0]!, 60, 0);
      expect(fast!.tx_batch(tunOut, rd, slot, 64, out.fd, outArena, slot, new Uint8Array(shared(1024)), cfg,
        send.floats, send.ints, send.keys, new Uint8Array(routes.sab), keys, counters, gens, 3000, 180_000, res) >>> 16).toBe(1);
      expect(counters[1]).toBe(1);
      libc.symbols.send(tunIn, packets[0]!, 60, 0);
      fast!.tx_batch(tunOut, rd, slot, 64, out.fd, outArena, slot, new Uint8Array(shared(1024)), cfg,
        send.floats, send.ints, send.keys, new Uint8Array(routes.sab), keys, counters, gens, 1000 + 180_000, 180_000, res);
      expect(res[0]).toBe(TX_FORWARD);
    });
  }
});
