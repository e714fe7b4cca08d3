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

/** Writes a 32-bit value little-endian at out[off..off+4). */
export function writeU32LE(out: Uint8Array, off: number, v: number): void {
  out[off] = v;
  out[off + 1] = v >>> 8;
  out[off + 2] = v >>> 16;
  out[off + 3] = v >>> 24;
}

/** Writes a counter (< 2^53) as 64 bits little-endian at out[off..off+8). */
export function writeCounterLE(out: Uint8Array, off: number, counter: number): void {
  writeU32LE(out, off, counter >>> 0);
  writeU32LE(out, off + 4, Math.floor(counter / 0x1_0000_0000));
}

/** Writes the 16-byte header at out[0..16): type, zero reserved bytes, receiver, counter (LE). */
export function writeTransportHeader(out: Uint8Array, receiverIndex: number, counter: number): void {
  out[0] = MESSAGE_TRANSPORT;
  out[1] = out[2] = out[3] = 0;
  writeU32LE(out, 4, receiverIndex);
  writeCounterLE(out, 8, counter);
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
