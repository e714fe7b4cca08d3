// Just enough of IPv4 (RFC 791) and IPv6 (RFC 8200) headers for routing: version,
// total length, and where the source and destination addresses sit. Pure, no allocation.

export const IPV4_HEADER_MIN = 20;
export const IPV6_HEADER = 40;
const IPV4_SRC = 12; // RFC 791 §3.1
const IPV4_DST = 16;
const IPV6_SRC = 8; // RFC 8200 §3
const IPV6_DST = 24;

/** 4, 6, or 0 when the bytes are not a plausible IP packet. */
export function ipVersion(pkt: Uint8Array, len: number): 0 | 4 | 6 {
  if (len < 1) return 0;
  const v = (pkt[0] ?? 0) >> 4;
  if (v === 4 && len >= IPV4_HEADER_MIN) return 4;
  if (v === 6 && len >= IPV6_HEADER) return 6;
  return 0;
}

export function dstOffset(version: 4 | 6): number {
  return version === 4 ? IPV4_DST : IPV6_DST;
}

export function srcOffset(version: 4 | 6): number {
  return version === 4 ? IPV4_SRC : IPV6_SRC;
}

/**
 * The packet's length according to its own header. A decrypted transport payload is padded
 * to 16 bytes (WireGuard §5.4.6), so the header length is what goes to the TUN.
 * Returns 0 if the header claims more than is there.
 */
export function ipPacketLength(pkt: Uint8Array, len: number, version: 4 | 6): number {
  const n = version === 4 ? (((pkt[2] ?? 0) << 8) | (pkt[3] ?? 0)) : ((((pkt[4] ?? 0) << 8) | (pkt[5] ?? 0)) + IPV6_HEADER);
  return n <= len && n >= (version === 4 ? IPV4_HEADER_MIN : IPV6_HEADER) ? n : 0;
}
