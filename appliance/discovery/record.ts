/**
 * A member record: what one appliance tells the rest of its network through the DHT
 * (DESIGN.md "Discovery") — its static X25519 key, its endpoints, its relay/exit offers.
 *
 * Layers, inside out:
 *   1. body      compact binary, big-endian (layout below) — bencode-friendly as one byte string;
 *   2. signed    body || Ed25519 signature (RFC 8032) by the member's own identity key over
 *                SIGN_DOMAIN || body; the identity public key is inside the body, so a reader
 *                learns who wrote it and can check it against its accept/deny list;
 *   3. sealed    nonce(24) || XChaCha20-Poly1305(record key of the hour, signed)
 *                (draft-irtf-cfrg-xchacha), so the DHT stores only ciphertext.
 *
 * Body v1:
 *   version u8 = 1 | identity key [32] | static key [32] | timestamp u64 (Unix seconds)
 *   | offers u8 (bit 0 relay, bit 1 exit) | endpoint count u8 (≤ MAX_ENDPOINTS)
 *   | endpoints: flags u8 (bit 0 lan, bit 1 IPv6, bit 2 subnet) | address [4 or 16] | port u16
 *   A subnet entry is a LAN the member shares (site-to-site): its "port" is the prefix length.
 *
 * Pure: the clock (`nowSeconds`) and randomness (`random`) are passed in.
 */
import { concatBytes } from '@noble/hashes/utils.js';
import { ed25519 } from './ed25519.ts';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { BEP44_MAX_VALUE_BYTES, bencodedLength } from './bep44.ts';
import { formatIp, parseIp } from '../dataplane/packet/ip-text.ts';

export const RECORD_VERSION = 1;
/** More endpoints than this are refused when sealing: it keeps a record within BEP 44's cap. */
export const MAX_ENDPOINTS = 16;
/** A record older than this is stale: BEP 44 items "MAY expire in 2 hours", so should ours. */
export const MAX_RECORD_AGE_SECONDS = 2 * 3600;
/** Clocks disagree; a record further in the future than this is refused. */
export const MAX_CLOCK_SKEW_SECONDS = 10 * 60;

const KEY_BYTES = 32;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
const SIGNATURE_BYTES = 64;
const HEADER_BYTES = 1 + 32 + 32 + 8 + 1 + 1;
const MAX_ENDPOINT_BYTES = 1 + 16 + 2;
const SIGN_DOMAIN = new TextEncoder().encode('warren member record v1\0');
const AAD = new TextEncoder().encode('warren sealed record v1');
const OFFER_RELAY = 0x01;
const OFFER_EXIT = 0x02;
const ENDPOINT_LAN = 0x01;
const ENDPOINT_IPV6 = 0x02;
const ENDPOINT_SUBNET = 0x04;

/** The largest sealed record (all endpoints IPv6). */
export const MAX_SEALED_BYTES = NONCE_BYTES + HEADER_BYTES + MAX_ENDPOINTS * MAX_ENDPOINT_BYTES + SIGNATURE_BYTES + TAG_BYTES;
if (bencodedLength(new Uint8Array(MAX_SEALED_BYTES)) > BEP44_MAX_VALUE_BYTES) throw new Error('MAX_ENDPOINTS makes records exceed BEP 44');

/** 'subnet': not a place to send to but a LAN the member routes for others (`port` = prefix length). */
export type EndpointKind = 'public' | 'lan' | 'subnet';

export interface Endpoint {
  readonly ip: string;
  readonly port: number;
  readonly kind: EndpointKind;
}

export interface Offers {
  readonly relay: boolean;
  readonly exit: boolean;
}

export interface MemberRecord {
  readonly version: number;
  /** The member's Ed25519 identity public key: the record is signed with its secret half. */
  readonly identityKey: Uint8Array;
  /** The member's X25519 static key for handshakes. */
  readonly staticKey: Uint8Array;
  readonly endpoints: readonly Endpoint[];
  readonly offers: Offers;
  /** Unix seconds when the record was made; also the BEP 44 `seq` it is published with. */
  readonly timestamp: number;
}

/** What the writer supplies; the version and identity key are filled in by sealRecord. */
export type RecordFields = Omit<MemberRecord, 'version' | 'identityKey'>;

