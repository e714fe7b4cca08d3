// The data plane, on its own thread, both ways with no hop through the main thread:
//   outbound  TUN → cryptokey route → seal → sendmmsg
//   inbound   recvmmsg → header → session (recv-table.ts) → open → replay → source check → TUN
// Only what this thread cannot do goes to the main thread: outbound, packets of a peer with no
// sendable keypair (it needs a handshake), through the TUN ring (ffi/tun-ring.ts); inbound,
// handshakes, DHT messages and data messages that are not plain IP packets for a known endpoint
// (opened and accepted already), through the inbound ring (IN_* records). The main thread sends
// its own data (packets that waited for a handshake, keepalives) through the command ring, so
// every transport counter of a keypair is used by this thread alone.
//
// Stages, per wake-up:
//   1. wait     poll(2) on the TUN fd, the UDP socket and the main thread's doorbell (an eventfd)
//   2. commands seal and send what the main thread queued
//   3. receive  up to 32 datagrams per recvmmsg(2); open, check, write the packets to the TUN
//   4. read     up to 64 packets per call from the TUN (ffi/tun-batch.c) — also right after a
//               receive, whose packets' answers the kernel may have queued already
//   5. route    destination → peer slot (allowed IPs); its keypair from the send table
//   6. seal     header, padding, AEAD in place, header protection (seal.ts)
//   7. send     one sendmmsg(2) per batch on the daemon's UDP socket
//   8. report   counters, send and receive times into the tables for the main thread's timers
//
// Where libsodium is, the same stages run as one native call (ffi/fastpath.c dp_run) and this
// loop only does what that returns for: the main thread's queued sends, publishing ring heads,
// and wake-ups while devices name exits (routed here by source port). This TypeScript loop is
// the fallback and the reference the native code is tested against.
//
// Why: handing each packet to the main thread cost 0.1–1.3 ms per hop on an idle appliance
// (an Atomics.waitAsync wake-up), and the main thread's event loop added ~100 µs to each
// received datagram (scripts/bench/rtt-trace.ts).

import { readBatch } from '../../ffi/tun-batch.ts';
import { sendBatch, waitTunOrWake, drain, recvBatch, writeBatch, WAIT_TUN, WAIT_WAKE, WAIT_UDP } from '../../ffi/dataplane.ts';
import { HEAD, TAIL, STOP, RING_FULL, createRing, ringViews, type WorkerReport } from '../../ffi/tun-ring.ts';
import { RouteShare } from './route-share.ts';
import type { RouteTable } from './route-table.ts';
import { ipVersion, dstOffset, srcOffset, ipPacketLength } from './packet/ip.ts';
import { TAG_SIZE } from './packet/transport.ts';
import { ReceiveTable, newReceiveState, STATE_OPEN, STATE_NONE } from './recv-table.ts';
import type { DataHeader } from '../wire/wire.ts';
import { ptr } from 'bun:ffi';
import {
  loadFastPath, P, I, D, R_JS, R_PUBLISH, R_STOP, R_TIMEOUT, R_WAKE, RX_AUTH, RX_DELIVER, RX_KEEPALIVE, RX_OPENED, RX_RAW, RX_RESULT_INTS, RX_SOURCE, RX_TOO_BIG,
  TX_FORWARD, TX_JS, TX_MALFORMED, TX_NO_ROUTE, TX_RESULT_INTS, TX_SENT,
} from '../../ffi/fastpath.ts';
import { SendTable, newSendState, F_COUNTER, F_TX_PACKETS, F_TX_BYTES, F_LAST_SENT, F_LAST_DATA_SENT, F_FIRST_UNANSWERED, type SendState } from './send-table.ts';
import { buildDatagram, datagramSize, transportNonce } from './seal.ts';
import { NativeWire, WIREGUARD_WIRE, type Wire } from '../wire/wire.ts';
import { WIRE_SLOTS, WireKeyShare } from './wire-share.ts';
import { aeadFor, type InPlaceAead } from '../session/aead.ts';
import { REJECT_AFTER_MESSAGES } from '../session/keypair.ts';
import { parsePrefix } from './packet/addr.ts';
import { EXIT_ABSENT, EXIT_UNSET, MAX_DEVICE_EXITS, exitIndexOf } from './exit-ports.ts';

