// Overlay addresses: every member of a network computes every member's addresses from the
// network secret and the member's public key alone, so no one hands addresses out
// (DESIGN.md "Identities and networks").
//
// - IPv4 in 100.64.0.0/10 (RFC 6598 shared address space — carrier-grade NAT space, like
//   Tailscale, so it rarely clashes with a home LAN). 64 × 256 × 254 ≈ 4.2 million addresses:
//   the last octet is kept in 1..254, so no address ends in .0 or .255.
// - IPv6 in a ULA /48 (RFC 4193): fd00::/8 plus a 40-bit global ID taken from the network
//   secret, subnet 0, and a 64-bit interface ID taken from the public key (never all zeros, the
//   subnet-router anycast address of RFC 4291 §2.6.1).
// Both are keyed with values derived from the secret (HKDF-BLAKE2s, one label each, as
// appliance/wire/keys.ts does), so an outsider can neither link a node's addresses across
// networks nor tell its key from its address.
//
// Collisions. Candidate k of a member (k = 0, 1, 2 …) is the hash of its key and k; candidate 0
// is its "first choice". The rule:
//   a member takes its first candidate that is not the first choice of any *other* member.
// It is a function of the membership list only (not of its order, nor of who joined first), so
// all members that agree on the membership agree on every address. Limits, by design kept simple:
// - When two first choices collide, both members move (to their candidate 1, 2 …), and a new
//   member whose first choice equals an existing member's address moves that member too:
//   addresses are stable only while the membership does not create such a collision.
// - Two members that both moved may, in theory, land on the same later candidate; with 4.2
//   million (N ≈ 2²²) IPv4 addresses that needs collisions among the few that moved (roughly
//   n⁴/2N³ for n members). `findDuplicates` reports it so the caller can log and refuse the route, never
//   route to the wrong member silently.
// - Members that see different memberships (a revocation not yet heard of) can disagree.

import { formatIp } from '../dataplane/packet/addr.ts';
import { blake2s } from '@noble/hashes/blake2.js';
import { deriveFromSecret } from '../wire/keys.ts';

const LABEL_IPV4 = 'overlay ipv4';
const LABEL_IPV6 = 'overlay ipv6';
const LABEL_ULA = 'overlay ula prefix';
export const OVERLAY_IPV4_PREFIX = '100.64.0.0/10';
export const OVERLAY_IPV4_BITS = 10;
export const OVERLAY_IPV6_BITS = 48;
/** A bound on candidates tried; reaching it would need about 64 collisions in a row. */
const MAX_ATTEMPTS = 64;

export class AddressError extends Error {
  override readonly name = 'AddressError';
  constructor(
    readonly kind: 'invalid-argument' | 'exhausted',
    message: string,
  ) {
    super(message);
  }
}

/** Keyed hash of (public key, attempt counter) → 32 bytes. A seam: tests inject a narrow one to force collisions. */
export type CandidateHash = (purpose: 'ipv4' | 'ipv6', publicKey: Uint8Array, attempt: number) => Uint8Array;

export interface OverlayAddresses {
  ipv4: string;
  ipv6: string;
  /** Which candidate was taken (0 = the first choice), for diagnostics. */
  ipv4Attempt: number;
  ipv6Attempt: number;
}

function checkKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new AddressError('invalid-argument', `${what} must be 32 bytes`);
}

function derive(secret: Uint8Array, label: string, length: number): Uint8Array {
  checkKey(secret, 'network secret');
  return deriveFromSecret(secret, label, length);
}

/** The production candidate hash: BLAKE2s keyed with a per-network, per-family key. */
export function networkCandidateHash(secret: Uint8Array): CandidateHash {
  const keys = { ipv4: derive(secret, LABEL_IPV4, 32), ipv6: derive(secret, LABEL_IPV6, 32) };
  return (purpose, publicKey, attempt) => {
    const input = new Uint8Array(36);
    input.set(publicKey, 0);
    new DataView(input.buffer).setUint32(32, attempt, false);
    return blake2s(input, { key: keys[purpose], dkLen: 32 });
  };
}

/** The 6 bytes fd + 40-bit global ID that open every address of the network's ULA /48. */
function ulaBytes(secret: Uint8Array): Uint8Array {
  return Uint8Array.of(0xfd, ...derive(secret, LABEL_ULA, 5));
}

