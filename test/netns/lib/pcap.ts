// Reads UDP datagrams out of a classic pcap file (tcpdump -w): enough to replay captured
// packets and to inspect what crossed the wire. Link types: Ethernet (1) and Linux cooked (113, 276).

import { readFileSync, writeFileSync } from 'node:fs';

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

/**
 * Writes UDP datagrams as a classic pcap (Ethernet, IPv4 with a valid header checksum, UDP
 * without checksum), for re-examining a wire's bytes with DPI tools under other 5-tuples.
 */
export function writeUdpPcap(path: string, records: readonly UdpRecord[]): void {
  const chunks: Uint8Array[] = [];
  const global = new Uint8Array(24);
  const g = new DataView(global.buffer);
  g.setUint32(0, 0xa1b2c3d4, true);
  g.setUint16(4, 2, true);
  g.setUint16(6, 4, true);
  g.setUint32(16, 65535, true);
  g.setUint32(20, 1, true); // Ethernet
  chunks.push(global);
  records.forEach((r, i) => {
    const ipLen = 20 + 8 + r.payload.length;
    const frame = new Uint8Array(14 + ipLen);
    const f = new DataView(frame.buffer);
    frame.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
    f.setUint16(12, 0x0800);
    const ip = 14;
    frame[ip] = 0x45;
    f.setUint16(ip + 2, ipLen);
    frame[ip + 8] = 64;
    frame[ip + 9] = 17;
    frame.set(r.src.split('.').map(Number), ip + 12);
    frame.set(r.dst.split('.').map(Number), ip + 16);
    let sum = 0;
    for (let k = 0; k < 20; k += 2) sum += f.getUint16(ip + k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    f.setUint16(ip + 10, ~sum & 0xffff);
    f.setUint16(ip + 20, r.srcPort);
    f.setUint16(ip + 22, r.dstPort);
    f.setUint16(ip + 24, 8 + r.payload.length);
    frame.set(r.payload, ip + 28);
    const rec = new Uint8Array(16);
    const h = new DataView(rec.buffer);
    h.setUint32(0, 1_700_000_000 + Math.floor(i / 1000), true);
    h.setUint32(4, (i % 1000) * 1000, true);
    h.setUint32(8, frame.length, true);
    h.setUint32(12, frame.length, true);
    chunks.push(rec, frame);
  });
  writeFileSync(path, Buffer.concat(chunks));
}
