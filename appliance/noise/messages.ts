/**
 * Pure codecs for the four WireGuard messages (whitepaper §5.4.2 initiation, §5.4.3 response,
 * §5.4.7 cookie reply, §5.4.6 transport data; layout as wireguard-go device/noise-protocol.go).
 *
 * Every message starts with type (1 byte) || 3 reserved zero bytes; indices are 32-bit
 * little-endian, the transport counter is 64-bit little-endian. Decoders never throw on bad
 * input — they return null — and hand back views into the buffer they were given (no copies).
 * Encoders throw a MessageError for out-of-range fields, which is a caller bug.
 */
import {
  COOKIE_REPLY_OFFSET,
  COOKIE_REPLY_SIZE,
  ENCRYPTED_COOKIE_SIZE,
  ENCRYPTED_NOTHING_SIZE,
  ENCRYPTED_STATIC_SIZE,
  ENCRYPTED_TIMESTAMP_SIZE,
  INITIATION_OFFSET,
  INITIATION_SIZE,
  MAC_SIZE,
  MESSAGE_COOKIE_REPLY,
  MESSAGE_INITIATION,
  MESSAGE_RESPONSE,
  MESSAGE_TRANSPORT,
  PUBLIC_KEY_SIZE,
  RESPONSE_OFFSET,
  RESPONSE_SIZE,
  TRANSPORT_HEADER_SIZE,
  TRANSPORT_MIN_SIZE,
  TRANSPORT_OFFSET,
  TYPE_AND_RESERVED_SIZE,
  XAEAD_NONCE_SIZE,
} from './constants.ts';

export type MessageErrorKind = 'invalid-field';

export class MessageError extends Error {
  override readonly name = 'MessageError';
  constructor(
    readonly kind: MessageErrorKind,
    message: string,
  ) {
    super(message);
  }
}

const MAX_U32 = 0xffff_ffff;
const MAX_U64 = (1n << 64n) - 1n;

/**
 * The message type of `buf`, or null when it is not a well-formed WireGuard message: reserved
 * bytes not zero, unknown type, or a size that does not fit the type (handshake messages have an
 * exact size; transport needs at least a header and a tag).
 */
export function messageType(buf: Uint8Array): number | null {
  if (!(buf instanceof Uint8Array) || buf.length < TYPE_AND_RESERVED_SIZE) return null;
  if (buf[1] !== 0 || buf[2] !== 0 || buf[3] !== 0) return null;
  const type = buf[0];
  switch (type) {
    case MESSAGE_INITIATION:
      return buf.length === INITIATION_SIZE ? type : null;
    case MESSAGE_RESPONSE:
      return buf.length === RESPONSE_SIZE ? type : null;
    case MESSAGE_COOKIE_REPLY:
      return buf.length === COOKIE_REPLY_SIZE ? type : null;
    case MESSAGE_TRANSPORT:
      return buf.length >= TRANSPORT_MIN_SIZE ? type : null;
    default:
      return null;
  }
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function putHeader(out: Uint8Array, type: number): void {
  out[0] = type; // bytes 1..3 stay zero (reserved)
}

function putU32(out: Uint8Array, offset: number, value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_U32) {
    throw new MessageError('invalid-field', `${what} must be an unsigned 32-bit integer`);
  }
  view(out).setUint32(offset, value, true);
}

function putBytes(out: Uint8Array, offset: number, value: Uint8Array, size: number, what: string): void {
  if (!(value instanceof Uint8Array) || value.length !== size) {
    throw new MessageError('invalid-field', `${what} must be ${size} bytes`);
  }
  out.set(value, offset);
}

/** Sender index of an initiation or response (both at offset 4), else null. */
export function readSenderIndex(buf: Uint8Array): number | null {
  const type = messageType(buf);
  if (type !== MESSAGE_INITIATION && type !== MESSAGE_RESPONSE) return null;
  return view(buf).getUint32(INITIATION_OFFSET.sender, true);
}

