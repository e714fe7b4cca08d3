// Building one data datagram, the same on the main thread (in-process sender) and in the
// outbound worker: header, plaintext, zero padding, AEAD sealed in place, header protection.

import type { Wire } from '../wire/wire.ts';
import type { InPlaceAead } from '../session/aead.ts';
import { TAG_SIZE, writeCounterLE } from './packet/transport.ts';

/** The 96-bit transport nonce 0^32 || counter LE64 (WireGuard whitepaper §5.4.6), into `out`. */
export function transportNonce(counter: number, out: Uint8Array): Uint8Array {
  out[0] = out[1] = out[2] = out[3] = 0;
  writeCounterLE(out, 4, counter);
  return out;
}

/** Datagram size for a plaintext padded to `padded` bytes. */
export function datagramSize(wire: Wire, padded: number): number {
  return wire.headerBytes + padded + TAG_SIZE;
}

/** Fills `dgram` (exactly datagramSize bytes) with the sealed data message for `pkt`. */
export function buildDatagram(
  dgram: Uint8Array,
  wire: Wire,
  aead: InPlaceAead,
  key: Uint8Array,
  nonce: Uint8Array,
  remoteIndex: number,
  counter: number,
  pkt: Uint8Array,
  padded: number,
): void {
  const h = wire.headerBytes;
  wire.writeHeader(dgram, remoteIndex, counter);
  dgram.set(pkt, h);
  if (padded > pkt.length) dgram.fill(0, h + pkt.length, h + padded);
  aead.seal(key, transportNonce(counter, nonce), dgram, h, padded);
  wire.protect(dgram);
}
