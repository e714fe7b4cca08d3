// The main thread's side of the outbound worker (outbound-worker.ts): it publishes each peer's
// sendable keypair into the send table, queues the main thread's own data (packets that waited
// for a handshake, keepalives) into the command ring, and rings the worker's doorbell.

import { createRing, ringViews, HEAD, TAIL, type RingLayout, type RingViews } from '../../ffi/tun-ring.ts';
import { createDoorbell, ring, closeDoorbell } from '../../ffi/dataplane.ts';
import { SendTable, F_COUNTER, F_TX_PACKETS, F_TX_BYTES, F_LAST_SENT, F_LAST_DATA_SENT, F_FIRST_UNANSWERED } from './send-table.ts';
import { CMD_KEEPALIVE, CMD_SLOT_SHIFT, STATS_INTS, S_FORWARDED, S_NO_ROUTE, S_SEND_DROPPED, S_SENT, S_MALFORMED } from './outbound-protocol.ts';
import { parseIp, type Endpoint } from './packet/addr.ts';
import { RouteShare, type SharedRoute } from './route-share.ts';
import { WireKeyShare } from './wire-share.ts';
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

export interface SentFigures {
  counter: number;
  txPackets: number;
  txBytes: number;
  lastSentMs: number;
  lastDataSentMs: number;
  firstUnansweredMs: number;
}

export class OutboundHost implements DataSender {
  readonly table: SendTable;
  readonly commands: RingLayout;
  readonly doorbell: number;
  readonly stats = new SharedArrayBuffer(STATS_INTS * 4);
  readonly wireKeys = new WireKeyShare();
  readonly routes: RouteShare;
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

  /** Worker-wide figures for status. */
  counters(): { sent: number; forwardedToMain: number; noRoute: number; sendDropped: number; malformed: number } {
    const c = this.counts;
    return {
      sent: Atomics.load(c, S_SENT),
      forwardedToMain: Atomics.load(c, S_FORWARDED),
      noRoute: Atomics.load(c, S_NO_ROUTE),
      sendDropped: Atomics.load(c, S_SEND_DROPPED),
      malformed: Atomics.load(c, S_MALFORMED),
    };
  }

  /** Wakes the worker (e.g. to see STOP) and releases the doorbell. */
  close(): void {
    ring(this.doorbell);
  }

  dispose(): void {
    closeDoorbell(this.doorbell);
  }
}
