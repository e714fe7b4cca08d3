// The outbound data plane, on its own thread: TUN → cryptokey route → seal → sendmmsg, with no
// hop through the main thread. Only what this thread cannot send (no sendable keypair: the
// peer needs a handshake) goes to the main thread, through the TUN ring (ffi/tun-ring.ts).
// The main thread sends its own data (packets that waited for a handshake, keepalives) through
// the command ring, so every transport counter of a keypair is used by this thread alone.
//
// Stages, per wake-up:
//   1. wait     poll(2) on the TUN fd and the main thread's doorbell (an eventfd)
//   2. commands seal and send what the main thread queued
//   3. read     up to 64 packets per call from the TUN (ffi/tun-batch.c)
//   4. route    destination → peer slot (allowed IPs); its keypair from the send table
//   5. seal     header, padding, AEAD in place, header protection (seal.ts)
//   6. send     one sendmmsg(2) per batch on the daemon's UDP socket
//   7. report   counters and send times into the send table for the main thread's timers
//
// Why: handing each packet to the main thread cost 0.1–1.3 ms per hop on an idle appliance
// (an Atomics.waitAsync wake-up), and the main thread also decrypts everything inbound.

import { readBatch } from '../../ffi/tun-batch.ts';
import { sendBatch, waitTunOrWake, drain, WAIT_TUN, WAIT_WAKE } from '../../ffi/dataplane.ts';
import { HEAD, TAIL, STOP, RING_FULL, createRing, ringViews, type WorkerReport } from '../../ffi/tun-ring.ts';
import { RouteShare } from './route-share.ts';
import type { RouteTable } from './route-table.ts';
import { ipVersion, dstOffset } from './packet/ip.ts';
import { SendTable, newSendState, F_COUNTER, F_TX_PACKETS, F_TX_BYTES, F_LAST_SENT, F_LAST_DATA_SENT, F_FIRST_UNANSWERED, type SendState } from './send-table.ts';
import { buildDatagram, datagramSize } from './seal.ts';
import { NativeWire, WIREGUARD_WIRE, type Wire } from '../wire/wire.ts';
import { WIRE_SLOTS, WireKeyShare } from './wire-share.ts';
import { aeadFor, type InPlaceAead } from '../session/aead.ts';
import { REJECT_AFTER_MESSAGES } from '../session/keypair.ts';
import { parsePrefix } from './packet/addr.ts';
import { EXIT_ABSENT, EXIT_UNSET, MAX_DEVICE_EXITS, exitIndexOf } from './exit-ports.ts';

import { WARM_PACKETS, CMD_LEN_MASK, CMD_SLOT_SHIFT, CMD_SLOT_MASK, CMD_KEEPALIVE, S_SENT, S_FORWARDED, S_NO_ROUTE, S_SEND_DROPPED, S_MALFORMED, type OutboundInit } from './outbound-protocol.ts';

const BATCH = 64;
const SEND_SLOTS = 256;
const now = (): number => performance.timeOrigin + performance.now();

/** The system calls of the loop: the native ones, or made-up ones for the warm-up. */
export interface WorkerIo {
  wait(fd: number, doorbell: number, timeoutMs: number): number;
  drain(doorbell: number): void;
  read(fd: number, data: Uint8Array, lens: Int32Array, max: number, slotBytes: number): number;
  send(fd: number, arena: Uint8Array, offs: Int32Array, lens: Int32Array, addrs: Uint8Array, n: number): number;
}

const NATIVE_IO: WorkerIo = {
  wait: waitTunOrWake,
  drain,
  read: (fd, data, lens, max, slotBytes) => readBatch(fd, 0, data, lens, max, slotBytes, 0, max),
  send: sendBatch,
};

