// The allowed-IPs routes the outbound worker needs (prefix → peer slot), shared through one
// SharedArrayBuffer so peers can join while the worker runs. The main thread rewrites the whole
// list under a seqlock (generation odd while writing); the worker rebuilds its trie when it
// sees a new even generation.

import { RouteTable } from './route-table.ts';
import type { Prefix } from './packet/addr.ts';
import { EXIT_UNSET, MAX_DEVICE_EXITS } from './exit-ports.ts';

const ENTRY = 20; // family (1) | bits (1) | slot (2, LE) | address (16)
const HEADER_INTS = 4 + MAX_DEVICE_EXITS; // generation, count, (2 spare), per-device exit slots

export interface SharedRoute {
  prefix: Prefix;
  slot: number;
}

export class RouteShare {
  readonly sab: SharedArrayBuffer;
  private readonly head: Int32Array;
  private readonly bytes: Uint8Array;

  constructor(readonly capacity: number, sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(HEADER_INTS * 4 + capacity * ENTRY);
    this.head = new Int32Array(this.sab, 0, HEADER_INTS);
    this.bytes = new Uint8Array(this.sab, HEADER_INTS * 4);
  }

  /**
   * Main thread: replaces the route list, and the per-device exits' slots (exit-ports.ts: index k
   * → a peer slot, EXIT_UNSET or EXIT_ABSENT). Throws when it does not fit (a configuration limit).
   */
  write(routes: readonly SharedRoute[], exits: readonly number[] = []): void {
    if (routes.length > this.capacity) throw new RangeError(`${routes.length} routes exceed the data plane's ${this.capacity}`);
    Atomics.add(this.head, 0, 1);
    for (let k = 0; k < MAX_DEVICE_EXITS; k++) this.head[4 + k] = exits[k] ?? EXIT_UNSET;
    routes.forEach((r, i) => {
      const o = i * ENTRY;
      this.bytes[o] = r.prefix.family;
      this.bytes[o + 1] = r.prefix.bits;
      this.bytes[o + 2] = r.slot & 0xff;
      this.bytes[o + 3] = r.slot >>> 8;
      this.bytes.fill(0, o + 4, o + ENTRY);
      this.bytes.set(r.prefix.bytes, o + 4);
    });
    Atomics.store(this.head, 1, routes.length);
    Atomics.add(this.head, 0, 1);
  }

  generation(): number {
    return Atomics.load(this.head, 0);
  }

  /**
   * Worker: a trie of the current routes, or null while a write is in progress (try again); the
   * per-device exits' slots are copied into `exits` (MAX_DEVICE_EXITS entries).
   */
  read(exits?: Int32Array): RouteTable<number> | null {
    const g1 = Atomics.load(this.head, 0);
    if (g1 & 1) return null;
    if (exits) for (let k = 0; k < MAX_DEVICE_EXITS; k++) exits[k] = this.head[4 + k] ?? EXIT_UNSET;
    const table = new RouteTable<number>();
    const count = Atomics.load(this.head, 1);
    for (let i = 0; i < count; i++) {
      const o = i * ENTRY;
      const family = this.bytes[o] === 6 ? 6 : 4;
      table.insert(
        { family, bits: this.bytes[o + 1] ?? 0, bytes: this.bytes.slice(o + 4, o + 4 + (family === 4 ? 4 : 16)) },
        (this.bytes[o + 2] ?? 0) | ((this.bytes[o + 3] ?? 0) << 8),
      );
    }
    return Atomics.load(this.head, 0) === g1 ? table : null;
  }
}
