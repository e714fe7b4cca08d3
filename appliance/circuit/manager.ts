// The source's circuits (README "Circuits"): one current circuit per hop count that devices use
// (2 or 3), drawn from the members — relays that offer relaying, the exit last — or fixed by
// `gateway.circuit_path`. New connections take the current circuit; a connection keeps the
// circuit it started on while that circuit lives, so rotation (every ROTATE_MS) moves new
// connections and lets live ones drain. A failed circuit (a build step unanswered, the exit
// silent for 3 s: engine.ts) is replaced at once; its connections move to the new one.

import { encodeKey } from '../config/schema.ts';
import type { Peer } from '../session/peer.ts';
import { weightedChoice } from '../session/quality.ts';
import { localCircuitAddr, type CircuitEngine, type SourceCircuit } from './engine.ts';
import { readAddr } from './rewrite.ts';

export const ROTATE_MS = 10 * 60_000;
/** A circuit no longer current is closed once no connection used it for this long. */
export const DRAIN_IDLE_MS = 60_000;
/** And at the latest this long after it stopped being current. */
export const DRAIN_MAX_MS = 30 * 60_000;
const MAX_FLOWS = 65_536;
/** A first hop whose circuit failed is avoided this long (when another relay will do). */
export const AVOID_FAILED_MS = 30_000;

export interface CircuitChoiceHost {
  readonly peers: readonly Peer[];
  /** Members that offer relaying (their records), and members that offer an exit. */
  offersRelay(p: Peer): boolean;
  exits(): Peer[];
  /** A fixed path (keys, the exit last), or null to draw one. */
  fixedPath(): Uint8Array[] | null;
  now(): number;
  log(line: string): void;
  random?: () => number;
}

interface Slot {
  current: SourceCircuit | null;
  /** Circuits no longer current, still carrying connections, and since when. */
  draining: Map<SourceCircuit, number>;
  lastFailureLog: number;
}

export class CircuitManager {
  private readonly slots = new Map<2 | 3, Slot>();
  private readonly flows = new Map<string, { c: SourceCircuit; lastMs: number }>();
  /** First hops of circuits that failed, and when. */
  private readonly failedFirst = new Map<string, number>();

  constructor(private readonly engine: CircuitEngine, private readonly host: CircuitChoiceHost) {}

  /** Hop counts devices use now (2, 3 or both): circuits are kept ready for those. */
  setWanted(hops: readonly (2 | 3)[]): void {
    for (const h of hops) if (!this.slots.has(h)) this.slots.set(h, { current: null, draining: new Map(), lastFailureLog: 0 });
    for (const [h, slot] of this.slots) {
      if (hops.includes(h)) continue;
      if (slot.current) this.engine.close(slot.current);
      for (const c of slot.draining.keys()) this.engine.close(c);
      this.slots.delete(h);
    }
  }

  /** The path for a new circuit of `hops`, or why there is none. */
  choosePath(hops: 2 | 3): Uint8Array[] | string {
    const fixed = this.host.fixedPath();
    if (fixed) return fixed;
    const now = this.host.now();
    const random = this.host.random ?? Math.random;
    const live = (p: Peer) => p.current !== null && p.lastReceivedMs > 0 && now - p.lastReceivedMs < 60_000 && p.endpoint !== null && !p.endpoint.relay && !p.quality.failing(now);
    const exits = this.host.exits();
    const exit = exits[Math.floor(random() * exits.length)];
    if (!exit) return 'no member offers an exit';
    const relays = this.host.peers.filter((p) => p !== exit && this.host.offersRelay(p));
    // A first hop whose circuit just failed is passed over while another will do.
    const recent = (p: Peer) => now - (this.failedFirst.get(encodeKey(p.publicKey)) ?? -Infinity) < AVOID_FAILED_MS;
    const candidates = relays.filter(live);
    const fresh = candidates.filter((p) => !recent(p));
    const first = weightedChoice(fresh.length > 0 ? fresh : candidates, (p) => p.quality.cost(now), random);
    if (!first) return 'no relay with a live session to start a circuit';
    const path = [first.publicKey];
    if (hops === 3) {
      const middle = relays.filter((p) => p !== first);
      const m = middle[Math.floor(random() * middle.length)];
      if (!m) return 'a 3-hop circuit needs two relays';
      path.push(m.publicKey);
    }
    path.push(exit.publicKey);
    return path;
  }

