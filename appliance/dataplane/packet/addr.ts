// IP addresses, prefixes and UDP endpoints as bytes: pure parsing and formatting.

import { parseIp, formatIp } from './ip-text.ts';

export { parseIp, formatIp } from './ip-text.ts';

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
  /** Set when the peer is reached through a relay member (address "relay", port 0). */
  relay?: RelayHop;
}

/** A path through a relay: the relay member's static key, and the far peer's. */
export interface RelayHop {
  readonly via: Uint8Array;
  readonly to: Uint8Array;
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

/** The network part of a prefix (host bits cleared), as `ip route` wants it. */
export function networkOf(p: Prefix): Prefix {
  const bytes = p.bytes.slice();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, p.bits - i * 8));
    bytes[i] = (bytes[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return { family: p.family, bytes, bits: p.bits };
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
  if (e.relay) return `relay ${Buffer.from(e.relay.via).toString('base64').slice(0, 8)}`;
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