export function runOutbound(init: OutboundInit, io: WorkerIo = NATIVE_IO): WorkerReport {
  // One wire per key slot of the network secret (wire-share.ts); each session seals with its own.
  const keyShare = new WireKeyShare(init.wire.headerKeys);
  const headerKeys = Array.from({ length: WIRE_SLOTS }, () => new Uint8Array(32));
  const unused = new Uint8Array(32); // the worker opens no handshakes
  const wires: Wire[] = headerKeys.map((header) => init.wire.kind === 'native'
    ? new NativeWire({ header, envelope: unused, psk: unused }, init.wire.padding)
    : WIREGUARD_WIRE);
  let keysVersion = -1;
  const currentKeys = (): void => {
    const v = keyShare.version();
    if (v === keysVersion) return;
    keysVersion = v;
    headerKeys.forEach((k, slot) => keyShare.read(slot, k));
  };
  const aeads: InPlaceAead[] = [aeadFor('chacha20poly1305'), aeadFor('aes256gcm')];
  const table = new SendTable(init.slots, init.table);
  const stats = new Int32Array(init.stats);
  const share = new RouteShare(init.routeCapacity, init.routes);
  let routeGen = -1;
  let routes: RouteTable<number> | null = null;
  /** Per-device exits' slots (exit-ports.ts), and whether any is in use. */
  const exitSlots = new Int32Array(MAX_DEVICE_EXITS).fill(EXIT_UNSET);
  let deviceExits = false;
  /** Rebuilds the trie when the main thread published new routes (peers joined or left). */
  const currentRoutes = (): RouteTable<number> | null => {
    const g = share.generation();
    if (g !== routeGen) {
      const fresh = share.read(exitSlots);
      if (fresh) {
        routes = fresh;
        routeGen = g;
        deviceExits = exitSlots.some((s) => s !== EXIT_UNSET);
      }
    }
    return routes;
  };
  /** The slot for a packet whose destination matched only the default route, by its source port. */
  const deviceExit = (pkt: Uint8Array, slot: number | null): number | null => {
    const k = exitIndexOf(pkt, pkt.length);
    if (k < 0) return slot;
    const s = exitSlots[k]!;
    return s === EXIT_UNSET ? slot : s === EXIT_ABSENT ? null : s;
  };
  const tun = ringViews(init.ring); // to the main thread: packets we cannot send
  const cmd = ringViews(init.commands); // from the main thread: plaintexts to seal and send
  const cmdMask = init.commands.slots - 1;
  const tunMask = init.ring.slots - 1;

  // Batch of outgoing datagrams.
  const slotBytes = init.mtu + 64;
  const arena = new Uint8Array(SEND_SLOTS * slotBytes);
  const offs = new Int32Array(SEND_SLOTS);
  const lens = new Int32Array(SEND_SLOTS);
  const addrs = new Uint8Array(SEND_SLOTS * 16);
  let n = 0;
  // Packets read from the TUN.
  const readData = new Uint8Array(BATCH * slotBytes);
  const readLens = new Int32Array(BATCH);
  const nonce = new Uint8Array(12);
  // Per peer: the keypair generation this thread's counter belongs to.
  const state: SendState[] = Array.from({ length: init.slots }, newSendState);
  const ok: boolean[] = new Array<boolean>(init.slots).fill(false);
  const seenSeq = new Int32Array(init.slots).fill(-1);
  const counterGen = new Int32Array(init.slots).fill(-1);
  const counters = new Float64Array(init.slots);
  let headOut = Atomics.load(tun.control, HEAD);

  const refresh = (slot: number): boolean => {
    const seq = table.seq(slot);
    if (seq !== seenSeq[slot]) {
      ok[slot] = table.read(slot, state[slot]!);
      seenSeq[slot] = table.seq(slot);
    }
    const st = state[slot]!;
    if (!ok[slot] || now() - st.createdMs >= init.rejectAfterMs) return false;
    if (counterGen[slot] !== st.keyGen) {
      counterGen[slot] = st.keyGen;
      counters[slot] = 0;
    }
    return counters[slot]! < REJECT_AFTER_MESSAGES;
  };

  const flush = (): void => {
    if (n === 0) return;
    const sent = io.send(init.sockFd, arena, offs, lens, addrs, n);
    const took = sent < 0 ? 0 : sent;
    Atomics.add(stats, S_SENT, took);
    if (took < n) Atomics.add(stats, S_SEND_DROPPED, n - took);
    n = 0;
  };

  const seal = (slot: number, pkt: Uint8Array, keepalive: boolean, t: number): void => {
    if (n === SEND_SLOTS) flush();
    const st = state[slot]!;
    const wire = wires[st.wireSlot] ?? wires[0]!;
    const padded = keepalive ? pkt.length : wire.paddedSize(pkt.length, init.mtu);
    const size = datagramSize(wire, padded);
    const off = n * slotBytes;
    const counter = counters[slot]!;
    counters[slot] = counter + 1;
    buildDatagram(arena.subarray(off, off + size), wire, aeads[st.suite]!, st.key, nonce, st.remoteIndex, counter, pkt, padded);
    offs[n] = off;
    lens[n] = size;
    const a = n * 16;
    addrs[a] = 2; // AF_INET, little-endian u16
    addrs[a + 1] = 0;
    addrs[a + 2] = st.port >>> 8;
    addrs[a + 3] = st.port & 0xff;
    addrs[a + 4] = st.ipv4 >>> 24;
    addrs[a + 5] = (st.ipv4 >>> 16) & 0xff;
    addrs[a + 6] = (st.ipv4 >>> 8) & 0xff;
    addrs[a + 7] = st.ipv4 & 0xff;
    n++;
    table.set(slot, F_COUNTER, counter + 1);
    table.set(slot, F_LAST_SENT, t);
    if (!keepalive) {
      table.set(slot, F_TX_PACKETS, table.get(slot, F_TX_PACKETS) + 1);
      table.set(slot, F_TX_BYTES, table.get(slot, F_TX_BYTES) + pkt.length);
      table.set(slot, F_LAST_DATA_SENT, t);
      if (table.get(slot, F_FIRST_UNANSWERED) === 0) table.set(slot, F_FIRST_UNANSWERED, t);
    }
  };

  /** Hands a packet we cannot send to the main thread (it stages it and starts a handshake). */
  const forward = (pkt: Uint8Array): void => {
    const tail = Atomics.load(tun.control, TAIL);
    if (((headOut - tail) | 0) >= init.ring.slots) {
      Atomics.add(tun.control, RING_FULL, 1);
      return; // the main thread is behind; a packet waiting for a handshake may be dropped
    }
    const slot = headOut & tunMask;
    tun.data.set(pkt, slot * init.ring.slotSize);
    tun.lens[slot] = pkt.length;
    headOut = (headOut + 1) | 0;
    Atomics.add(stats, S_FORWARDED, 1);
  };

  const commands = (t: number): void => {
    let tail = Atomics.load(cmd.control, TAIL);
    const head = Atomics.load(cmd.control, HEAD);
    while (tail !== head) {
      const i = tail & cmdMask;
      const word = cmd.lens[i] ?? 0;
      const len = word & CMD_LEN_MASK;
      const slot = (word >>> CMD_SLOT_SHIFT) & CMD_SLOT_MASK;
      const off = i * init.commands.slotSize;
      if (slot < init.slots && refresh(slot)) seal(slot, cmd.data.subarray(off, off + len), (word & CMD_KEEPALIVE) !== 0, t);
      tail = (tail + 1) | 0;
    }
    Atomics.store(cmd.control, TAIL, tail);
  };

  while (Atomics.load(tun.control, STOP) === 0) {
    const w = io.wait(init.fd, init.doorbell, init.pollMs);
    if (w < 0) return { type: 'error', errno: -w, call: 'poll', message: `waiting for the TUN device failed (errno ${-w})` };
    if (w & WAIT_WAKE) io.drain(init.doorbell);
    const t = now();
    currentKeys();
    commands(t);
    if (w & WAIT_TUN) {
      const table = currentRoutes();
      for (let round = 0; round < 4; round++) {
        const got = io.read(init.fd, readData, readLens, BATCH, slotBytes);
        if (got < 0) return { type: 'error', errno: -got, call: 'read', message: `reading from the TUN device failed (errno ${-got})` };
        for (let k = 0; k < got; k++) {
          const pkt = readData.subarray(k * slotBytes, k * slotBytes + (readLens[k] ?? 0));
          const version = ipVersion(pkt, pkt.length);
          if (version === 0) {
            Atomics.add(stats, S_MALFORMED, 1);
            continue;
          }
          let slot = table ? table.lookup(pkt, dstOffset(version), version) : null;
          if (deviceExits && version === 4 && table!.matchedBits === 0) slot = deviceExit(pkt, slot);
          if (slot === null) Atomics.add(stats, S_NO_ROUTE, 1);
          else if (refresh(slot)) seal(slot, pkt, false, t);
          else forward(pkt);
        }
        if (got < BATCH) break;
      }
    }
    flush();
    if (headOut !== Atomics.load(tun.control, HEAD)) {
      Atomics.store(tun.control, HEAD, headOut);
      Atomics.notify(tun.control, HEAD);
    }
  }
  return { type: 'stopped' };
}

