/**
 * WireGuard protocol constants: labels, message types, sizes and field offsets.
 *
 * Spec followed: J. A. Donenfeld, "WireGuard: Next Generation Kernel Network Tunnel", whitepaper
 * section 5.4 "Messages" — cross-checked against wireguard-go
 * device/noise-protocol.go, device/cookie.go and tai64n/tai64n.go, whose byte layout is the one
 * Debian ships and the one we must interoperate with.
 *
 * All multi-byte integers in message headers are little-endian (§5.4); TAI64N is big-endian.
 */

/** §5.4: Construction, the Noise protocol name hashed into the initial chaining key. */
export const CONSTRUCTION = 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s';
/** §5.4: Identifier, mixed into the initial hash. */
export const IDENTIFIER = 'WireGuard v1 zx2c4 Jason@zx2c4.com';
/** §5.4.4: label for the mac1 key, HASH(LABEL_MAC1 || responder static public key). */
export const LABEL_MAC1 = 'mac1----';
/** §5.4.7: label for the cookie encryption key, HASH(LABEL_COOKIE || static public key). */
export const LABEL_COOKIE = 'cookie--';

/** §5.4: sizes of the primitives. */
export const KEY_SIZE = 32;
export const PUBLIC_KEY_SIZE = 32;
export const HASH_SIZE = 32;
/** §5.4: MAC(key, input) is keyed BLAKE2s with a 16-byte output. */
export const MAC_SIZE = 16;
/** §5.4: the Poly1305 tag appended by AEAD / XAEAD. */
export const AEAD_TAG_SIZE = 16;
/** §5.4: AEAD nonce = 32 bits of zeros || 64-bit little-endian counter. */
export const AEAD_NONCE_SIZE = 12;
/** §5.4: XAEAD is XChaCha20-Poly1305 with a 24-byte random nonce. */
export const XAEAD_NONCE_SIZE = 24;
/** §5.4 TIMESTAMP(): 12-byte TAI64N. */
export const TIMESTAMP_SIZE = 12;
/** §5.4.7: the cookie is MAC(secret, source), 16 bytes. */
export const COOKIE_SIZE = 16;

/** §5.4.2, §5.4.3, §5.4.7, §5.4.6: message type byte (followed by 3 reserved zero bytes). */
export const MESSAGE_INITIATION = 1;
export const MESSAGE_RESPONSE = 2;
export const MESSAGE_COOKIE_REPLY = 3;
export const MESSAGE_TRANSPORT = 4;
/** §5.4.2: every message begins with type (1 byte) || reserved (3 zero bytes). */
export const TYPE_AND_RESERVED_SIZE = 4;

/** §5.4.2: the handshake initiation, 148 bytes. */
export const INITIATION_SIZE = 148;
export const INITIATION_OFFSET = {
  sender: 4,
  ephemeral: 8,
  encryptedStatic: 40, // 32-byte key + 16-byte tag
  encryptedTimestamp: 88, // 12-byte TAI64N + 16-byte tag
  mac1: 116,
  mac2: 132,
} as const;
export const ENCRYPTED_STATIC_SIZE = PUBLIC_KEY_SIZE + AEAD_TAG_SIZE;
export const ENCRYPTED_TIMESTAMP_SIZE = TIMESTAMP_SIZE + AEAD_TAG_SIZE;

/** §5.4.3: the handshake response, 92 bytes. */
export const RESPONSE_SIZE = 92;
export const RESPONSE_OFFSET = {
  sender: 4,
  receiver: 8,
  ephemeral: 12,
  encryptedNothing: 44, // empty plaintext: the 16-byte tag only
  mac1: 60,
  mac2: 76,
} as const;
export const ENCRYPTED_NOTHING_SIZE = AEAD_TAG_SIZE;

/** §5.4.7: the cookie reply, 64 bytes. */
export const COOKIE_REPLY_SIZE = 64;
export const COOKIE_REPLY_OFFSET = {
  receiver: 4,
  nonce: 8,
  encryptedCookie: 32, // 16-byte cookie + 16-byte tag
} as const;
export const ENCRYPTED_COOKIE_SIZE = COOKIE_SIZE + AEAD_TAG_SIZE;

/** §5.4.6: transport data header (type, reserved, receiver, 64-bit LE counter), 16 bytes. */
export const TRANSPORT_HEADER_SIZE = 16;
export const TRANSPORT_OFFSET = {
  receiver: 4,
  counter: 8,
  payload: 16,
} as const;
/** §5.4.6: the smallest transport message is a keepalive: header + tag of an empty payload. */
export const TRANSPORT_MIN_SIZE = TRANSPORT_HEADER_SIZE + AEAD_TAG_SIZE;

/**
 * §5.4.7: the cookie secret changes every two minutes, and a cookie received is usable for the
 * same period (wireguard-go CookieRefreshTime).
 */
export const COOKIE_SECRET_MAX_AGE_MS = 120_000;

/**
 * TAI64N label base (tai64n/tai64n.go `base`): 2^62 + 10, i.e. the TAI64 label of the Unix epoch
 * with the 10-second TAI−UTC offset of 1970. wireguard-go and the Linux module both add the 10;
 * a peer only compares our timestamps against our earlier ones, but matching the reference keeps
 * captured handshakes byte-comparable.
 */
export const TAI64_BASE = (1n << 62n) + 10n;
/**
 * tai64n/tai64n.go `whitenerMask`: the low 24 bits of the nanoseconds are cleared (≈16.8 ms
 * granularity) so the timestamp does not leak a fine-grained clock to an observer of the peer.
 */
export const TAI64N_WHITENER_MASK = 0x00ff_ffff;
