// The main thread's side of the data-plane worker (outbound-worker.ts): it publishes each peer's
// sendable keypair into the send table and each session's receive keys into the receive table
// (recv-table.ts), queues the main thread's own data (packets that waited for a handshake,
// keepalives) into the command ring and rings the worker's doorbell, and takes what the worker
// hands over from the socket (receive()) and what it received per peer (takeReceived()).

import { createRing, ringViews, HEAD, TAIL, STOP, type RingLayout, type RingViews } from '../../ffi/tun-ring.ts';
import { createDoorbell, ring, closeDoorbell } from '../../ffi/dataplane.ts';
import { SendTable, F_COUNTER, F_TX_PACKETS, F_TX_BYTES, F_LAST_SENT, F_LAST_DATA_SENT, F_FIRST_UNANSWERED } from './send-table.ts';
import {
  CMD_KEEPALIVE, CMD_SLOT_SHIFT, STATS_INTS, S_FORWARDED, S_NO_ROUTE, S_SEND_DROPPED, S_SENT, S_MALFORMED,
  S_RX, S_RX_TO_MAIN, S_RX_AUTH, S_RX_REPLAY, S_RX_SOURCE, S_RX_TUN_DROPPED, S_RX_RING_FULL, S_RX_TOO_BIG, S_RX_ERRORS,
  IN_RECORD, IN_SLOTS, S_RX_RAW, S_FASTPATH, recvSlotBytes,
} from './outbound-protocol.ts';
import { parseIp, type Endpoint } from './packet/addr.ts';
import { RouteShare, type SharedRoute } from './route-share.ts';
import { WireKeyShare } from './wire-share.ts';
import { ReceiveTable, receiveCapacity, RX_BYTES, RX_KEEPALIVES, RX_LAST, RX_PACKETS, STATE_OPEN, STATE_TO_MAIN } from './recv-table.ts';
import type { Keypair } from '../session/keypair.ts';

/** What the device needs from whoever seals and sends its data (in-process, or this worker). */
export interface DataSender {
  publish(slot: number, kp: Keypair | null, endpoint: Endpoint | null): void;
  send(slot: number, pkt: Uint8Array, keepalive: boolean): void;
  flush(): void;
  sent(slot: number): SentFigures;
  clearUnanswered(slot: number): void;
  /** The full allowed-IPs route list (prefix → peer slot) after peers changed, and the
   * per-device exits' slots (dataplane/exit-ports.ts). */
  setRoutes(routes: readonly SharedRoute[], exits?: readonly number[]): void;
  /** The native wire's header key of a key slot of the network secret (wire-share.ts), or none. */
  setWireKey(slot: number, header: Uint8Array | null): void;
  /** How many peers the data plane can hold. */
  readonly slots: number;
}

/** What the device needs from whoever opens its peers' data messages off the main thread. */
export interface DataReceiver {
  /** Live local indices must differ in these low bits (session/index-table.ts). */
  readonly indexMask: number;
  /** A session's receive keys; its replay window becomes the shared one. `confirmed` false: the
   * worker hands its messages to the main thread until confirmSession. */
  addSession(kp: Keypair, peerSlot: number, confirmed: boolean, fastUntilMs: number): void;
  confirmSession(kp: Keypair): void;
  removeSession(kp: Keypair): void;
  /** What the worker received for a peer slot since the last call (lastMs 0: nothing). */
  takeReceived(slot: number): ReceivedFigures;
  /** The worker's receive counts since the last call. */
  takeCounts(): ReceiveCounts;
}

/** Datagrams received, handed over as received (raw), dropped for a failed tag, a replay, a source
 * the peer may not use, a full TUN, a main thread too far behind (busy), a size past a slot. */
export interface ReceiveCounts {
  received: number;
  raw: number;
  auth: number;
  replay: number;
  source: number;
  tunFull: number;
  busy: number;
  tooBig: number;
}

export interface ReceivedFigures {
  lastMs: number;
  packets: number;
  bytes: number;
  keepalives: number;
}

export interface SentFigures {
  counter: number;
  txPackets: number;
  txBytes: number;
  lastSentMs: number;
  lastDataSentMs: number;
  firstUnansweredMs: number;
}

