// Onion circuits, the protocol (README "Circuits"; the cryptography is onion.ts). Every node
// can play every part: the source (a home whose devices are set to 2 or 3 hops), a relay (a
// member with [relay] enabled) and the exit (a member with [exit]).
//
// Link messages travel inside the member-to-member sessions (device.ts), so a link is already
// encrypted and authenticated; circuits add one layer per hop inside that. Every link message is
//   [type u8][dir u8: 0 forward, 1 backward][cid u32][length u16][body]   (then session padding)
//   0x16 CELL     body: layers
//   0x17 CREATE   body: e 32                   previous hop → hop: start a key agreement
//   0x18 CREATED  body: f 32 ‖ tag 16          its answer
//   0x19 DESTROY  body: empty                  the circuit is gone (passed along)
// A circuit id names a circuit on one link only (chosen by the hop that sent CREATE), so no id
// is the same on two links. Inside a forward layer, the hop finds a command:
//   RELAY [next layer] · EXTEND [hop key 32][e 32] · DATA [IPv4 packet] · PING [id u32] · END
// Backward, the hop that speaks puts a command inside its own layer (EXTENDED [f 32][tag 16],
// DATA, PONG, ERROR [text]), and every hop before it adds one layer.
//
// What each hop learns: the first knows the source (its link) and the next hop, not the
// destination; a middle hop knows its two neighbours only; the exit knows the destination and
// the hop before it, not the source. The exit rewrites the packet's source address to one of
// its circuit addresses (CIRCUIT_POOL), unique per circuit, so replies find their circuit.

import type { Peer } from '../session/peer.ts';
import { HopInitiator, hopRespond, openLayer, sealLayer, type HopKeys } from './onion.ts';
import { readAddr, rewriteAddr } from './rewrite.ts';

export const CELL = 0x16;
export const CREATE = 0x17;
export const CREATED = 0x18;
export const DESTROY = 0x19;
const FWD = 0;
const BWD = 1;
const LINK_HEADER = 8;

const CMD = { relay: 1, extend: 2, data: 3, ping: 4, end: 5, extended: 6, pong: 7, error: 8 } as const;

/** Addresses an exit gives circuits (in RFC 2544's benchmarking range: never on the internet). */
export const CIRCUIT_POOL = { first: 0xc613_0001 /* 198.19.0.1 */, last: 0xc613_fffe /* 198.19.255.254 */, prefix: '198.19.0.0/16' } as const;
/** The source address every source's circuit packets carry on the wire; the exit replaces it. */
export const SOURCE_PLACEHOLDER = 0xc612_0001; // 198.18.0.1
/** What a source's gateway NATs devices of 2 and 3 hops to (the circuit TUN tells them apart by it). */
export function localCircuitAddr(hops: 2 | 3): number {
  return 0xc612_0000 + hops; // 198.18.0.2, 198.18.0.3
}
/** The circuit TUN's own address (neither a source's nor an exit's circuit address). */
export const CIRCUIT_TUN_ADDRESS = '198.18.0.254/32';
/** The circuit TUN's MTU: a 3-hop cell (3 layers + headers) still fits one overlay packet. */
export const CIRCUIT_MTU = 1280;
/** A build step unanswered this long fails the circuit. */
export const BUILD_TIMEOUT_MS = 3000;
/** End-to-end probes (PING → exit → PONG) every PROBE_MS; unanswered for FAIL_MS: the circuit failed. */
export const PROBE_MS = 1000;
export const FAIL_MS = 2500;

export interface CircuitHost {
  readonly peers: readonly Peer[];
  peerByKey(key: Uint8Array): Peer | undefined;
  /** Queues a link message in `peer`'s session; false without a live direct session. */
  sendLink(peer: Peer, msg: Uint8Array): boolean;
  flush(): void;
  readonly staticPrivate: Uint8Array;
  now(): number;
  log(line: string): void;
  /** Whether this node carries others' circuits as a relay, and ends them as an exit (live settings). */
  canRelay(): boolean;
  canExit(): boolean;
  /** At most this many circuits carried for others. */
  maxCircuits(): number;
  /** Whether `bytes` more may be carried for `member` now (its [relay] member_rate_mbit). */
  carryFor(member: Peer, bytes: number): boolean;
  /** Writes to the circuit TUN (a source: replies for the LAN; an exit: packets for the internet). */
  tunWrite(pkt: Uint8Array): boolean;
}