import {
  WARM_PACKETS, CMD_LEN_MASK, CMD_SLOT_SHIFT, CMD_SLOT_MASK, CMD_KEEPALIVE, S_SENT, S_FORWARDED, S_NO_ROUTE, S_SEND_DROPPED, S_MALFORMED,
  S_RX, S_RX_TO_MAIN, S_RX_AUTH, S_RX_REPLAY, S_RX_SOURCE, S_RX_TUN_DROPPED, S_RX_RING_FULL, S_RX_TOO_BIG, S_RX_ERRORS, S_RX_RAW, S_FASTPATH,
  recvSlotBytes, IN_RECORD, IN_RAW, IN_OPENED, type OutboundInit,
} from './outbound-protocol.ts';

const BATCH = 64;
const RECV_BATCH = 32;
const EBADF = 9;
const ENOTSOCK = 88;
const SEND_SLOTS = 256;
const now = (): number => performance.timeOrigin + performance.now();

/** The system calls of the loop: the native ones, or made-up ones for the warm-up. */
export interface WorkerIo {
  wait(fd: number, doorbell: number, timeoutMs: number, udpFd: number): number;
  drain(doorbell: number): void;
  read(fd: number, data: Uint8Array, lens: Int32Array, max: number, slotBytes: number): number;
  send(fd: number, arena: Uint8Array, offs: Int32Array, lens: Int32Array, addrs: Uint8Array, n: number): number;
  /** Inbound only (a worker that owns the UDP socket). */
  recv?(fd: number, arena: Uint8Array, slotBytes: number, lens: Int32Array, addrs: Uint8Array, max: number): number;
  write?(fd: number, arena: Uint8Array, offs: Int32Array, lens: Int32Array, n: number): number;
}