export type OpenErrorKind = 'undecryptable' | 'bad-signature' | 'malformed' | 'stale';
export type OpenResult = { readonly ok: true; readonly record: MemberRecord } | { readonly ok: false; readonly kind: OpenErrorKind };

export type RecordErrorKind = 'invalid-argument' | 'too-many-endpoints';

/** A record that cannot be written (a programming or configuration error, not network input). */
export class RecordError extends Error {
  override readonly name = 'RecordError';
  constructor(
    readonly kind: RecordErrorKind,
    message: string,
  ) {
    super(message);
  }
}

function bytesOf(value: unknown, what: string, length: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new RecordError('invalid-argument', `${what} must be ${length} bytes`);
  }
  return value;
}


/** The body of a record (layer 1). Throws RecordError on a record that cannot be written. */
export function encodeRecord(record: MemberRecord): Uint8Array {
  if (record.version !== RECORD_VERSION) throw new RecordError('invalid-argument', `record version must be ${RECORD_VERSION}`);
  bytesOf(record.identityKey, 'identity key', KEY_BYTES);
  bytesOf(record.staticKey, 'static key', KEY_BYTES);
  if (!Number.isSafeInteger(record.timestamp) || record.timestamp < 0) throw new RecordError('invalid-argument', 'timestamp must be non-negative Unix seconds');
  if (record.endpoints.length > MAX_ENDPOINTS) {
    throw new RecordError('too-many-endpoints', `a record carries at most ${MAX_ENDPOINTS} endpoints, got ${record.endpoints.length}; drop the least useful ones`);
  }
  const out = new Uint8Array(HEADER_BYTES + record.endpoints.length * MAX_ENDPOINT_BYTES);
  const view = new DataView(out.buffer);
  out[0] = record.version;
  out.set(record.identityKey, 1);
  out.set(record.staticKey, 33);
  view.setBigUint64(65, BigInt(record.timestamp), false);
  out[73] = (record.offers.relay ? OFFER_RELAY : 0) | (record.offers.exit ? OFFER_EXIT : 0);
  out[74] = record.endpoints.length;
  let at = HEADER_BYTES;
  for (const ep of record.endpoints) {
    const ip = parseIp(ep.ip);
    if (!ip) throw new RecordError('invalid-argument', `endpoint address ${JSON.stringify(ep.ip)} is not an IP address`);
    if (ep.kind === 'subnet') {
      if (!Number.isInteger(ep.port) || ep.port < 1 || ep.port > ip.length * 8) throw new RecordError('invalid-argument', `subnet prefix length ${ep.port} is not 1..${ip.length * 8}`);
    } else if (!Number.isInteger(ep.port) || ep.port < 1 || ep.port > 65535) throw new RecordError('invalid-argument', `endpoint port ${ep.port} is not 1..65535`);
    if (ep.kind !== 'public' && ep.kind !== 'lan' && ep.kind !== 'subnet') throw new RecordError('invalid-argument', `endpoint kind must be 'public', 'lan' or 'subnet'`);
    out[at++] = (ep.kind === 'lan' ? ENDPOINT_LAN : 0) | (ep.kind === 'subnet' ? ENDPOINT_SUBNET : 0) | (ip.length === 16 ? ENDPOINT_IPV6 : 0);
    out.set(ip, at);
    at += ip.length;
    view.setUint16(at, ep.port, false);
    at += 2;
  }
  return out.slice(0, at);
}