export interface CircuitCounters {
  built: number;
  buildFailed: number;
  failed: number;
  carried: number;
  refused: number;
  cellsRelayed: number;
  cellsDropped: number;
  exitPackets: number;
  /** Cells that found no live session to the next or previous hop, and packets the circuit TUN refused (full). */
  linkSendFailed: number;
  tunWriteFailed: number;
}

// ------------------------------------------------------------------ relays and exits

interface HopCircuit {
  prev: Peer;
  cidIn: number;
  keys: HopKeys;
  bwd: number;
  next: { peer: Peer; cid: number } | null;
  /** An exit: the circuit's address, and the source address its packets carried. */
  addr: number | null;
  origSrc: number;
  lastMs: number;
}

// ------------------------------------------------------------------ sources

interface Hop {
  key: Uint8Array;
  keys: HopKeys;
  fwd: number;
}

export interface SourceCircuit {
  id: number;
  /** The devices' address at this source (localCircuitAddr): replies are addressed back to it. */
  localAddr: number;
  path: Uint8Array[];
  first: Peer;
  cid: number;
  hops: Hop[];
  pending: HopInitiator | null;
  state: 'building' | 'ready' | 'failed';
  startedMs: number;
  stepMs: number;
  builtMs: number;
  /** Probes: id → sent at; the last answered; the smoothed round trip. */
  probes: Map<number, number>;
  lastPongMs: number;
  rttMs: number | null;
  txPackets: number;
  rxPackets: number;
}

const linkKey = (p: Peer, cid: number) => p.slot * 0x1_0000_0000 + cid;

function concat(head: number[], tail: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  return out;
}

function randomU32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

export class CircuitEngine {
  readonly counters: CircuitCounters = { built: 0, buildFailed: 0, failed: 0, carried: 0, refused: 0, cellsRelayed: 0, cellsDropped: 0, exitPackets: 0, linkSendFailed: 0, tunWriteFailed: 0 };
  private readonly byIn = new Map<number, HopCircuit>();
  private readonly byOut = new Map<number, HopCircuit>();
  private readonly byAddr = new Map<number, HopCircuit>();
  private nextAddr: number = CIRCUIT_POOL.first;
  /** Source circuits by their first link (first hop, cid). */
  private readonly mine = new Map<number, SourceCircuit>();
  private nextId = 1;
  /** Where outgoing cells are built (sendLink copies them into a datagram at once). */
  private readonly scratch = new Uint8Array(LINK_HEADER + CIRCUIT_MTU + 256);

  constructor(private readonly host: CircuitHost) {}

  // ---------------------------------------------------------------- link messages in

  /** A link message from `from` (types 0x16–0x19). */
  onLink(from: Peer, msg: Uint8Array): void {
    const now = this.host.now();
    if (msg.length < LINK_HEADER) return void this.counters.cellsDropped++;
    const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    const type = msg[0];
    const dir = msg[1]!;
    const cid = v.getUint32(2);
    const len = v.getUint16(6);
    if (LINK_HEADER + len > msg.length) return void this.counters.cellsDropped++;
    const body = msg.subarray(LINK_HEADER, LINK_HEADER + len);
    if (type === CREATE && len === 32) return this.onCreate(from, cid, body.slice(), now);
    if (type === CREATED && len === 48) return this.onCreated(from, cid, body.slice(), now);
    if (type === CELL) return this.onCell(from, dir, cid, body, now);
    if (type === DESTROY) return this.onDestroy(from, dir, cid);
    this.counters.cellsDropped++;
  }

