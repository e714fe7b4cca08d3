// Invites: the short text (and QR code) that carries a network's name and secret to a new device
// (DESIGN.md "Identities and networks").
//
// Text form:  warren<V>:<body>        e.g. warren1:aauqaaaaaaaaaa…
//   V      the format version, in decimal: 1, or 2 for a network whose secret was rotated.
//   body   RFC 4648 §6 base32 (lowercase, no "=" padding; unused trailing bits must be zero) of
//            n | ~n | name (n bytes of UTF-8, 1..32) | secret (32 bytes) | CRC-32 (4 bytes, big-endian)
//          and in version 2, after the secret, the address secret (32 bytes: what overlay
//          addresses derive from, the network's first secret — network/store.ts);
//          the CRC-32 (IEEE 802.3) covers the version byte followed by everything before it.
//
// Why this shape:
// - Base32 has no 0/1/8/9, so O/0 and l/1 are never both valid; it is case-insensitive, and
//   uppercase `WARREN1:…` is pure QR "alphanumeric" mode, so the QR code stays small.
// - The checksum is for typos, not for attackers (whoever holds the invite holds the secret).
//   CRC-32 detects every burst error of up to 32 bits; one wrong base32 character flips bits
//   inside one 5-bit window, and two swapped neighbours inside a 10-bit one, so either is
//   always refused — a 32-bit hash would only make that likely.
// - The name length and its complement sit in front, so a shortened invite is told apart from a
//   mistyped one: a typo there makes the two disagree (any burst of up to 8 bits does), while a
//   cut-off invite has a consistent header that promises more bytes than are there.
// Decoding ignores whitespace (terminals and chat programs wrap long lines) and letter case.

export const INVITE_VERSION = 1;
/** Invites of a network whose secret was rotated also carry its address secret. */
export const INVITE_VERSION_ROTATED = 2;
export const INVITE_SECRET_BYTES = 32;
export const INVITE_NAME_MAX_BYTES = 32;
const MAGIC = 'warren';
const HEADER_BYTES = 2;
const CRC_BYTES = 4;
/** RFC 4648 §6, lowercase. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export type InviteErrorKind =
  | 'empty' // nothing was given
  | 'not-invite' // does not start with warren<V>:
  | 'version' // a version this build does not read
  | 'truncated' // fewer characters than the invite says it has
  | 'character' // a character that base32 does not use
  | 'checksum' // a typo: the checksum, the header or the unused bits disagree
  | 'malformed' // well-formed text whose contents are unusable (too long, bad name)
  | 'invalid-argument'; // encodeInvite was given a bad name or secret

export class InviteError extends Error {
  override readonly name = 'InviteError';
  constructor(
    readonly kind: InviteErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface Invite {
  version: number;
  name: string;
  secret: Uint8Array;
  /** What overlay addresses derive from (the secret itself in version 1). */
  addressSecret: Uint8Array;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 as in IEEE 802.3 / zlib (reflected polynomial 0xEDB88320); check value of "123456789" is 0xCBF43926. */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (const b of data) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >> bits) & 31];
    }
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