/** The network's ULA /48, e.g. "fd3c:91a2:7be::/48". */
export function ulaPrefix(secret: Uint8Array): string {
  const bytes = new Uint8Array(16);
  bytes.set(ulaBytes(secret));
  return `${formatIp(bytes)}/${OVERLAY_IPV6_BITS}`;
}

/** IPv4 candidate from a hash: 100.[64..127].[0..255].[1..254], from its first 4 bytes. */
export function ipv4Candidate(h: Uint8Array): Uint8Array {
  const x = new DataView(h.buffer, h.byteOffset, 4).getUint32(0, false);
  const host = x % 254;
  // 2³² / 254 / 2¹⁴ ≈ 1032 wraps, so the bias of the modulus is below 0.1 %.
  const rest = Math.floor(x / 254) % (64 * 256);
  return Uint8Array.of(100, 64 + (rest >> 8), rest & 0xff, 1 + host);
}

/** IPv6 candidate: the /48, subnet 0, interface ID from the hash's first 8 bytes; null for the all-zero ID. */
export function ipv6Candidate(ula: Uint8Array, h: Uint8Array): Uint8Array | null {
  const iid = h.subarray(0, 8);
  if (iid.every((b) => b === 0)) return null;
  const out = new Uint8Array(16);
  out.set(ula.subarray(0, 6), 0);
  out.set(iid, 8);
  return out;
}

function candidate(family: 'ipv4' | 'ipv6', h: CandidateHash, ula: Uint8Array, key: Uint8Array, attempt: number): string | null {
  const bytes = h(family, key, attempt);
  const ip = family === 'ipv4' ? ipv4Candidate(bytes) : ipv6Candidate(ula, bytes);
  return ip && formatIp(ip);
}

function firstChoice(family: 'ipv4' | 'ipv6', h: CandidateHash, ula: Uint8Array, key: Uint8Array): string | null {
  for (let k = 0; k < MAX_ATTEMPTS; k++) {
    const c = candidate(family, h, ula, key, k);
    if (c !== null) return c;
  }
  return null;
}

function hex(key: Uint8Array): string {
  return Buffer.from(key).toString('hex');
}

/**
 * The addresses of `selfKey` in the network, given every other key known to be a member
 * (`knownMemberKeys` may include `selfKey` and duplicates; both are ignored).
 */
export function assignAddresses(
  selfKey: Uint8Array,
  knownMemberKeys: readonly Uint8Array[],
  secret: Uint8Array,
  hashFn: CandidateHash = networkCandidateHash(secret),
): OverlayAddresses {
  checkKey(selfKey, 'public key');
  const ula = ulaBytes(secret);
  const self = hex(selfKey);
  const others = new Map<string, Uint8Array>();
  for (const k of knownMemberKeys) {
    checkKey(k, 'member key');
    if (hex(k) !== self) others.set(hex(k), k);
  }
  const pick = (family: 'ipv4' | 'ipv6'): [string, number] => {
    const taken = new Set<string>();
    for (const k of others.values()) {
      const c = firstChoice(family, hashFn, ula, k);
      if (c !== null) taken.add(c);
    }
    for (let k = 0; k < MAX_ATTEMPTS; k++) {
      const c = candidate(family, hashFn, ula, selfKey, k);
      if (c !== null && !taken.has(c)) return [c, k];
    }
    throw new AddressError('exhausted', `no free ${family} overlay address after ${MAX_ATTEMPTS} candidates`);
  };
  const [ipv4, ipv4Attempt] = pick('ipv4');
  const [ipv6, ipv6Attempt] = pick('ipv6');
  return { ipv4, ipv6, ipv4Attempt, ipv6Attempt };
}

/** Every member's addresses, keyed by the key's hex. */
export function assignAll(memberKeys: readonly Uint8Array[], secret: Uint8Array, hashFn: CandidateHash = networkCandidateHash(secret)): Map<string, OverlayAddresses> {
  const out = new Map<string, OverlayAddresses>();
  for (const k of memberKeys) out.set(hex(k), assignAddresses(k, memberKeys, secret, hashFn));
  return out;
}

/** Addresses held by more than one member after assignment (the rare residue the rule cannot rule out). */
export function findDuplicates(assigned: Map<string, OverlayAddresses>): string[] {
  const seen = new Map<string, number>();
  for (const a of assigned.values()) for (const ip of [a.ipv4, a.ipv6]) seen.set(ip, (seen.get(ip) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([ip]) => ip);
}