  private link(type: number, cid: number, body: Uint8Array, dir: number = FWD): Uint8Array {
    const out = new Uint8Array(LINK_HEADER + body.length);
    this.header(out, type, dir, cid, body.length);
    out.set(body, LINK_HEADER);
    return out;
  }

  private onCreate(from: Peer, cid: number, e: Uint8Array, now: number): void {
    const key = linkKey(from, cid);
    if (this.byIn.has(key)) return;
    if ((!this.host.canRelay() && !this.host.canExit()) || this.byIn.size >= this.host.maxCircuits()) {
      this.counters.refused++;
      this.sendLink(from, this.link(DESTROY, cid, new Uint8Array(0), BWD));
      return;
    }
    const r = hopRespond(this.host.staticPrivate, e);
    if (!r) return;
    this.byIn.set(key, { prev: from, cidIn: cid, keys: r.keys, bwd: 0, next: null, addr: null, origSrc: 0, lastMs: now });
    this.counters.carried++;
    this.sendLink(from, this.link(CREATED, cid, r.reply, BWD));
  }

  private onCreated(from: Peer, cid: number, reply: Uint8Array, now: number): void {
    const mine = this.mine.get(linkKey(from, cid));
    if (mine) return this.sourceStep(mine, reply, now);
    const h = this.byOut.get(linkKey(from, cid));
    if (!h) return;
    h.lastMs = now;
    this.back(h, concat([CMD.extended], reply));
  }

  private onCell(from: Peer, dir: number, cid: number, blob: Uint8Array, now: number): void {
    if (dir === BWD) {
      const mine = this.mine.get(linkKey(from, cid));
      if (mine) return this.sourceCell(mine, blob, now);
      const h = this.byOut.get(linkKey(from, cid));
      if (!h || !this.host.carryFor(h.prev, blob.length)) return void this.counters.cellsDropped++;
      h.lastMs = now;
      // One layer more, in the scratch buffer: [header][counter][blob][tag].
      this.scratch.set(blob, LINK_HEADER + 8);
      this.sendLayered(h.prev, h.cidIn, BWD, h.keys.bwd, ++h.bwd, blob.length);
      this.counters.cellsRelayed++;
      return;
    }
    const h = this.byIn.get(linkKey(from, cid));
    // Opened in place: the received message is ours until this returns.
    const len = h ? openLayer(h.keys.fwd, blob, 0, blob.length) : -1;
    if (!h || len < 1 || !this.host.carryFor(h.prev, len)) return void this.counters.cellsDropped++;
    h.lastMs = now;
    const cmd = blob[8];
    if (cmd === CMD.relay && h.next) {
      // The next layer is blob[9, 8 + len); its link header goes just before it, over the counter.
      const msg = blob.subarray(1, 8 + len);
      this.header(msg, CELL, FWD, h.next.cid, len - 1);
      this.sendLink(h.next.peer, msg);
      this.counters.cellsRelayed++;
    } else if (cmd === CMD.extend && len >= 65) {
      this.extend(h, blob.slice(9, 41), blob.slice(41, 73));
    } else if (cmd === CMD.data && this.host.canExit()) {
      this.exitOut(h, blob.subarray(9, 8 + len));
    } else if (cmd === CMD.ping && len >= 5) {
      this.back(h, concat([CMD.pong], blob.subarray(9, 13)));
    } else if (cmd === CMD.end) {
      this.drop(h, true, true);
    } else {
      this.counters.cellsDropped++;
    }
  }

  private sendLink(peer: Peer, msg: Uint8Array): boolean {
    if (this.host.sendLink(peer, msg)) return true;
    this.counters.linkSendFailed++;
    return false;
  }

  private tunWrite(pkt: Uint8Array): boolean {
    if (this.host.tunWrite(pkt)) return true;
    this.counters.tunWriteFailed++;
    return false;
  }

  /** Writes a link header at the start of `msg`. */
  private header(msg: Uint8Array, type: number, dir: number, cid: number, len: number): void {
    msg[0] = type;
    msg[1] = dir;
    msg[2] = cid >>> 24;
    msg[3] = (cid >>> 16) & 0xff;
    msg[4] = (cid >>> 8) & 0xff;
    msg[5] = cid & 0xff;
    msg[6] = len >> 8;
    msg[7] = len & 0xff;
  }