export class OutboundHost implements DataSender, DataReceiver {
  readonly table: SendTable;
  readonly commands: RingLayout;
  readonly doorbell: number;
  readonly stats = new SharedArrayBuffer(STATS_INTS * 4);
  readonly wireKeys = new WireKeyShare();
  readonly routes: RouteShare;
  readonly recv: ReceiveTable;
  readonly indexMask: number;
  /** Datagrams the worker hands this thread (IN_* records, outbound-protocol.ts). */
  readonly inbound: RingLayout;
  /** Worker counts as last taken (takeCounts). */
  private readonly countsSeen = new Int32Array(STATS_INTS);
  private readonly countDeltas: ReceiveCounts = { received: 0, raw: 0, auth: 0, replay: 0, source: 0, tunFull: 0, busy: 0, tooBig: 0 };
  /** Per slot, the worker's receive figures as last taken. */
  private readonly rxSeen: Float64Array;
  private readonly rxFigures: ReceivedFigures = { lastMs: 0, packets: 0, bytes: 0, keepalives: 0 };
  private readonly cmd: RingViews;
  private readonly counts = new Int32Array(this.stats);
  private head = 0;
  private pending = false;
  private readonly figures: SentFigures = { counter: 0, txPackets: 0, txBytes: 0, lastSentMs: 0, lastDataSentMs: 0, firstUnansweredMs: 0 };

  constructor(readonly slots: number, mtu: number) {
    this.table = new SendTable(slots);
    this.commands = createRing(256, Math.ceil((mtu + 64) / 8) * 8);
    this.cmd = ringViews(this.commands);
    this.doorbell = createDoorbell();
    this.routes = new RouteShare(slots * 8);
    this.recv = new ReceiveTable(receiveCapacity(slots), slots);
    this.indexMask = this.recv.mask;
    this.rxSeen = new Float64Array(slots * 4);
    this.inbound = createRing(IN_SLOTS, IN_RECORD + recvSlotBytes(mtu));
  }

  takeCounts(): ReceiveCounts {
    const c = this.counts;
    const seen = this.countsSeen;
    const take = (i: number): number => {
      const v = Atomics.load(c, i);
      const d = (v - (seen[i] ?? 0)) | 0;
      seen[i] = v;
      return d;
    };
    const d = this.countDeltas;
    d.received = take(S_RX);
    d.raw = take(S_RX_RAW);
    d.auth = take(S_RX_AUTH);
    d.replay = take(S_RX_REPLAY);
    d.source = take(S_RX_SOURCE);
    d.tunFull = take(S_RX_TUN_DROPPED);
    d.busy = take(S_RX_RING_FULL);
    d.tooBig = take(S_RX_TOO_BIG);
    return d;
  }

  addSession(kp: Keypair, peerSlot: number, confirmed: boolean, fastUntilMs: number): void {
    kp.replay = this.recv.add(kp.localIndex, {
      state: confirmed ? STATE_OPEN : STATE_TO_MAIN,
      peerSlot,
      suite: kp.cipher === 'aes256gcm' ? 1 : 0,
      wireSlot: kp.wireSlot,
      fastUntilMs,
    }, kp.receiveKey);
  }

  confirmSession(kp: Keypair): void {
    this.recv.setState(kp.localIndex, STATE_OPEN);
  }

  removeSession(kp: Keypair): void {
    this.recv.remove(kp.localIndex);
  }

  takeReceived(slot: number): ReceivedFigures {
    const f = this.rxFigures;
    const seen = this.rxSeen;
    const o = slot * 4;
    const last = this.recv.received(slot, RX_LAST);
    if (last === seen[o + RX_LAST]) {
      f.lastMs = 0;
      return f;
    }
    const packets = this.recv.received(slot, RX_PACKETS);
    const bytes = this.recv.received(slot, RX_BYTES);
    const keepalives = this.recv.received(slot, RX_KEEPALIVES);
    f.lastMs = last;
    f.packets = packets - (seen[o + RX_PACKETS] ?? 0);
    f.bytes = bytes - (seen[o + RX_BYTES] ?? 0);
    f.keepalives = keepalives - (seen[o + RX_KEEPALIVES] ?? 0);
    seen[o + RX_LAST] = last;
    seen[o + RX_PACKETS] = packets;
    seen[o + RX_BYTES] = bytes;
    seen[o + RX_KEEPALIVES] = keepalives;
    return f;
  }

  setWireKey(slot: number, header: Uint8Array | null): void {
    this.wireKeys.set(slot, header);
  }

  setRoutes(routes: readonly SharedRoute[], exits: readonly number[] = []): void {
    this.routes.write(routes, exits);
  }

  publish(slot: number, kp: Keypair | null, endpoint: Endpoint | null): void {
    const ip = endpoint?.family === 4 ? parseIp(endpoint.address) : null;
    if (!kp || !endpoint || !ip) {
      this.table.publish(slot, null);
      return;
    }
    this.table.publish(slot, {
      remoteIndex: kp.remoteIndex,
      suite: kp.cipher === 'aes256gcm' ? 1 : 0,
      keyGen: kp.localIndex | 0, // unique per keypair: a new key restarts the worker's counter
      port: endpoint.port,
      ipv4: (((ip[0] ?? 0) << 24) | ((ip[1] ?? 0) << 16) | ((ip[2] ?? 0) << 8) | (ip[3] ?? 0)) >>> 0,
      wireSlot: kp.wireSlot,
      createdMs: kp.createdMs,
      key: kp.sendKey,
    });
  }