/** Receiver index of a response, cookie reply or transport message, else null. */
export function readReceiverIndex(buf: Uint8Array): number | null {
  switch (messageType(buf)) {
    case MESSAGE_RESPONSE:
      return view(buf).getUint32(RESPONSE_OFFSET.receiver, true);
    case MESSAGE_COOKIE_REPLY:
      return view(buf).getUint32(COOKIE_REPLY_OFFSET.receiver, true);
    case MESSAGE_TRANSPORT:
      return view(buf).getUint32(TRANSPORT_OFFSET.receiver, true);
    default:
      return null;
  }
}

/**
 * Where mac1 and mac2 sit in an initiation or response (§5.4.4: the last 32 bytes), else null.
 * mac1 covers buf[0, mac1); mac2 covers buf[0, mac2).
 */
export function macOffsets(buf: Uint8Array): { mac1: number; mac2: number } | null {
  const type = messageType(buf);
  if (type !== MESSAGE_INITIATION && type !== MESSAGE_RESPONSE) return null;
  return { mac1: buf.length - 2 * MAC_SIZE, mac2: buf.length - MAC_SIZE };
}

// ── §5.4.2 handshake initiation ─────────────────────────────────────────────────────────────

export interface InitiationFields {
  senderIndex: number;
  ephemeral: Uint8Array;
  encryptedStatic: Uint8Array;
  encryptedTimestamp: Uint8Array;
}

/** A 148-byte initiation with mac1 and mac2 zero (the cookie layer fills them). */
export function encodeInitiation(f: InitiationFields): Uint8Array {
  const out = new Uint8Array(INITIATION_SIZE);
  putHeader(out, MESSAGE_INITIATION);
  putU32(out, INITIATION_OFFSET.sender, f.senderIndex, 'sender index');
  putBytes(out, INITIATION_OFFSET.ephemeral, f.ephemeral, PUBLIC_KEY_SIZE, 'ephemeral');
  putBytes(out, INITIATION_OFFSET.encryptedStatic, f.encryptedStatic, ENCRYPTED_STATIC_SIZE, 'encrypted static');
  putBytes(
    out,
    INITIATION_OFFSET.encryptedTimestamp,
    f.encryptedTimestamp,
    ENCRYPTED_TIMESTAMP_SIZE,
    'encrypted timestamp',
  );
  return out;
}

export function decodeInitiation(
  buf: Uint8Array,
): (InitiationFields & { mac1: Uint8Array; mac2: Uint8Array }) | null {
  if (messageType(buf) !== MESSAGE_INITIATION) return null;
  const o = INITIATION_OFFSET;
  return {
    senderIndex: view(buf).getUint32(o.sender, true),
    ephemeral: buf.subarray(o.ephemeral, o.encryptedStatic),
    encryptedStatic: buf.subarray(o.encryptedStatic, o.encryptedTimestamp),
    encryptedTimestamp: buf.subarray(o.encryptedTimestamp, o.mac1),
    mac1: buf.subarray(o.mac1, o.mac2),
    mac2: buf.subarray(o.mac2, INITIATION_SIZE),
  };
}

// ── §5.4.3 handshake response ───────────────────────────────────────────────────────────────

export interface ResponseFields {
  senderIndex: number;
  receiverIndex: number;
  ephemeral: Uint8Array;
  encryptedNothing: Uint8Array;
}

/** A 92-byte response with mac1 and mac2 zero. */
export function encodeResponse(f: ResponseFields): Uint8Array {
  const out = new Uint8Array(RESPONSE_SIZE);
  putHeader(out, MESSAGE_RESPONSE);
  putU32(out, RESPONSE_OFFSET.sender, f.senderIndex, 'sender index');
  putU32(out, RESPONSE_OFFSET.receiver, f.receiverIndex, 'receiver index');
  putBytes(out, RESPONSE_OFFSET.ephemeral, f.ephemeral, PUBLIC_KEY_SIZE, 'ephemeral');
  putBytes(out, RESPONSE_OFFSET.encryptedNothing, f.encryptedNothing, ENCRYPTED_NOTHING_SIZE, 'encrypted nothing');
  return out;
}