  /** Seals the `len` bytes at scratch[LINK_HEADER + 8] as one layer and sends it as a cell. */
  private sendLayered(to: Peer, cid: number, dir: number, key: Uint8Array, counter: number, len: number): boolean {
    const total = sealLayer(key, counter, this.scratch, LINK_HEADER, len);
    this.header(this.scratch, CELL, dir, cid, total);
    return this.sendLink(to, this.scratch.subarray(0, LINK_HEADER + total));
  }

  private onDestroy(from: Peer, dir: number, cid: number): void {
    if (dir === BWD) {
      const mine = this.mine.get(linkKey(from, cid));
      if (mine) return this.fail(mine, 'a hop refused or closed it');
      const h = this.byOut.get(linkKey(from, cid));
      if (h) this.drop(h, false, true);
      return;
    }
    const h = this.byIn.get(linkKey(from, cid));
    if (h) this.drop(h, true, false);
  }

  /** A backward message this hop originates. */
  private back(h: HopCircuit, plain: Uint8Array): void {
    this.scratch.set(plain, LINK_HEADER + 8);
    this.sendLayered(h.prev, h.cidIn, BWD, h.keys.bwd, ++h.bwd, plain.length);
  }

  private extend(h: HopCircuit, hopKey: Uint8Array, e: Uint8Array): void {
    const target = this.host.peerByKey(hopKey);
    if (!this.host.canRelay() || h.next || !target || target === h.prev) {
      this.back(h, concat([CMD.error], new TextEncoder().encode(this.host.canRelay() ? 'no such next hop' : 'not a relay')));
      return;
    }
    let cid = randomU32();
    while (this.byOut.has(linkKey(target, cid))) cid = randomU32();
    if (!this.sendLink(target, this.link(CREATE, cid, e))) {
      this.back(h, concat([CMD.error], new TextEncoder().encode('next hop unreachable')));
      return;
    }
    h.next = { peer: target, cid };
    this.byOut.set(linkKey(target, cid), h);
  }

  /** The exit: a packet from the circuit leaves from the circuit's own address. */
  private exitOut(h: HopCircuit, pkt: Uint8Array): void {
    if (pkt.length < 20 || pkt[0]! >> 4 !== 4) return void this.counters.cellsDropped++;
    if (h.addr === null) {
      h.addr = this.allocAddr();
      if (h.addr === null) return void this.counters.cellsDropped++;
      this.byAddr.set(h.addr, h);
    }
    h.origSrc = readAddr(pkt, 12);
    rewriteAddr(pkt, 12, h.addr);
    this.counters.exitPackets++;
    this.tunWrite(pkt);
  }

  private allocAddr(): number | null {
    for (let i = 0; i <= CIRCUIT_POOL.last - CIRCUIT_POOL.first; i++) {
      const a = this.nextAddr;
      this.nextAddr = a >= CIRCUIT_POOL.last ? CIRCUIT_POOL.first : a + 1;
      if (!this.byAddr.has(a)) return a;
    }
    return null;
  }

  private drop(h: HopCircuit, passForward: boolean, passBackward = false): void {
    this.byIn.delete(linkKey(h.prev, h.cidIn));
    if (h.next) this.byOut.delete(linkKey(h.next.peer, h.next.cid));
    if (h.addr !== null) this.byAddr.delete(h.addr);
    if (passForward && h.next) this.sendLink(h.next.peer, this.link(DESTROY, h.next.cid, new Uint8Array(0), FWD));
    if (passBackward) this.sendLink(h.prev, this.link(DESTROY, h.cidIn, new Uint8Array(0), BWD));
  }

  // ---------------------------------------------------------------- the circuit TUN