/** Parses a body (layer 1); null when it is not a well-formed v1 body. */
export function decodeRecord(body: Uint8Array): MemberRecord | null {
  if (body.length < HEADER_BYTES || body[0] !== RECORD_VERSION) return null;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const timestamp = view.getBigUint64(65, false);
  if (timestamp > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  const offers = body[73] ?? 0;
  const count = body[74] ?? 0;
  if ((offers & ~(OFFER_RELAY | OFFER_EXIT)) !== 0 || count > MAX_ENDPOINTS) return null;
  const endpoints: Endpoint[] = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const flags = body[at];
    if (flags === undefined || (flags & ~(ENDPOINT_LAN | ENDPOINT_IPV6 | ENDPOINT_SUBNET)) !== 0) return null;
    if (flags & ENDPOINT_SUBNET && flags & ENDPOINT_LAN) return null;
    const ipLength = flags & ENDPOINT_IPV6 ? 16 : 4;
    if (at + 1 + ipLength + 2 > body.length) return null;
    const ip = formatIp(body.subarray(at + 1, at + 1 + ipLength));
    const port = view.getUint16(at + 1 + ipLength, false);
    if (port === 0 || (flags & ENDPOINT_SUBNET && port > ipLength * 8)) return null;
    endpoints.push({ ip, port, kind: flags & ENDPOINT_SUBNET ? 'subnet' : flags & ENDPOINT_LAN ? 'lan' : 'public' });
    at += 1 + ipLength + 2;
  }
  if (at !== body.length) return null;
  return {
    version: RECORD_VERSION,
    identityKey: body.slice(1, 33),
    staticKey: body.slice(33, 65),
    endpoints,
    offers: { relay: (offers & OFFER_RELAY) !== 0, exit: (offers & OFFER_EXIT) !== 0 },
    timestamp: Number(timestamp),
  };
}

/** What the identity signature covers: a domain label, then the body. */
export function recordSigningInput(body: Uint8Array): Uint8Array {
  return concatBytes(SIGN_DOMAIN, body);
}

/** Layer 3 on its own: nonce || XChaCha20-Poly1305(key, nonce, signed). */
export function sealBytes(signed: Uint8Array, key: Uint8Array, nonce: Uint8Array): Uint8Array {
  bytesOf(key, 'record key', KEY_BYTES);
  bytesOf(nonce, 'nonce', NONCE_BYTES);
  return concatBytes(nonce, xchacha20poly1305(key, nonce, AAD).encrypt(signed));
}

/**
 * Signs `fields` with the member's Ed25519 identity (its 32-byte secret seed) and encrypts the
 * result with the hour's record key (rendezvous.ts recordKey). The nonce is random: 24 bytes
 * make collisions negligible however many records a key seals.
 */
export function sealRecord(
  fields: RecordFields,
  identitySecretKey: Uint8Array,
  key: Uint8Array,
  random: (n: number) => Uint8Array = randomBytes,
): Uint8Array {
  bytesOf(identitySecretKey, 'identity secret key', KEY_BYTES);
  bytesOf(key, 'record key', KEY_BYTES);
  const record: MemberRecord = { ...fields, version: RECORD_VERSION, identityKey: ed25519.getPublicKey(identitySecretKey) };
  const body = encodeRecord(record);
  const signed = concatBytes(body, ed25519.sign(recordSigningInput(body), identitySecretKey));
  const sealed = sealBytes(signed, key, random(NONCE_BYTES));
  signed.fill(0);
  return sealed;
}

/**
 * Decrypts, parses and verifies a sealed record found in the DHT, then checks its age against
 * `nowSeconds`. Never throws on bad input: callers ignore whatever is not `ok`.
 */
export function openRecord(sealed: Uint8Array, key: Uint8Array, nowSeconds: number): OpenResult {
  bytesOf(key, 'record key', KEY_BYTES);
  if (!(sealed instanceof Uint8Array) || sealed.length < NONCE_BYTES + TAG_BYTES) return { ok: false, kind: 'undecryptable' };
  let signed: Uint8Array;
  try {
    signed = xchacha20poly1305(key, sealed.subarray(0, NONCE_BYTES), AAD).decrypt(sealed.subarray(NONCE_BYTES));
  } catch {
    return { ok: false, kind: 'undecryptable' }; // wrong key (another network or hour) or a changed byte
  }
  if (signed.length < HEADER_BYTES + SIGNATURE_BYTES) return { ok: false, kind: 'malformed' };
  const body = signed.subarray(0, signed.length - SIGNATURE_BYTES);
  const signature = signed.subarray(signed.length - SIGNATURE_BYTES);
  const record = decodeRecord(body);
  if (!record) return { ok: false, kind: 'malformed' };
  let valid = false;
  try {
    valid = ed25519.verify(signature, recordSigningInput(body), record.identityKey);
  } catch {
    valid = false; // an identity key that is not a curve point
  }
  if (!valid) return { ok: false, kind: 'bad-signature' };
  const age = nowSeconds - record.timestamp;
  if (age > MAX_RECORD_AGE_SECONDS || age < -MAX_CLOCK_SKEW_SECONDS) return { ok: false, kind: 'stale' };
  return { ok: true, record };
}
