// WireGuard transport data message (whitepaper §5.4.6), as pure byte layout:
//   type=4 (1) | reserved 0 (3) | receiver index LE32 (4) | counter LE64 (8) | ciphertext (16n) | tag (16)
// The plaintext is zero-padded to a multiple of 16; an empty plaintext is a keepalive.

export const MESSAGE_TRANSPORT = 4;
export const TRANSPORT_HEADER = 16;
export const TAG_SIZE = 16;
export const TRANSPORT_MIN = TRANSPORT_HEADER + TAG_SIZE; // a keepalive
export const PADDING_MULTIPLE = 16;

export function paddedLength(len: number, mtu: number): number {
  const padded = (len + PADDING_MULTIPLE - 1) & ~(PADDING_MULTIPLE - 1);
  return Math.max(len, Math.min(padded, mtu));
}

/** Allocates a datagram for `plaintextLen` padded bytes and writes the header. */
export function newTransportDatagram(receiverIndex: number, counter: number, paddedLen: number): Uint8Array {
  const out = new Uint8Array(TRANSPORT_HEADER + paddedLen + TAG_SIZE);
  const v = new DataView(out.buffer);
  out[0] = MESSAGE_TRANSPORT;
  v.setUint32(4, receiverIndex, true);
  v.setUint32(8, counter >>> 0, true);
  v.setUint32(12, Math.floor(counter / 0x1_0000_0000), true);
  return out;
}

export function readReceiverIndex(buf: Uint8Array): number {
  return ((buf[4] ?? 0) | ((buf[5] ?? 0) << 8) | ((buf[6] ?? 0) << 16) | ((buf[7] ?? 0) << 24)) >>> 0;
}

/** The counter, or -1 when it is beyond 2^53 (never produced by a live session). */
export function readCounter(buf: Uint8Array): number {
  const lo = ((buf[8] ?? 0) | ((buf[9] ?? 0) << 8) | ((buf[10] ?? 0) << 16) | ((buf[11] ?? 0) << 24)) >>> 0;
  const hi = ((buf[12] ?? 0) | ((buf[13] ?? 0) << 8) | ((buf[14] ?? 0) << 16) | ((buf[15] ?? 0) << 24)) >>> 0;
  if (hi >= 0x20_0000) return -1;
  return hi * 0x1_0000_0000 + lo;
}