  /**
   * A packet read from the circuit TUN. On an exit, a reply for a circuit address goes back
   * into its circuit; on a source, a device's packet goes out through `circuit`.
   */
  fromTun(pkt: Uint8Array, circuit: SourceCircuit | null): boolean {
    if (pkt.length < 20 || pkt[0]! >> 4 !== 4) return false;
    if (pkt.length > CIRCUIT_MTU) return false;
    const h = this.byAddr.get(readAddr(pkt, 16));
    if (h) {
      if (!this.host.carryFor(h.prev, pkt.length)) return false;
      rewriteAddr(pkt, 16, h.origSrc);
      this.scratch[LINK_HEADER + 8] = CMD.data;
      this.scratch.set(pkt, LINK_HEADER + 9);
      this.sendLayered(h.prev, h.cidIn, BWD, h.keys.bwd, ++h.bwd, pkt.length + 1);
      return true;
    }
    if (!circuit || circuit.state !== 'ready') return false;
    circuit.txPackets++;
    rewriteAddr(pkt, 12, SOURCE_PLACEHOLDER);
    this.forward(circuit, CMD.data, pkt);
    return true;
  }

  // ---------------------------------------------------------------- sources

  /** Starts a circuit along `path` (hop keys, the exit last); null when the first hop has no session. */
  build(path: Uint8Array[], localAddr: number = SOURCE_PLACEHOLDER): SourceCircuit | null {
    const first = path[0] ? this.host.peerByKey(path[0]) : undefined;
    if (!first || path.length === 0) return null;
    const now = this.host.now();
    let cid = randomU32();
    while (this.mine.has(linkKey(first, cid)) || this.byOut.has(linkKey(first, cid))) cid = randomU32();
    const pending = new HopInitiator(path[0]!);
    const c: SourceCircuit = { id: this.nextId++, localAddr, path, first, cid, hops: [], pending, state: 'building', startedMs: now, stepMs: now, builtMs: 0, probes: new Map(), lastPongMs: 0, rttMs: null, txPackets: 0, rxPackets: 0 };
    if (!this.sendLink(first, this.link(CREATE, cid, pending.ephemeral))) return null;
    this.mine.set(linkKey(first, cid), c);
    this.host.flush();
    return c;
  }

  /**
   * A layered forward cell, built in one buffer: [header][c0][R][c1][R] … [cN][cmd][payload][tagN] …
   * [tag1][tag0] — the command for the last built hop inside, RELAY for each hop before it; each
   * layer sealed in place, innermost first.
   */
  private forward(c: SourceCircuit, cmd: number, payload: Uint8Array): void {
    const n = c.hops.length;
    const buf = this.scratch;
    const at = (j: number) => LINK_HEADER + j * 9; // layer j starts here
    buf[at(n - 1) + 8] = cmd;
    buf.set(payload, at(n - 1) + 9);
    let len = 1 + payload.length;
    for (let j = n - 1; j >= 0; j--) {
      if (j < n - 1) buf[at(j) + 8] = CMD.relay;
      const hop = c.hops[j]!;
      len = sealLayer(hop.keys.fwd, ++hop.fwd, buf, at(j), j === n - 1 ? len : 1 + len);
    }
    this.header(buf, CELL, FWD, c.cid, len);
    this.sendLink(c.first, buf.subarray(0, LINK_HEADER + len));
  }

  private sourceStep(c: SourceCircuit, reply: Uint8Array, now: number): void {
    const keys = c.pending?.finish(reply) ?? null;
    c.pending = null;
    if (!keys) return this.fail(c, `hop ${c.hops.length + 1} did not authenticate`);
    c.hops.push({ key: c.path[c.hops.length]!, keys, fwd: 0 });
    c.stepMs = now;
    if (c.hops.length === c.path.length) {
      c.state = 'ready';
      c.builtMs = now;
      c.lastPongMs = now;
      this.counters.built++;
      this.host.log(`circuit ${c.id}: ${c.path.length} hop(s) built in ${Math.round(now - c.startedMs)} ms`);
      return;
    }
    const next = new HopInitiator(c.path[c.hops.length]!);
    c.pending = next;
    const body = new Uint8Array(64);
    body.set(next.hopStatic, 0);
    body.set(next.ephemeral, 32);
    this.forward(c, CMD.extend, body);
    this.host.flush();
  }