/**
 * Runs this same loop over made-up traffic first, so JavaScriptCore has optimised it before the
 * first real packet (appliance/warmup.ts says why): two peers (one per cipher) in a scratch send
 * table, a few packets per wake-up, every datagram sealed and handed to a send that discards it.
 * Nothing touches the TUN, the socket or the real tables.
 */
export function warmOutbound(real: OutboundInit, wakeups = WARM_PACKETS): { read: number; sealed: number } {
  const table = new SendTable(2);
  for (const slot of [0, 1]) {
    table.publish(slot, {
      remoteIndex: 0x01020304 + slot, suite: slot, keyGen: 1, port: 9, ipv4: 0x7f000001, wireSlot: 0,
      createdMs: now(), key: crypto.getRandomValues(new Uint8Array(32)),
    });
  }
  const routes = new RouteShare(2);
  routes.write([{ prefix: parsePrefix('10.254.0.1/32')!, slot: 0 }, { prefix: parsePrefix('10.254.0.2/32')!, slot: 1 }]);
  const ring = createRing(8, real.ring.slotSize);
  const stop = ringViews(ring).control;
  const size = Math.min(1280, real.mtu);
  let calls = 0;
  let read = 0;
  let sealed = 0;
  const io: WorkerIo = {
    wait: () => {
      if (++calls >= wakeups) Atomics.store(stop, STOP, 1);
      return calls % 16 === 0 ? WAIT_TUN | WAIT_WAKE : WAIT_TUN;
    },
    drain: () => {},
    read: (_fd, data, lens, max, slotBytes) => {
      const got = Math.min(max, 1 + (calls % 3));
      for (let k = 0; k < got; k++) {
        const at = k * slotBytes;
        const len = k === 0 ? 64 : size;
        data.fill(0, at, at + 20);
        data[at] = 0x45;
        data[at + 2] = len >> 8;
        data[at + 3] = len & 0xff;
        data[at + 8] = 64;
        data[at + 9] = 17;
        data.set([10, 254, 0, 1 + ((calls + k) & 1)], at + 16);
        lens[k] = len;
      }
      read += got;
      return got;
    },
    send: (_fd, _arena, _offs, _lens, _addrs, n) => {
      sealed += n;
      return n;
    },
  };
  const stats = new SharedArrayBuffer(real.stats.byteLength);
  const commands = createRing(8, real.commands.slotSize);
  runOutbound({ ...real, fd: -1, doorbell: -1, sockFd: -1, ring, commands, table: table.sab, slots: 2, stats, routes: routes.sab, routeCapacity: 2 }, io);
  return { read, sealed };
}