  send(slot: number, pkt: Uint8Array, keepalive: boolean): void {
    const { control, lens, data } = this.cmd;
    const tail = Atomics.load(control, TAIL);
    if (((this.head - tail) | 0) >= this.commands.slots) return; // worker behind: dropped, like a full queue
    const i = this.head & (this.commands.slots - 1);
    data.set(pkt, i * this.commands.slotSize);
    lens[i] = pkt.length | (slot << CMD_SLOT_SHIFT) | (keepalive ? CMD_KEEPALIVE : 0);
    this.head = (this.head + 1) | 0;
    Atomics.store(control, HEAD, this.head);
    this.pending = true;
  }

  flush(): void {
    if (!this.pending) return;
    this.pending = false;
    ring(this.doorbell);
  }

  sent(slot: number): SentFigures {
    const t = this.table;
    const f = this.figures;
    f.counter = t.get(slot, F_COUNTER);
    f.txPackets = t.get(slot, F_TX_PACKETS);
    f.txBytes = t.get(slot, F_TX_BYTES);
    f.lastSentMs = t.get(slot, F_LAST_SENT);
    f.lastDataSentMs = t.get(slot, F_LAST_DATA_SENT);
    f.firstUnansweredMs = t.get(slot, F_FIRST_UNANSWERED);
    return f;
  }

  clearUnanswered(slot: number): void {
    this.table.set(slot, F_FIRST_UNANSWERED, 0);
  }

  /**
   * Delivers the datagrams the worker hands this thread, in order, until close(): `kind` IN_RAW
   * (as received) or IN_OPENED (opened in place, counter accepted; `index` its session), the
   * source, and the time the worker received it. `data` is a copy the handler may keep.
   */
  async receive(handler: (kind: number, data: Uint8Array, port: number, ipv4: number, index: number, receivedMs: number) => void): Promise<void> {
    const { control, lens, data } = ringViews(this.inbound);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const { slots, slotSize } = this.inbound;
    let tail = Atomics.load(control, TAIL);
    while (Atomics.load(control, STOP) === 0) {
      const head = Atomics.load(control, HEAD);
      if (head === tail) {
        const wait = Atomics.waitAsync(control, HEAD, head);
        if (wait.async) await wait.value;
        continue;
      }
      for (; tail !== head; tail = (tail + 1) | 0) {
        const base = (tail & (slots - 1)) * slotSize;
        const len = lens[tail & (slots - 1)] ?? 0;
        const copy = data.slice(base + IN_RECORD, base + IN_RECORD + len);
        try {
          handler(view.getUint8(base), copy, view.getUint16(base + 2), view.getUint32(base + 4), view.getUint32(base + 8), view.getFloat64(base + 16));
        } catch (e) {
          Atomics.store(control, TAIL, (tail + 1) | 0);
          throw e; // a bug in the handler: surfaces as an unhandled rejection
        }
      }
      Atomics.store(control, TAIL, tail);
    }
  }

  /** Worker-wide figures for status. */
  counters(): {
    sent: number; forwardedToMain: number; noRoute: number; sendDropped: number; malformed: number;
    received: number; receivedToMain: number; dropAuth: number; dropReplay: number; dropSourceNotAllowed: number;
    dropTunFull: number; dropToMainFull: number; dropTooBig: number; receiveErrors: number;
    /** 2: the worker's whole loop runs native code; 1: native batches; 0: JavaScript only. */
    fastPath: number;
  } {
    const c = this.counts;
    return {
      sent: Atomics.load(c, S_SENT),
      forwardedToMain: Atomics.load(c, S_FORWARDED),
      noRoute: Atomics.load(c, S_NO_ROUTE),
      sendDropped: Atomics.load(c, S_SEND_DROPPED),
      malformed: Atomics.load(c, S_MALFORMED),
      received: Atomics.load(c, S_RX),
      receivedToMain: Atomics.load(c, S_RX_TO_MAIN),
      dropAuth: Atomics.load(c, S_RX_AUTH),
      dropReplay: Atomics.load(c, S_RX_REPLAY),
      dropSourceNotAllowed: Atomics.load(c, S_RX_SOURCE),
      dropTunFull: Atomics.load(c, S_RX_TUN_DROPPED),
      dropToMainFull: Atomics.load(c, S_RX_RING_FULL),
      dropTooBig: Atomics.load(c, S_RX_TOO_BIG),
      receiveErrors: Atomics.load(c, S_RX_ERRORS),
      fastPath: Atomics.load(c, S_FASTPATH),
    };
  }

  /** Wakes the worker (e.g. to see STOP), ends receive(), and releases the doorbell. */
  close(): void {
    const control = ringViews(this.inbound).control;
    Atomics.store(control, STOP, 1);
    Atomics.notify(control, HEAD);
    ring(this.doorbell);
  }

  dispose(): void {
    closeDoorbell(this.doorbell);
  }
}
