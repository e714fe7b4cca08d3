/**
 * WireGuard's DoS cookies: whitepaper §5.3 (denial-of-service mitigation), §5.4.4 (mac1, mac2)
 * and §5.4.7 (cookie reply), following wireguard-go device/cookie.go.
 *
 *   mac1   = MAC(HASH(LABEL_MAC1 || S_receiver_pub), msg[0 .. mac1))
 *   cookie = MAC(R_secret, source ip bytes || source port big-endian), R rotating every 120 s
 *   mac2   = MAC(cookie, msg[0 .. mac2))
 *   reply  = XAEAD(HASH(LABEL_COOKIE || S_receiver_pub), random 24-byte nonce, cookie, mac1 of msg)
 *
 * CookieChecker sits on the receiving side (our static key); CookieGenerator on the sending side
 * (one per peer, keyed by the peer's static key). Clock and randomness are seams.
 *
 * Concurrency: Bun runs this on one thread, so the mutable fields need no locks; a caller that
 * moves it into workers must give each worker its own instances.
 */
import {
  COOKIE_SECRET_MAX_AGE_MS,
  COOKIE_SIZE,
  HASH_SIZE,
  LABEL_COOKIE,
  LABEL_MAC1,
  MAC_SIZE,
  PUBLIC_KEY_SIZE,
  XAEAD_NONCE_SIZE,
} from './constants.ts';
import { constantTimeEqual, hash, mac, xaeadOpen, xaeadSeal } from './crypto.ts';
import { decodeCookieReply, encodeCookieReply, macOffsets, readSenderIndex } from './messages.ts';
import { randomBytes } from '@noble/hashes/utils.js';

export type CookieErrorKind = 'invalid-argument' | 'invalid-message';

export class CookieError extends Error {
  override readonly name = 'CookieError';
  constructor(
    readonly kind: CookieErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** IPv4 (4) or IPv6 (16) address bytes followed by the 2-byte big-endian port. */
const SOURCE_SIZES = new Set([4 + 2, 16 + 2]);
const utf8 = new TextEncoder();

function derivedKey(label: string, publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_SIZE) {
    throw new CookieError('invalid-argument', `public key must be ${PUBLIC_KEY_SIZE} bytes`);
  }
  return hash(utf8.encode(label), publicKey);
}

function requireSource(source: Uint8Array): void {
  if (!(source instanceof Uint8Array) || !SOURCE_SIZES.has(source.length)) {
    throw new CookieError('invalid-argument', 'source must be 4 or 16 address bytes followed by a 2-byte port');
  }
}

/** Receiving side: validates mac1/mac2 on incoming handshakes and answers with cookie replies. */
export class CookieChecker {
  private readonly mac1Key: Uint8Array;
  private readonly encryptionKey: Uint8Array;
  private readonly secret = new Uint8Array(HASH_SIZE);
  private secretSetAt: number | null = null;
  private readonly now: () => number;
  private readonly random: (n: number) => Uint8Array;

  constructor(
    localPublicKey: Uint8Array,
    opts: { now?: () => number; random?: (n: number) => Uint8Array } = {},
  ) {
    this.mac1Key = derivedKey(LABEL_MAC1, localPublicKey);
    this.encryptionKey = derivedKey(LABEL_COOKIE, localPublicKey);
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? randomBytes;
  }

  /** §5.4.4: mac1 of an initiation or response addressed to us. False for anything else. */
  checkMac1(msg: Uint8Array): boolean {
    const at = macOffsets(msg);
    if (at === null) return false;
    const expected = mac(this.mac1Key, msg.subarray(0, at.mac1));
    return constantTimeEqual(expected, msg.subarray(at.mac1, at.mac2));
  }

  /**
   * §5.4.4: mac2 under the cookie we would currently give `source`. False when no secret is live
   * (nothing was ever handed out, or it is older than 120 s), so a stale cookie never passes.
   */
  checkMac2(msg: Uint8Array, source: Uint8Array): boolean {
    requireSource(source);
    const at = macOffsets(msg);
    if (at === null || !this.secretIsFresh()) return false;
    const cookie = mac(this.secret, source);
    const expected = mac(cookie, msg.subarray(0, at.mac2));
    cookie.fill(0);
    return constantTimeEqual(expected, msg.subarray(at.mac2, at.mac2 + MAC_SIZE));
  }