/** Characters are already checked against the alphabet. Returns the bytes and whether the unused trailing bits were zero. */
function base32Decode(text: string): { bytes: Uint8Array; cleanTail: boolean } {
  const bytes = new Uint8Array(Math.floor((text.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let i = 0;
  for (const ch of text) {
    acc = ((acc << 5) | ALPHABET.indexOf(ch)) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes[i++] = (acc >> bits) & 0xff;
    }
  }
  return { bytes, cleanTail: (acc & ((1 << bits) - 1)) === 0 };
}

/** Control characters (C0, DEL, C1) in a name could rewrite the terminal that prints it. */
function checkName(name: string, kind: InviteErrorKind): Uint8Array {
  const bytes = new TextEncoder().encode(name);
  if (bytes.length < 1 || bytes.length > INVITE_NAME_MAX_BYTES) {
    throw new InviteError(kind, `network name must be 1 to ${INVITE_NAME_MAX_BYTES} bytes of UTF-8, got ${bytes.length}`);
  }
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) throw new InviteError(kind, 'network name must not contain control characters');
  return bytes;
}

/** An invite; version 2 when `addressSecret` is given and differs from the secret (a rotated network). */
export function encodeInvite(name: string, secret: Uint8Array, addressSecret: Uint8Array = secret): string {
  for (const s of [secret, addressSecret]) {
    if (!(s instanceof Uint8Array) || s.length !== INVITE_SECRET_BYTES) {
      throw new InviteError('invalid-argument', `network secret must be ${INVITE_SECRET_BYTES} bytes`);
    }
  }
  const rotated = !addressSecret.every((b, i) => b === secret[i]);
  const version = rotated ? INVITE_VERSION_ROTATED : INVITE_VERSION;
  const nameBytes = checkName(name, 'invalid-argument');
  const n = nameBytes.length;
  const payload = new Uint8Array(HEADER_BYTES + n + INVITE_SECRET_BYTES * (rotated ? 2 : 1) + CRC_BYTES);
  payload[0] = n;
  payload[1] = ~n & 0xff;
  payload.set(nameBytes, HEADER_BYTES);
  payload.set(secret, HEADER_BYTES + n);
  if (rotated) payload.set(addressSecret, HEADER_BYTES + n + INVITE_SECRET_BYTES);
  const crcAt = payload.length - CRC_BYTES;
  const crc = crc32(payload.subarray(0, crcAt), crc32(Uint8Array.of(version)));
  new DataView(payload.buffer).setUint32(crcAt, crc, false);
  return `${MAGIC}${version}:${base32Encode(payload)}`;
}

const TYPO_HINT = 'check for a typo, or copy the invite again';
const SHORT_HINT = 'copy the whole invite again';

export function decodeInvite(input: string): Invite {
  const text = input.replace(/\s+/g, '').toLowerCase();
  if (text === '') throw new InviteError('empty', 'no invite given: paste the text that `warren invite` prints');

  const colon = text.indexOf(':');
  const head = colon < 0 ? text : text.slice(0, colon);
  if (colon < 0 && (MAGIC.startsWith(head) || /^warren\d+$/.test(head))) {
    throw new InviteError('truncated', `invite is truncated: "${head}" is only its beginning; ${SHORT_HINT}`);
  }
  const m = /^warren(\d{1,6})$/.exec(head);
  if (!m) throw new InviteError('not-invite', 'not a Warren invite: an invite starts with "warren1:"');
  const version = Number(m[1]);
  if (version !== INVITE_VERSION && version !== INVITE_VERSION_ROTATED) {
    throw new InviteError('version', `unsupported invite version ${m[1]}: this Warren reads versions ${INVITE_VERSION} and ${INVITE_VERSION_ROTATED}; update Warren or ask for a new invite`);
  }
  const secrets = version === INVITE_VERSION_ROTATED ? 2 : 1;

  const body = text.slice(colon + 1);
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] as string;
    if (!ALPHABET.includes(ch)) {
      throw new InviteError('character', `invite has "${ch}" at character ${colon + 2 + i}, which no invite contains: ${TYPO_HINT}`);
    }
  }
  const { bytes, cleanTail } = base32Decode(body);
  if (bytes.length < HEADER_BYTES) throw new InviteError('truncated', `invite is truncated; ${SHORT_HINT}`);
  const n = bytes[0] as number;
  if (((n ^ (bytes[1] as number)) & 0xff) !== 0xff) {
    throw new InviteError('checksum', `invite checksum does not match: ${TYPO_HINT}`);
  }
  const total = HEADER_BYTES + n + INVITE_SECRET_BYTES * secrets + CRC_BYTES;
  const chars = Math.ceil((total * 8) / 5);
  const count = (n: number) => (n === 1 ? '1 character' : `${n} characters`);
  // The other version's length: a typo in the version digit (the checksum covers it).
  const otherChars = Math.ceil(((HEADER_BYTES + n + INVITE_SECRET_BYTES * (3 - secrets) + CRC_BYTES) * 8) / 5);
  if (body.length !== chars && body.length === otherChars) throw new InviteError('checksum', `invite checksum does not match: ${TYPO_HINT}`);
  if (body.length < chars) throw new InviteError('truncated', `invite is truncated: ${count(chars - body.length)} missing at the end; ${SHORT_HINT}`);
  if (body.length > chars) throw new InviteError('malformed', `invite is too long: ${count(body.length - chars)} too many at the end; ${TYPO_HINT}`);
  const crcAt = total - CRC_BYTES;
  const expected = crc32(bytes.subarray(0, crcAt), crc32(Uint8Array.of(version)));
  const got = new DataView(bytes.buffer).getUint32(crcAt, false);
  if (!cleanTail || expected !== got) throw new InviteError('checksum', `invite checksum does not match: ${TYPO_HINT}`);

  // The checksum held, so what follows can only fail for an invite that was made wrong.
  if (n < 1 || n > INVITE_NAME_MAX_BYTES) throw new InviteError('malformed', `invite carries a network name of ${n} bytes (1 to ${INVITE_NAME_MAX_BYTES} allowed); ask for a new invite`);
  let name: string;
  try {
    name = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(HEADER_BYTES, HEADER_BYTES + n));
  } catch {
    throw new InviteError('malformed', 'invite carries a network name that is not UTF-8; ask for a new invite');
  }
  checkName(name, 'malformed');
  const at = HEADER_BYTES + n;
  const secret = bytes.slice(at, at + INVITE_SECRET_BYTES);
  const addressSecret = secrets === 2 ? bytes.slice(at + INVITE_SECRET_BYTES, crcAt) : secret;
  return { version, name, secret, addressSecret };
}

/**
 * The invite as a QR code for a terminal, two modules per character cell. 'terminal' paints with
 * ANSI colours, so it scans on dark and light themes alike; 'utf8' is plain block characters, for
 * output that is piped or saved. Uppercase keeps the whole text in QR alphanumeric mode.
 */
export async function inviteQr(text: string, style: 'terminal' | 'utf8' = 'utf8'): Promise<string> {
  const { default: QRCode } = await import('qrcode'); // loaded only when a QR code is drawn
  const data = text.trim().toUpperCase();
  if (style === 'terminal') return QRCode.toString(data, { type: 'terminal', small: true, errorCorrectionLevel: 'M' });
  return QRCode.toString(data, { type: 'utf8', errorCorrectionLevel: 'M', margin: 2 });
}
