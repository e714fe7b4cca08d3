// Hand-built IPv4/UDP packets for the TUN lab test and benchmark (RFC 791, RFC 768). A lab
// helper, not the data plane's codec.

/** RFC 1071 Internet checksum over `bytes`, starting from a partial sum. */
export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipBytes(ip: string): number[] {
  return ip.split('.').map(Number);
}

/** An IPv4 packet carrying one UDP datagram with correct IP and UDP checksums. */
export function ipv4Udp(src: string, dst: string, srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  const total = 20 + 8 + payload.length;
  const p = new Uint8Array(total);
  const v = new DataView(p.buffer);
  p[0] = 0x45; // version 4, IHL 5
  v.setUint16(2, total);
  v.setUint16(6, 0x4000); // DF
  p[8] = 64; // TTL
  p[9] = 17; // UDP
  p.set(ipBytes(src), 12);
  p.set(ipBytes(dst), 16);
  v.setUint16(10, internetChecksum(p.subarray(0, 20)));
  v.setUint16(20, srcPort);
  v.setUint16(22, dstPort);
  v.setUint16(24, 8 + payload.length);
  p.set(payload, 28);
  // UDP checksum over the pseudo-header (src, dst, 0, proto, UDP length) and the datagram.
  const pseudo = new Uint8Array(12 + 8 + payload.length);
  pseudo.set(p.subarray(12, 20), 0);
  pseudo[9] = 17;
  new DataView(pseudo.buffer).setUint16(10, 8 + payload.length);
  pseudo.set(p.subarray(20), 12);
  const udp = internetChecksum(pseudo);
  v.setUint16(26, udp === 0 ? 0xffff : udp);
  return p;
}
