// The header-protection keys of the native wire, shared with the outbound worker. Two key slots:
// the network secret in use and, for a while after a rotation (network/rotation.ts), the one
// before it — each session seals with the slot its handshake was made under (send-table.ts
// carries the slot per peer). The main thread writes a slot and bumps the version; the worker
// copies the keys out when the version moved (once per batch, one atomic load).
//
// A slot is only ever rewritten while no session uses it (the device retires the sessions of a
// slot before it takes new keys), so the worker never seals with half of an update.

export const WIRE_SLOTS = 2;
const KEY = 32;

export class WireKeyShare {
  readonly sab: SharedArrayBuffer;
  private readonly ints: Int32Array;
  private readonly keys: Uint8Array;

  constructor(sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(8 + WIRE_SLOTS * KEY);
    this.ints = new Int32Array(this.sab, 0, 2);
    this.keys = new Uint8Array(this.sab, 8, WIRE_SLOTS * KEY);
  }

  /** Main thread: the header key of `slot` (zeros: none). */
  set(slot: number, header: Uint8Array | null): void {
    if (header) this.keys.set(header, slot * KEY);
    else this.keys.fill(0, slot * KEY, slot * KEY + KEY);
    Atomics.add(this.ints, 0, 1);
  }

  version(): number {
    return Atomics.load(this.ints, 0);
  }

  /** Worker: copies the slot's key into `out` (32 bytes). */
  read(slot: number, out: Uint8Array): void {
    out.set(this.keys.subarray(slot * KEY, slot * KEY + KEY));
  }
}
