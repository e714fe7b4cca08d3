// Reads UDP datagrams out of a classic pcap file (tcpdump -w): enough to replay captured
// packets and to inspect what crossed the wire. Link types: Ethernet (1) and Linux cooked (113, 276).

import { readFileSync } from 'node:fs';

export interface UdpRecord {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export function readUdp(path: string): UdpRecord[] {
  const buf = new Uint8Array(readFileSync(path));
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 24) return [];
  const magic = v.getUint32(0, true);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && v.getUint32(0, false) !== 0xa1b2c3d4 && v.getUint32(0, false) !== 0xa1b23c4d) throw new Error(`${path}: not a pcap file`);
  const link = v.getUint32(20, le);
  const linkHeader = link === 1 ? 14 : link === 113 ? 16 : link === 276 ? 20 : -1;
  if (linkHeader < 0) throw new Error(`${path}: unsupported link type ${link}`);
  const out: UdpRecord[] = [];
  for (let off = 24; off + 16 <= buf.length; ) {
    const caplen = v.getUint32(off + 8, le);
    const start = off + 16;
    off = start + caplen;
    const ip = start + linkHeader;
    if (ip + 20 > off) continue;
    const ver = (buf[ip] ?? 0) >> 4;
    let udp: number;
    let src: string;
    let dst: string;
    if (ver === 4) {
      if (buf[ip + 9] !== 17) continue;
      udp = ip + ((buf[ip] ?? 0) & 0x0f) * 4;
      src = Array.from(buf.subarray(ip + 12, ip + 16)).join('.');
      dst = Array.from(buf.subarray(ip + 16, ip + 20)).join('.');
    } else if (ver === 6) {
      if (buf[ip + 6] !== 17) continue;
      udp = ip + 40;
      src = hex6(buf.subarray(ip + 8, ip + 24));
      dst = hex6(buf.subarray(ip + 24, ip + 40));
    } else continue;
    if (udp + 8 > off) continue;
    const len = v.getUint16(udp + 4, false);
    out.push({
      src,
      dst,
      srcPort: v.getUint16(udp, false),
      dstPort: v.getUint16(udp + 2, false),
      payload: buf.slice(udp + 8, Math.min(off, udp + len)),
    });
  }
  return out;
}

function hex6(b: Uint8Array): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push((((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16));
  return g.join(':');
}