export const NATIVE_IO: WorkerIo = {
  wait: waitTunOrWake,
  drain,
  read: (fd, data, lens, max, slotBytes) => readBatch(fd, 0, data, lens, max, slotBytes, 0, max),
  send: sendBatch,
  recv: recvBatch,
  write: writeBatch,
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
  /** Slots with a header key (all zero: unused), which received datagrams are tried under. */
  const wireUsable: boolean[] = headerKeys.map(() => false);
  const currentKeys = (): void => {
    const v = keyShare.version();
    if (v === keysVersion) return;
    keysVersion = v;
    headerKeys.forEach((k, slot) => {
      keyShare.read(slot, k);
      wireUsable[slot] = k.some((b) => b !== 0);
      fastKeys.set(k, slot * 32);
    });
  };
  const aeads: InPlaceAead[] = [aeadFor('chacha20poly1305'), aeadFor('aes256gcm')];
  const table = new SendTable(init.slots, init.table);
  const sendTable = table;
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
  const readData = new Uint8Array(new SharedArrayBuffer(BATCH * slotBytes));
  const readLens = new Int32Array(BATCH);
  const nonce = new Uint8Array(12);
  // Per peer: the keypair generation this thread's counter belongs to.
  const state: SendState[] = Array.from({ length: init.slots }, newSendState);
  const ok: boolean[] = new Array<boolean>(init.slots).fill(false);
  const seenSeq = new Int32Array(init.slots).fill(-1);
  // Shared memory (it never moves), so the native path (ffi/fastpath.c) counts in them too.
  const counterGen = new Int32Array(new SharedArrayBuffer(init.slots * 4)).fill(-1);
  const counters = new Float64Array(new SharedArrayBuffer(init.slots * 8));
  // The native paths both ways (ffi/fastpath.c), where libsodium is; made-up I/O (the warm-up,
  // tests) runs the JavaScript ones.
  const fast = io === NATIVE_IO ? loadFastPath() : null;
  const txOut = new Uint8Array(new SharedArrayBuffer(fast ? BATCH * slotBytes : 8));
  const txAddrs = new Uint8Array(new SharedArrayBuffer(BATCH * 16));
  const txResults = new Int32Array(new SharedArrayBuffer(BATCH * TX_RESULT_INTS * 4));
  const txCfg = new Int32Array(new SharedArrayBuffer(8 * 4));
  txCfg[0] = init.wire.kind === 'native' ? 1 : 0;
  txCfg[1] = init.wire.padding === 'off' ? 0 : init.wire.padding === 'bucket' ? 1 : 2;
  txCfg[2] = init.mtu;
  txCfg[3] = init.slots;
  /** The header keys of both key slots, for the native paths. */
  const fastKeys = new Uint8Array(new SharedArrayBuffer(WIRE_SLOTS * 32));
  let headOut = Atomics.load(tun.control, HEAD);

  /** The slot's published state, re-read when the main thread changed it: false when it has none. */
  const known = (slot: number): boolean => {
    const seq = table.seq(slot);
    if (seq !== seenSeq[slot]) {
      ok[slot] = table.read(slot, state[slot]!);
      seenSeq[slot] = table.seq(slot);
    }
    return ok[slot]!;
  };
  const refresh = (slot: number): boolean => {
    const st = state[slot]!;
    if (!known(slot) || now() - st.createdMs >= init.rejectAfterMs) return false;
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

  // ---------------------------------------------------------------- inbound
  const udp = init.udpFd ?? -1;
  const recv = udp >= 0 ? new ReceiveTable(init.recvCapacity!, init.slots, init.recv, init.rx) : null;
  const session = newReceiveState();
  const hdr: DataHeader = { index: 0, counter: 0 };
  const RECV_SLOT_BYTES = recvSlotBytes(init.mtu);
  // Shared memory never moves: the native receive path keeps no pointer, but is handed these each call.
  const rArena = new Uint8Array(new SharedArrayBuffer(udp >= 0 ? RECV_BATCH * RECV_SLOT_BYTES : 8));
  const rLens = new Int32Array(new SharedArrayBuffer(RECV_BATCH * 4));
  const rAddrs = new Uint8Array(new SharedArrayBuffer(RECV_BATCH * 16));
  // The native receive path (ffi/receive.c), where libsodium is: one call opens a whole batch.
  const rx = udp >= 0 ? fast : null;
  const rxResults = new Int32Array(new SharedArrayBuffer(RECV_BATCH * RX_RESULT_INTS * 4));
  const routeBytes = new Uint8Array(init.routes);
  const wOffs = new Int32Array(new SharedArrayBuffer(RECV_BATCH * 4));
  const wLens = new Int32Array(new SharedArrayBuffer(RECV_BATCH * 4));
  const rNonce = new Uint8Array(12);
  const inLayout = init.inbound ?? createRing(2, 576);
  const inRing = ringViews(inLayout);
  const inView = new DataView(inRing.data.buffer, inRing.data.byteOffset, inRing.data.byteLength);
  const inMask = inLayout.slots - 1;
  let headIn = Atomics.load(inRing.control, HEAD);
  const native = init.wire.kind === 'native';
  const h = wires[0]!.headerBytes;

  /** Hands a datagram to the main thread (IN_RAW: as received; IN_OPENED: opened, accepted). */
  const toMain = (off: number, len: number, kind: number, port: number, ip: number, index: number, t: number): void => {
    const tail = Atomics.load(inRing.control, TAIL);
    if (((headIn - tail) | 0) >= inLayout.slots || len + IN_RECORD > inLayout.slotSize) {
      Atomics.add(stats, S_RX_RING_FULL, 1);
      return;
    }
    const slot = headIn & inMask;
    const base = slot * inLayout.slotSize;
    inView.setUint8(base, kind);
    inView.setUint16(base + 2, port);
    inView.setUint32(base + 4, ip);
    inView.setUint32(base + 8, index);
    inView.setFloat64(base + 16, t);
    inRing.data.set(rArena.subarray(off, off + len), base + IN_RECORD);
    inRing.lens[slot] = len;
    headIn = (headIn + 1) | 0;
    Atomics.add(stats, S_RX_TO_MAIN, 1);
    if (kind === IN_RAW) Atomics.add(stats, S_RX_RAW, 1);
  };

  /** Opens datagram k of the batch: its IP packet is queued for the TUN (true), or it went to the main thread or was dropped. */
  const receiveOne = (k: number, t: number, routes: RouteTable<number> | null): boolean => {
    const len = rLens[k]!;
    if (len < 0) {
      Atomics.add(stats, S_RX_TOO_BIG, 1);
      return false;
    }
    const off = k * RECV_SLOT_BYTES;
    const a = k * 16;
    const port = (rAddrs[a + 2]! << 8) | rAddrs[a + 3]!;
    const ip = ((rAddrs[a + 4]! << 24) | (rAddrs[a + 5]! << 16) | (rAddrs[a + 6]! << 8) | rAddrs[a + 7]!) >>> 0;
    const d = rArena.subarray(off, off + len);
    // The session: under either key slot's header key (one after a rotation), as the main thread tries.
    let found = false;
    for (let ws = 0; ws < WIRE_SLOTS && !found; ws++) {
      if (native && !wireUsable[ws]) continue;
      if (!wires[ws]!.readData(d, hdr)) continue;
      found = recv!.read(hdr.index, session) !== STATE_NONE && session.wireSlot === ws;
      if (!native) break;
    }
    if (!found || hdr.counter < 0 || t >= session.fastUntilMs) {
      toMain(off, len, IN_RAW, port, ip, 0, t); // a handshake, a DHT message, or a session the main thread ends
      return false;
    }
    const counter = hdr.counter;
    if (!aeads[session.suite]!.open(session.key, transportNonce(counter, rNonce), d, h, len)) {
      Atomics.add(stats, S_RX_AUTH, 1);
      return false;
    }
    if (!recv!.accept(hdr.index, counter, REJECT_AFTER_MESSAGES)) {
      Atomics.add(stats, S_RX_REPLAY, 1);
      return false;
    }
    const slot = session.peerSlot;
    table.set(slot, F_FIRST_UNANSWERED, 0); // answered: no new handshake for want of a reply
    const plen = len - h - TAG_SIZE;
    if (session.state !== STATE_OPEN || !known(slot) || state[slot]!.port !== port || state[slot]!.ipv4 !== ip) {
      toMain(off, len, IN_OPENED, port, ip, hdr.index, t); // confirms a session, or roams
      return false;
    }
    if (plen === 0 || (native && d[h] === 0)) {
      recv!.count(slot, t, 0, true); // a keepalive
      return false;
    }
    const pkt = d.subarray(h, h + plen);
    const version = ipVersion(pkt, plen);
    const ipLen = version === 0 ? 0 : ipPacketLength(pkt, plen, version);
    if (ipLen === 0 || !routes) {
      toMain(off, len, IN_OPENED, port, ip, hdr.index, t); // relay, probe, control, circuit, peer exchange
      return false;
    }
    // The source must be the peer's: its allowed IPs, or (an exit) internet addresses.
    if (routes.lookup(pkt, srcOffset(version as 4 | 6), version as 4 | 6) !== slot &&
        !(version === 4 && routes.matchedBits === 0 && deviceExits && exitSlots.includes(slot))) {
      Atomics.add(stats, S_RX_SOURCE, 1);
      return false;
    }
    recv!.count(slot, t, ipLen, false);
    wOffs[k] = off + h;
    wLens[k] = ipLen;
    return true;
  };

  /** Verdicts of the native receive path (ffi/fastpath.c rx_batch) for a batch: counters accepted
   * here; returns how many packets are queued for the TUN (wOffs, wLens). */
  const judged = (got: number, t: number): number => {
    let n = 0;
    for (let k = 0; k < got; k++) {
      const r = k * RX_RESULT_INTS;
      const verdict = rxResults[r]!;
      if (verdict === RX_TOO_BIG) Atomics.add(stats, S_RX_TOO_BIG, 1);
      else if (verdict === RX_AUTH) Atomics.add(stats, S_RX_AUTH, 1);
      else if (verdict === RX_SOURCE) Atomics.add(stats, S_RX_SOURCE, 1);
      else {
        const a = k * 16;
        const port = (rAddrs[a + 2]! << 8) | rAddrs[a + 3]!;
        const ip = ((rAddrs[a + 4]! << 24) | (rAddrs[a + 5]! << 16) | (rAddrs[a + 6]! << 8) | rAddrs[a + 7]!) >>> 0;
        if (verdict === RX_RAW) {
          toMain(k * RECV_SLOT_BYTES, rxResults[r + 7]!, IN_RAW, port, ip, 0, t);
          continue;
        }
        const index = rxResults[r + 1]! >>> 0;
        if (!recv!.accept(index, (rxResults[r + 2]! >>> 0) + (rxResults[r + 3]! >>> 0) * 0x1_0000_0000, REJECT_AFTER_MESSAGES)) {
          Atomics.add(stats, S_RX_REPLAY, 1);
          continue;
        }
        const slot = rxResults[r + 4]!;
        table.set(slot, F_FIRST_UNANSWERED, 0); // answered: no new handshake for want of a reply
        if (verdict === RX_OPENED) toMain(k * RECV_SLOT_BYTES, rxResults[r + 7]!, IN_OPENED, port, ip, index, t);
        else if (verdict === RX_KEEPALIVE) recv!.count(slot, t, 0, true);
        else if (verdict === RX_DELIVER) {
          recv!.count(slot, t, rxResults[r + 6]!, false);
          wOffs[n] = rxResults[r + 5]!;
          wLens[n] = rxResults[r + 6]!;
          n++;
        }
      }
    }
    return n;
  };

  /** The JavaScript receive path for a batch; returns how many packets are queued for the TUN. */
  const opened = (got: number, t: number, routes: RouteTable<number> | null): number => {
    let n = 0;
    for (let k = 0; k < got; k++) {
      if (receiveOne(k, t, routes)) {
        wOffs[n] = wOffs[k]!;
        wLens[n] = wLens[k]!;
        n++;
      }
    }
    return n;
  };

  /** Receives what waits on the socket; returns whether it wrote anything to the TUN (or -errno). */
  const receive = (t: number): boolean | number => {
    const routes = rx ? null : currentRoutes();
    let flags = native ? 1 : 0;
    for (let ws = 0; ws < WIRE_SLOTS; ws++) if (wireUsable[ws]) flags |= 2 << ws;
    let wrote = false;
    for (let round = 0; round < 4; round++) {
      const got = rx
        ? rx.rx_batch(udp, rArena, RECV_SLOT_BYTES, rAddrs, RECV_BATCH, fastKeys, flags, recv!.words, recv!.mask, sendTable.ints, routeBytes, t, rxResults)
        : io.recv!(udp, rArena, RECV_SLOT_BYTES, rLens, rAddrs, RECV_BATCH);
      if (got < 0) {
        if (-got === EBADF || -got === ENOTSOCK) return got;
        Atomics.add(stats, S_RX_ERRORS, 1);
        break;
      }
      Atomics.add(stats, S_RX, got);
      const n = rx ? judged(got, t) : opened(got, t, routes);
      if (n > 0) {
        const took = io.write!(init.fd, rArena, wOffs, wLens, n);
        if (took < n) Atomics.add(stats, S_RX_TUN_DROPPED, n - took);
        wrote = true;
      }
      if (got < RECV_BATCH) break;
    }
    return wrote;
  };

  /** One packet read from the TUN: routed, then sealed into the batch, or handed to the main thread. */
  const route = (pkt: Uint8Array, t: number, table: RouteTable<number> | null): void => {
    const version = ipVersion(pkt, pkt.length);
    if (version === 0) {
      Atomics.add(stats, S_MALFORMED, 1);
      return;
    }
    let slot = table ? table.lookup(pkt, dstOffset(version), version) : null;
    if (deviceExits && version === 4 && table!.matchedBits === 0) slot = deviceExit(pkt, slot);
    if (slot === null) Atomics.add(stats, S_NO_ROUTE, 1);
    else if (refresh(slot)) seal(slot, pkt, false, t);
    else forward(pkt);
  };

  /** The native path: reads, routes, seals and sends in one call per batch; the rest here. */
  const transmitNative = (t: number, table: RouteTable<number>): number => {
    txCfg[4] = deviceExits ? 1 : 0;
    for (let round = 0; round < 4; round++) {
      const r = fast!.tx_batch(init.fd, readData, slotBytes, BATCH, init.sockFd, txOut, slotBytes, txAddrs, txCfg,
        sendTable.floats, sendTable.ints, sendTable.keys, routeBytes, fastKeys, counters, counterGen, t, init.rejectAfterMs, txResults);
      if (r < 0) return r;
      const got = r & 0xffff;
      const sent = r >>> 16;
      let sealed = 0;
      for (let k = 0; k < got; k++) {
        const v = txResults[k * TX_RESULT_INTS]!;
        if (v === TX_SENT) sealed++;
        else if (v === TX_MALFORMED) Atomics.add(stats, S_MALFORMED, 1);
        else if (v === TX_NO_ROUTE) Atomics.add(stats, S_NO_ROUTE, 1);
        else {
          const off = txResults[k * TX_RESULT_INTS + 1]!;
          const pkt = readData.subarray(off, off + txResults[k * TX_RESULT_INTS + 2]!);
          if (v === TX_FORWARD) forward(pkt);
          else if (v === TX_JS) route(pkt, t, table);
        }
      }
      if (sealed > 0) {
        Atomics.add(stats, S_SENT, sent);
        if (sent < sealed) Atomics.add(stats, S_SEND_DROPPED, sealed - sent);
      }
      if (got < BATCH) break;
    }
    return 0;
  };

  // The whole loop in native code while it needs no JavaScript (fastpath.c dp_run), where the
  // worker receives and libsodium is.
  Atomics.store(stats, S_FASTPATH, rx ? 2 : fast ? 1 : 0);
  const ptrs = new BigUint64Array(new SharedArrayBuffer(P.COUNT * 8));
  const ints = new Int32Array(new SharedArrayBuffer(I.COUNT * 4));
  const dbls = new Float64Array(new SharedArrayBuffer(D.COUNT * 8));
  if (rx) {
    const tunLens = tun.lens;
    const list: [number, Uint8Array | Int32Array | Float64Array][] = [
      [P.R_ARENA, rArena], [P.R_ADDRS, rAddrs], [P.KEYSHARE, new Uint8Array(init.wire.headerKeys)],
      [P.RECV, recv!.words], [P.S_FLOATS, sendTable.floats], [P.S_INTS, sendTable.ints], [P.S_KEYS, sendTable.keys],
      [P.ROUTES, routeBytes], [P.COUNTERS, counters], [P.GENS, counterGen], [P.RX_RES, rxResults], [P.T_READ, readData],
      [P.T_OUT, txOut], [P.T_ADDRS, txAddrs], [P.T_RES, txResults], [P.T_CFG, txCfg], [P.STATS, stats],
      [P.RX_SLOTS, new Float64Array(init.rx!)], [P.IN_CTRL, inRing.control], [P.IN_LENS, inRing.lens], [P.IN_DATA, inRing.data],
      [P.TUN_CTRL, tun.control], [P.TUN_LENS, tunLens], [P.TUN_DATA, tun.data], [P.W_OFFS, wOffs], [P.W_LENS, wLens],
      [P.MUTEX, recv!.mutexBytes],
    ];
    for (const [i, view] of list) ptrs[i] = BigInt(ptr(view));
    ints[I.TUN] = init.fd;
    ints[I.UDP] = udp;
    ints[I.BELL] = init.doorbell;
    ints[I.POLL_MS] = init.pollMs;
    ints[I.R_SLOT] = RECV_SLOT_BYTES;
    ints[I.T_SLOT] = slotBytes;
    ints[I.MASK] = recv!.mask;
    ints[I.IN_SLOTS] = inLayout.slots;
    ints[I.IN_SLOT] = inLayout.slotSize;
    ints[I.TUN_SLOTS] = init.ring.slots;
    ints[I.TUN_SLOT] = init.ring.slotSize;
    ints[I.NATIVE] = native ? 1 : 0;
    ints[I.PEERS] = init.slots;
    dbls[D.REJECT_AFTER] = init.rejectAfterMs;
  }
  const publish = (): void => {
    if (headOut !== Atomics.load(tun.control, HEAD)) {
      Atomics.store(tun.control, HEAD, headOut);
      Atomics.notify(tun.control, HEAD);
    }
    if (headIn !== Atomics.load(inRing.control, HEAD)) {
      Atomics.store(inRing.control, HEAD, headIn);
      Atomics.notify(inRing.control, HEAD);
    }
  };
  const CALLS = ['', 'poll', 'recvmmsg', 'read'];

  while (Atomics.load(tun.control, STOP) === 0) {
    if (rx) {
      txCfg[4] = 0;
      ints[I.IN_HEAD] = headIn;
      ints[I.TUN_HEAD] = headOut;
      dbls[D.OFFSET] = performance.timeOrigin + performance.now() - rx.dp_mono_ms();
      const r = rx.dp_run(ptrs, ints, dbls);
      headIn = ints[I.IN_HEAD]!;
      headOut = ints[I.TUN_HEAD]!;
      publish();
      if (r < 0) {
        const call = CALLS[ints[I.CALL]!] ?? 'poll';
        return { type: 'error', errno: -r, call, message: `the data plane's ${call} failed (errno ${-r})` };
      }
      if (r === R_WAKE) {
        io.drain(init.doorbell);
        currentKeys();
        commands(now());
        flush();
        continue;
      }
      if (r === R_TIMEOUT || r === R_PUBLISH || r === R_STOP) continue;
      // R_JS: devices name exits; this wake-up goes through the loop below, which routes by port.
    }
    let w = io.wait(init.fd, init.doorbell, init.pollMs, udp);
    if (w < 0) return { type: 'error', errno: -w, call: 'poll', message: `waiting for the TUN device failed (errno ${-w})` };
    if (w & WAIT_WAKE) io.drain(init.doorbell);
    const t = now();
    currentKeys();
    commands(t);
    if (w & WAIT_UDP) {
      const r = receive(t);
      if (typeof r === 'number') return { type: 'error', errno: -r, call: 'recvmmsg', message: `receiving on the UDP socket failed (errno ${-r})` };
      if (r) w |= WAIT_TUN; // the kernel may have queued the answers already (a ping's reply)
    }
    if (w & WAIT_TUN) {
      const table = currentRoutes();
      const r = fast && table ? transmitNative(t, table) : 0;
      if (r < 0) return { type: 'error', errno: -r, call: 'read', message: `reading from the TUN device failed (errno ${-r})` };
      if (!fast || !table) {
        for (let round = 0; round < 4; round++) {
          const got = io.read(init.fd, readData, readLens, BATCH, slotBytes);
          if (got < 0) return { type: 'error', errno: -got, call: 'read', message: `reading from the TUN device failed (errno ${-got})` };
          for (let k = 0; k < got; k++) route(readData.subarray(k * slotBytes, k * slotBytes + (readLens[k] ?? 0)), t, table);
          if (got < BATCH) break;
        }
      }
    }
    flush();
    publish();
  }
  return { type: 'stopped' };
}

/**
 * Runs this same loop over made-up traffic first, so JavaScriptCore has optimised it before the
 * first real packet (appliance/warmup.ts says why): two peers (one per cipher) in a scratch send
 * table, a few packets per wake-up, every datagram sealed and handed to a send that discards it;
 * and, when this worker receives (real.udpFd ≥ 0), datagrams sealed for two scratch sessions of
 * those peers, opened and handed to a TUN write that discards them (one in 16 from another
 * address: handed to a scratch ring for the main thread). Nothing touches the TUN, the socket or
 * the real tables.
 */
export function warmOutbound(real: OutboundInit, wakeups = WARM_PACKETS): { read: number; sealed: number; received: number; written: number } {
  const table = new SendTable(2);
  const keys = [0, 1].map(() => crypto.getRandomValues(new Uint8Array(32)));
  for (const slot of [0, 1]) {
    table.publish(slot, {
      remoteIndex: 0x01020304 + slot, suite: slot, keyGen: 1, port: 9, ipv4: 0x7f000001, wireSlot: 0,
      createdMs: now(), key: keys[slot]!,
    });
  }
  const routes = new RouteShare(2);
  routes.write([{ prefix: parsePrefix('10.254.0.1/32')!, slot: 0 }, { prefix: parsePrefix('10.254.0.2/32')!, slot: 1 }]);
  const ring = createRing(8, real.ring.slotSize);
  const stop = ringViews(ring).control;
  const size = Math.min(1280, real.mtu);
  const inbound = (real.udpFd ?? -1) >= 0;
  // Receiving: two sessions at local indices 0x11 and 0x12, sealed as their peers would.
  const recv = new ReceiveTable(16, 2);
  const header = new Uint8Array(32);
  if (real.wire.kind === 'native') new WireKeyShare(real.wire.headerKeys).read(0, header);
  const wire: Wire = real.wire.kind === 'native' ? new NativeWire({ header, envelope: header, psk: header }, real.wire.padding) : WIREGUARD_WIRE;
  const aeads = [aeadFor('chacha20poly1305'), aeadFor('aes256gcm')];
  for (const slot of [0, 1]) recv.add(0x11 + slot, { state: STATE_OPEN, peerSlot: slot, suite: slot, wireSlot: 0, fastUntilMs: Infinity }, keys[slot]!);
  const counters = new Float64Array(2);
  const plain = new Uint8Array(size);
  const nonce = new Uint8Array(12);
  let calls = 0;
  let read = 0;
  let sealed = 0;
  let received = 0;
  let written = 0;
  const ipPacket = (at: Uint8Array, len: number, last: number, src: boolean): void => {
    at.fill(0, 0, 20);
    at[0] = 0x45;
    at[2] = len >> 8;
    at[3] = len & 0xff;
    at[8] = 64;
    at[9] = 17;
    at.set([10, 254, 0, last], src ? 12 : 16);
  };
  const io: WorkerIo = {
    wait: () => {
      if (++calls >= wakeups) Atomics.store(stop, STOP, 1);
      const udp = inbound && calls % 2 === 0 ? WAIT_UDP : 0;
      return (calls % 16 === 0 ? WAIT_TUN | WAIT_WAKE : WAIT_TUN) | udp;
    },
    drain: () => {},
    read: (_fd, data, lens, max, slotBytes) => {
      const got = Math.min(max, 1 + (calls % 3));
      for (let k = 0; k < got; k++) {
        const at = k * slotBytes;
        const len = k === 0 ? 64 : size;
        ipPacket(data.subarray(at), len, 1 + ((calls + k) & 1), false);
        lens[k] = len;
      }
      read += got;
      return got;
    },
    send: (_fd, _arena, _offs, _lens, _addrs, n) => {
      sealed += n;
      return n;
    },
    recv: (_fd, arena, slotBytes, lens, addrs, max) => {
      const got = Math.min(max, 1 + (calls % 3));
      for (let k = 0; k < got; k++) {
        const slot = (calls + k) & 1;
        const len = k === 0 ? 64 : size;
        ipPacket(plain, len, 1 + slot, true);
        const padded = wire.paddedSize(len, real.mtu);
        const dgram = arena.subarray(k * slotBytes, k * slotBytes + datagramSize(wire, padded));
        buildDatagram(dgram, wire, aeads[slot]!, keys[slot]!, nonce, 0x11 + slot, counters[slot]!++, plain.subarray(0, len), padded);
        lens[k] = dgram.length;
        addrs.fill(0, k * 16, k * 16 + 16);
        addrs.set([2, 0, 0, (calls + k) % 16 === 0 ? 10 : 9, 127, 0, 0, 1], k * 16);
      }
      received += got;
      return got;
    },
    write: (_fd, _arena, _offs, _lens, n) => {
      written += n;
      return n;
    },
  };
  const stats = new SharedArrayBuffer(real.stats.byteLength);
  const commands = createRing(8, real.commands.slotSize);
  runOutbound({
    ...real, fd: -1, doorbell: -1, sockFd: -1, ring, commands, table: table.sab, slots: 2, stats, routes: routes.sab, routeCapacity: 2,
    udpFd: inbound ? 0 : -1, recv: recv.sab, recvCapacity: 16, rx: recv.rxSab, inbound: createRing(8, IN_RECORD + recvSlotBytes(real.mtu)),
  }, io);
  return { read, sealed, received, written };
}
