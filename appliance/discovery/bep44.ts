/**
 * The pieces of BEP 44 ("Storing arbitrary data in the DHT") that Warren checks itself:
 * the exact bytes a mutable item's signature covers, and the value size cap.
 *
 * BEP 44 "Signature Verification": concatenate ("4:salt" len ":" salt) "3:seqi" seq "e1:v" and
 * the bencoded value — the salt part only when the salt is non-empty. Our values are always
 * byte strings, so the bencoded value is `<len>:<bytes>`.
 *
 * Pure: bytes in, bytes out.
 */
import { concatBytes } from '@noble/hashes/utils.js';
import { ed25519 } from './ed25519.ts';

/** BEP 44: "Storing nodes MAY reject put requests where the bencoded form of v is longer than 1000 bytes." */
export const BEP44_MAX_VALUE_BYTES = 1000;
/** BEP 44: seq "SHOULD not exceed MAX_INT64"; we keep it a safe JS integer. */
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);


/** The bencoding of a byte string: `<length>:<bytes>`. */
export function bencodeBytes(value: Uint8Array): Uint8Array {
  return concatBytes(ascii(`${value.length}:`), value);
}

/** Length of a byte string once bencoded, which is what BEP 44's 1000-byte cap limits. */
export function bencodedLength(value: Uint8Array): number {
  return String(value.length).length + 1 + value.length;
}

/** The buffer a BEP 44 mutable item's signature covers, for a byte-string value. */
export function mutableSignedBytes(salt: Uint8Array, seq: number, value: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(seq) || seq < 0 || seq > MAX_SEQ) throw new RangeError(`seq must be a non-negative safe integer, got ${seq}`);
  const parts: Uint8Array[] = [];
  if (salt.length > 0) parts.push(ascii('4:salt'), bencodeBytes(salt));
  parts.push(ascii(`3:seqi${seq}e1:v`), bencodeBytes(value));
  return concatBytes(...parts);
}

/** Ed25519 verification as the DHT needs it: never throws, a malformed input is simply false. */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return ed25519.verify(signature, message, publicKey);
  } catch {
    return false; // noble throws on a point that does not decode: not valid, not exceptional
  }
}

/** Checks a mutable item with a byte-string value as a reader must (BEP 44 "Signature Verification"). */
export function verifyMutableItem(item: { publicKey: Uint8Array; salt: Uint8Array; seq: number; value: Uint8Array; signature: Uint8Array }): boolean {
  if (!Number.isSafeInteger(item.seq) || item.seq < 0) return false;
  return verifyEd25519(item.signature, mutableSignedBytes(item.salt, item.seq, item.value), item.publicKey);
}