  private sourceCell(c: SourceCircuit, blob: Uint8Array, now: number): void {
    // Every message comes from the last built hop (the exit once built): one layer per hop,
    // opened in place, outermost (the first hop's) first.
    let at = 0;
    let end = blob.length;
    for (const hop of c.hops) {
      const len = openLayer(hop.keys.bwd, blob, at, end);
      if (len < 0) return void this.counters.cellsDropped++;
      at += 8;
      end = at + len;
    }
    if (end - at < 1) return void this.counters.cellsDropped++;
    const plain = blob.subarray(at, end);
    const cmd = plain[0];
    if (cmd === CMD.data) {
      const pkt = plain.subarray(1);
      if (pkt.length < 20 || readAddr(pkt, 16) !== SOURCE_PLACEHOLDER) return void this.counters.cellsDropped++;
      c.rxPackets++;
      rewriteAddr(pkt, 16, c.localAddr);
      this.tunWrite(pkt);
    } else if (cmd === CMD.extended && c.pending) {
      this.sourceStep(c, plain.slice(1), now);
    } else if (cmd === CMD.pong && plain.length >= 5) {
      const id = new DataView(plain.buffer, plain.byteOffset + 1, 4).getUint32(0);
      const sent = c.probes.get(id);
      if (sent !== undefined) {
        c.probes.delete(id);
        c.lastPongMs = now;
        const rtt = now - sent;
        c.rttMs = c.rttMs === null ? rtt : c.rttMs * 0.8 + rtt * 0.2;
      }
    } else if (cmd === CMD.error) {
      this.fail(c, new TextDecoder().decode(plain.subarray(1, 120)));
    }
  }

  /** Ends a circuit of ours (tells its hops). */
  close(c: SourceCircuit): void {
    this.sendLink(c.first, this.link(DESTROY, c.cid, new Uint8Array(0), FWD));
    this.mine.delete(linkKey(c.first, c.cid));
    c.state = 'failed';
  }

  private fail(c: SourceCircuit, why: string): void {
    if (c.state === 'failed') return;
    if (c.state === 'building') this.counters.buildFailed++;
    else this.counters.failed++;
    this.host.log(`circuit ${c.id}: failed (${why})`);
    this.close(c);
  }

  /** Every PROBE_MS: probes ready circuits end to end, fails stalled builds and silent circuits. */
  tick(): void {
    const now = this.host.now();
    for (const c of [...this.mine.values()]) {
      if (c.state === 'building' && now - c.stepMs > BUILD_TIMEOUT_MS) this.fail(c, `hop ${c.hops.length + 1} did not answer in ${BUILD_TIMEOUT_MS} ms`);
      else if (c.state === 'ready') {
        if (now - c.lastPongMs > FAIL_MS) {
          this.fail(c, `no answer from the exit for ${Math.round(now - c.lastPongMs)} ms`);
          continue;
        }
        const id = randomU32();
        c.probes.set(id, now);
        for (const [pid, at] of c.probes) if (now - at > FAIL_MS) c.probes.delete(pid);
        const body = new Uint8Array(4);
        new DataView(body.buffer).setUint32(0, id);
        this.forward(c, CMD.ping, body);
      }
    }
    // Circuits carried for others whose links are gone or silent for long are forgotten.
    for (const h of [...this.byIn.values()]) {
      const gone = !this.host.peers.includes(h.prev) || (h.next !== null && !this.host.peers.includes(h.next.peer));
      if (gone || now - h.lastMs > IDLE_CARRIED_MS) this.drop(h, true, true);
    }
    this.host.flush();
  }

  /** Circuits carried for others now. */
  carried(): number {
    return this.byIn.size;
  }

  sources(): SourceCircuit[] {
    return [...this.mine.values()];
  }
}

/** A carried circuit silent this long is forgotten (sources probe every second). */
export const IDLE_CARRIED_MS = 30_000;