  /** Every second: builds what is missing, rotates, replaces failed circuits, closes drained ones. */
  tick(): void {
    const now = this.host.now();
    for (const [hops, slot] of this.slots) {
      const c = slot.current;
      if (c?.state === 'failed') this.failedFirst.set(encodeKey(c.path[0]!), now);
      if (c && (c.state === 'failed' || (c.state === 'ready' && now - c.builtMs > ROTATE_MS))) {
        if (c.state === 'ready') slot.draining.set(c, now);
        slot.current = null;
      }
      if (!slot.current) {
        const path = this.choosePath(hops);
        if (typeof path === 'string') {
          if (now - slot.lastFailureLog > 30_000) this.host.log(`circuit: no ${hops}-hop circuit: ${path}`);
          slot.lastFailureLog = now;
        } else {
          slot.current = this.engine.build(path, localCircuitAddr(hops));
          if (slot.current) this.host.log(`circuit ${slot.current.id}: building ${hops} hops through ${path.map((k) => encodeKey(k).slice(0, 8)).join(' → ')}`);
        }
      }
      for (const [d, since] of slot.draining) {
        const used = [...this.flows.values()].some((f) => f.c === d && now - f.lastMs < DRAIN_IDLE_MS);
        if (d.state === 'failed' || !used || now - since > DRAIN_MAX_MS) {
          if (d.state !== 'failed') this.engine.close(d);
          slot.draining.delete(d);
        }
      }
    }
    for (const [k, f] of this.flows) if (now - f.lastMs > DRAIN_IDLE_MS * 2 || f.c.state === 'failed') this.flows.delete(k);
  }

  /** The circuit for a device's packet (its hop count from its source address; its connection's circuit). */
  circuitFor(pkt: Uint8Array): SourceCircuit | null {
    const src = readAddr(pkt, 12);
    const hops = src === localCircuitAddr(3) ? 3 : src === localCircuitAddr(2) ? 2 : null;
    if (hops === null) return null;
    const slot = this.slots.get(hops);
    if (!slot) return null;
    const key = flowKey(pkt);
    const now = this.host.now();
    const f = this.flows.get(key);
    if (f && f.c.state === 'ready') {
      f.lastMs = now;
      return f.c;
    }
    const c = slot.current?.state === 'ready' ? slot.current : null;
    if (c) {
      if (this.flows.size >= MAX_FLOWS) this.flows.clear();
      this.flows.set(key, { c, lastMs: now });
    }
    return c;
  }

  status(): { id: number; hops: number; state: string; path: string[]; ageSeconds: number; rttMs: number | null; txPackets: number; rxPackets: number; current: boolean }[] {
    const now = this.host.now();
    const current = new Set([...this.slots.values()].map((s) => s.current));
    return this.engine.sources().map((c) => ({
      id: c.id,
      hops: c.path.length,
      state: c.state,
      path: c.path.map((k) => this.host.peers.find((p) => Buffer.from(p.publicKey).equals(Buffer.from(k)))?.name ?? encodeKey(k).slice(0, 8)),
      ageSeconds: Math.round((now - c.startedMs) / 1000),
      rttMs: c.rttMs === null ? null : Math.round(c.rttMs * 10) / 10,
      txPackets: c.txPackets,
      rxPackets: c.rxPackets,
      current: current.has(c),
    }));
  }
}

/** Protocol, ports and destination: a connection, as far as the circuit choice cares. */
function flowKey(pkt: Uint8Array): string {
  const proto = pkt[9]!;
  const ihl = (pkt[0]! & 0x0f) * 4;
  const ports = (proto === 6 || proto === 17) && pkt.length >= ihl + 4 ? ((pkt[ihl]! << 24) | (pkt[ihl + 1]! << 16) | (pkt[ihl + 2]! << 8) | pkt[ihl + 3]!) >>> 0 : 0;
  return `${proto}:${readAddr(pkt, 12)}:${readAddr(pkt, 16)}:${ports}`;
}