  /** §5.4.7: a 64-byte cookie reply to the sender index of `msg` (an initiation or response). */
  createReply(msg: Uint8Array, source: Uint8Array): Uint8Array {
    requireSource(source);
    const at = macOffsets(msg);
    const senderIndex = readSenderIndex(msg);
    if (at === null || senderIndex === null) {
      throw new CookieError('invalid-message', 'a cookie reply answers only an initiation or a response');
    }
    if (!this.secretIsFresh()) this.rotateSecret();
    const cookie = mac(this.secret, source);
    const nonce = this.random(XAEAD_NONCE_SIZE);
    if (!(nonce instanceof Uint8Array) || nonce.length !== XAEAD_NONCE_SIZE) {
      throw new CookieError('invalid-argument', 'random source returned the wrong number of bytes');
    }
    const encryptedCookie = xaeadSeal(this.encryptionKey, nonce, cookie, msg.subarray(at.mac1, at.mac2));
    cookie.fill(0);
    return encodeCookieReply({ receiverIndex: senderIndex, nonce, encryptedCookie });
  }

  private secretIsFresh(): boolean {
    return this.secretSetAt !== null && this.now() - this.secretSetAt < COOKIE_SECRET_MAX_AGE_MS;
  }

  private rotateSecret(): void {
    const fresh = this.random(HASH_SIZE);
    if (!(fresh instanceof Uint8Array) || fresh.length !== HASH_SIZE) {
      throw new CookieError('invalid-argument', 'random source returned the wrong number of bytes');
    }
    this.secret.set(fresh);
    fresh.fill(0);
    this.secretSetAt = this.now();
  }
}

/** Sending side, one per peer: stamps mac1/mac2 on our handshakes and learns cookies. */
export class CookieGenerator {
  private readonly mac1Key: Uint8Array;
  private readonly encryptionKey: Uint8Array;
  private readonly cookie = new Uint8Array(COOKIE_SIZE);
  private cookieSetAt: number | null = null;
  private lastMac1: Uint8Array | null = null;
  private readonly now: () => number;

  constructor(remotePublicKey: Uint8Array, opts: { now?: () => number } = {}) {
    this.mac1Key = derivedKey(LABEL_MAC1, remotePublicKey);
    this.encryptionKey = derivedKey(LABEL_COOKIE, remotePublicKey);
    this.now = opts.now ?? Date.now;
  }

  /**
   * Fills mac1 and — while a cookie younger than 120 s is held — mac2, in place. Without a
   * fresh cookie mac2 is written as zeros, as §5.4.4 prescribes.
   */
  addMacs(msg: Uint8Array): void {
    const at = macOffsets(msg);
    if (at === null) throw new CookieError('invalid-message', 'macs go only on an initiation or a response');
    const mac1 = mac(this.mac1Key, msg.subarray(0, at.mac1));
    msg.set(mac1, at.mac1);
    this.lastMac1 = mac1;
    if (this.cookieIsFresh()) {
      msg.set(mac(this.cookie, msg.subarray(0, at.mac2)), at.mac2);
    } else {
      msg.fill(0, at.mac2, at.mac2 + MAC_SIZE);
    }
  }

  /**
   * Stores the cookie of a reply when it decrypts against the mac1 we last sent (so only a reply
   * to our own latest handshake is accepted). The caller has already matched its receiver index.
   */
  consumeReply(reply: Uint8Array): boolean {
    const fields = decodeCookieReply(reply);
    if (fields === null || this.lastMac1 === null) return false;
    const cookie = xaeadOpen(this.encryptionKey, fields.nonce, fields.encryptedCookie, this.lastMac1);
    if (cookie === null) return false;
    this.cookie.set(cookie);
    cookie.fill(0);
    this.cookieSetAt = this.now();
    return true;
  }

  private cookieIsFresh(): boolean {
    return this.cookieSetAt !== null && this.now() - this.cookieSetAt < COOKIE_SECRET_MAX_AGE_MS;
  }
}