export function decodeResponse(
  buf: Uint8Array,
): (ResponseFields & { mac1: Uint8Array; mac2: Uint8Array }) | null {
  if (messageType(buf) !== MESSAGE_RESPONSE) return null;
  const o = RESPONSE_OFFSET;
  const v = view(buf);
  return {
    senderIndex: v.getUint32(o.sender, true),
    receiverIndex: v.getUint32(o.receiver, true),
    ephemeral: buf.subarray(o.ephemeral, o.encryptedNothing),
    encryptedNothing: buf.subarray(o.encryptedNothing, o.mac1),
    mac1: buf.subarray(o.mac1, o.mac2),
    mac2: buf.subarray(o.mac2, RESPONSE_SIZE),
  };
}

// ── §5.4.7 cookie reply ─────────────────────────────────────────────────────────────────────

export interface CookieReplyFields {
  receiverIndex: number;
  nonce: Uint8Array;
  encryptedCookie: Uint8Array;
}

export function encodeCookieReply(f: CookieReplyFields): Uint8Array {
  const out = new Uint8Array(COOKIE_REPLY_SIZE);
  putHeader(out, MESSAGE_COOKIE_REPLY);
  putU32(out, COOKIE_REPLY_OFFSET.receiver, f.receiverIndex, 'receiver index');
  putBytes(out, COOKIE_REPLY_OFFSET.nonce, f.nonce, XAEAD_NONCE_SIZE, 'nonce');
  putBytes(out, COOKIE_REPLY_OFFSET.encryptedCookie, f.encryptedCookie, ENCRYPTED_COOKIE_SIZE, 'encrypted cookie');
  return out;
}

export function decodeCookieReply(buf: Uint8Array): CookieReplyFields | null {
  if (messageType(buf) !== MESSAGE_COOKIE_REPLY) return null;
  const o = COOKIE_REPLY_OFFSET;
  return {
    receiverIndex: view(buf).getUint32(o.receiver, true),
    nonce: buf.subarray(o.nonce, o.encryptedCookie),
    encryptedCookie: buf.subarray(o.encryptedCookie, COOKIE_REPLY_SIZE),
  };
}

// ── §5.4.6 transport data ───────────────────────────────────────────────────────────────────

export interface TransportFields {
  receiverIndex: number;
  counter: bigint;
  /** The AEAD output: encrypted (padded) packet || 16-byte tag. */
  ciphertext: Uint8Array;
}

export function encodeTransport(f: TransportFields): Uint8Array {
  if (typeof f.counter !== 'bigint' || f.counter < 0n || f.counter > MAX_U64) {
    throw new MessageError('invalid-field', 'counter must be an unsigned 64-bit bigint');
  }
  if (!(f.ciphertext instanceof Uint8Array) || f.ciphertext.length < TRANSPORT_MIN_SIZE - TRANSPORT_HEADER_SIZE) {
    throw new MessageError('invalid-field', 'ciphertext must hold at least the 16-byte tag');
  }
  const out = new Uint8Array(TRANSPORT_HEADER_SIZE + f.ciphertext.length);
  putHeader(out, MESSAGE_TRANSPORT);
  putU32(out, TRANSPORT_OFFSET.receiver, f.receiverIndex, 'receiver index');
  view(out).setBigUint64(TRANSPORT_OFFSET.counter, f.counter, true);
  out.set(f.ciphertext, TRANSPORT_OFFSET.payload);
  return out;
}

export function decodeTransport(buf: Uint8Array): TransportFields | null {
  if (messageType(buf) !== MESSAGE_TRANSPORT) return null;
  const v = view(buf);
  return {
    receiverIndex: v.getUint32(TRANSPORT_OFFSET.receiver, true),
    counter: v.getBigUint64(TRANSPORT_OFFSET.counter, true),
    ciphertext: buf.subarray(TRANSPORT_OFFSET.payload),
  };
}
