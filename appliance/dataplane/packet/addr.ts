// IP addresses, prefixes and UDP endpoints as bytes: pure parsing and formatting.

import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

export interface Prefix {
  family: Family;
  bytes: Uint8Array; // 4 or 16 bytes, host bits kept as written (an interface address)
  bits: number;
}

export interface Endpoint {
  family: Family;
  address: string; // canonical text form, as Bun's UDP socket reports it
  port: number;
}

export function parseIp(text: string): Uint8Array | null {
  if (isIPv4(text)) return new Uint8Array(text.split('.').map(Number));
  if (!isIPv6(text)) return null;
  let s = text;
  const out = new Uint8Array(16);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = s.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4?.[1]) {
    const b = v4[1].split('.').map(Number);
    s = s.slice(0, -v4[1].length) + `${(((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16)}:${(((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return null;
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // Compress the longest run of zero groups (RFC 5952 §4.2).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function parsePrefix(text: string): Prefix | null {
  const [ip, len, extra] = text.trim().split('/');
  if (ip === undefined || extra !== undefined) return null;
  const bytes = parseIp(ip);
  if (!bytes) return null;
  const max = bytes.length * 8;
  if (len !== undefined && !/^\d{1,3}$/.test(len)) return null;
  const bits = len === undefined ? max : Number(len);
  if (bits > max) return null;
  return { family: bytes.length === 4 ? 4 : 6, bytes, bits };
}

export function formatPrefix(p: Prefix): string {
  return `${formatIp(p.bytes)}/${p.bits}`;
}

export function parseEndpoint(text: string): Endpoint | null {
  const m = text.trim().match(/^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/);
  if (!m) return null;
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  const bytes = parseIp(host);
  if (!bytes) return null; // names are not resolved here: endpoints are addresses
  return { family: bytes.length === 4 ? 4 : 6, address: formatIp(bytes), port };
}

export function formatEndpoint(e: Endpoint): string {
  return e.family === 6 ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** The bytes that identify a UDP source for cookies: IP bytes then the port big-endian. */
export function endpointSourceBytes(e: Endpoint): Uint8Array {
  const ip = parseIp(e.address) ?? new Uint8Array(4);
  const out = new Uint8Array(ip.length + 2);
  out.set(ip);
  out[ip.length] = e.port >> 8;
  out[ip.length + 1] = e.port & 0xff;
  return out;
}
