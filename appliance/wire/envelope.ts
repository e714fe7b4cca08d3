// The handshake envelope of the native wire: a WireGuard handshake message (initiation,
// response or cookie reply), one capability byte and random padding, encrypted with XChaCha20
// under a key derived from the network secret and a fresh random 24-byte nonce:
//
//   nonce (24, random) | XChaCha20(envelope key, nonce)( message | capabilities (1) | padding )
//
// Every byte is uniform to anyone without the network secret, and the length varies, so there
// is no type byte and no fixed handshake size to fingerprint. The envelope adds no integrity of
// its own: the message inside carries mac1 and AEAD tags, and a tampered capability byte changes
// the session keys (keys.ts bindSuite), so tampering only ever ends in a dropped handshake.

import { xchacha20 } from '@noble/ciphers/chacha.js';
import { COOKIE_REPLY_SIZE, INITIATION_SIZE, MESSAGE_COOKIE_REPLY, MESSAGE_INITIATION, MESSAGE_RESPONSE, RESPONSE_SIZE } from '../noise/constants.ts';

export const ENVELOPE_NONCE = 24;
/** Random padding per handshake datagram: 0 … MAX_PADDING bytes. */
export const MAX_PADDING = 255;

const SIZES: Record<number, number> = {
  [MESSAGE_INITIATION]: INITIATION_SIZE,
  [MESSAGE_RESPONSE]: RESPONSE_SIZE,
  [MESSAGE_COOKIE_REPLY]: COOKIE_REPLY_SIZE,
};

export interface Opened {
  type: number;
  message: Uint8Array;
  capabilities: number;
}

export function sealEnvelope(key: Uint8Array, message: Uint8Array, capabilities: number, random: (n: number) => Uint8Array): Uint8Array {
  const pad = (random(1)[0] ?? 0) % (MAX_PADDING + 1);
  const body = new Uint8Array(message.length + 1 + pad);
  body.set(message);
  body[message.length] = capabilities;
  const nonce = random(ENVELOPE_NONCE);
  const out = new Uint8Array(ENVELOPE_NONCE + body.length);
  out.set(nonce);
  xchacha20(key, nonce, body, out.subarray(ENVELOPE_NONCE));
  return out;
}

/** The message inside, or null when the datagram is not an envelope of ours (never throws). */
export function openEnvelope(key: Uint8Array, datagram: Uint8Array): Opened | null {
  if (datagram.length < ENVELOPE_NONCE + COOKIE_REPLY_SIZE + 1) return null;
  const nonce = datagram.subarray(0, ENVELOPE_NONCE);
  const head = xchacha20(key, nonce, datagram.subarray(ENVELOPE_NONCE, ENVELOPE_NONCE + 4));
  const type = head[0] ?? 0;
  const size = SIZES[type];
  if (size === undefined || head[1] !== 0 || head[2] !== 0 || head[3] !== 0) return null;
  if (datagram.length < ENVELOPE_NONCE + size + 1) return null;
  const body = xchacha20(key, nonce, datagram.subarray(ENVELOPE_NONCE, ENVELOPE_NONCE + size + 1));
  return { type, message: body.subarray(0, size), capabilities: body[size] ?? 0 };
}
