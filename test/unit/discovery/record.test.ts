// Member records: seal/open round trip, the size cap, and every way opening fails.

import { describe, expect, test } from 'bun:test';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { BEP44_MAX_VALUE_BYTES, bencodedLength } from '../../../appliance/discovery/bep44.ts';
import {
  MAX_ENDPOINTS,
  MAX_SEALED_BYTES,
  RECORD_VERSION,
  RecordError,
  decodeRecord,
  encodeRecord,
  openRecord,
  recordSigningInput,
  sealBytes,
  sealRecord,
  type Endpoint,
  type RecordFields,
} from '../../../appliance/discovery/record.ts';
import { recordKey } from '../../../appliance/discovery/rendezvous.ts';

const secret = new Uint8Array(32).fill(9);
const H = 480_000;
const key = recordKey(secret, H);
const now = H * 3600 + 600;
const identity = ed25519.utils.randomSecretKey();
const identityKey = ed25519.getPublicKey(identity);
const staticKey = x25519.getPublicKey(x25519.utils.randomSecretKey());
const rnd = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const fields: RecordFields = {
  staticKey,
  endpoints: [
    { ip: '203.0.113.7', port: 51820, kind: 'public' },
    { ip: '192.168.1.20', port: 51820, kind: 'lan' },
    { ip: '2001:db8::7', port: 443, kind: 'public' },
    { ip: '192.168.50.0', port: 24, kind: 'subnet' },
  ],
  offers: { relay: true, exit: false },
  timestamp: now - 30,
};

const manyV6 = (n: number): Endpoint[] => Array.from({ length: n }, (_, i) => ({ ip: `2001:db8:ffff:ffff:ffff:ffff:ffff:${(i + 1).toString(16)}`, port: 65535, kind: 'public' }));

describe('record seal/open', () => {
  test('round trip', () => {
    const sealed = sealRecord(fields, identity, key);
    const opened = openRecord(sealed, key, now);
    expect(opened.ok).toBe(true);
    if (!opened.ok) return;
    expect(opened.record.version).toBe(RECORD_VERSION);
    expect(hex(opened.record.identityKey)).toBe(hex(identityKey));
    expect(hex(opened.record.staticKey)).toBe(hex(staticKey));
    expect(opened.record.endpoints).toEqual(fields.endpoints);
    expect(opened.record.offers).toEqual({ relay: true, exit: false });
    expect(opened.record.timestamp).toBe(fields.timestamp);
  });

  test('subnets: prefix lengths within the family, never flagged LAN', () => {
    expect(() => sealRecord({ ...fields, endpoints: [{ ip: '10.1.0.0', port: 33, kind: 'subnet' }] }, identity, key)).toThrow(RecordError);
    expect(() => sealRecord({ ...fields, endpoints: [{ ip: 'fd00::', port: 0, kind: 'subnet' }] }, identity, key)).toThrow(RecordError);
    const body = encodeRecord({ version: RECORD_VERSION, identityKey, ...fields, endpoints: [{ ip: '10.1.0.0', port: 16, kind: 'subnet' }] });
    expect(decodeRecord(body)?.endpoints).toEqual([{ ip: '10.1.0.0', port: 16, kind: 'subnet' }]);
    const bad = body.slice();
    bad[bad.length - 7] = 0x05; // subnet and LAN at once
    expect(decodeRecord(bad)).toBeNull();
    const tooLong = body.slice();
    tooLong[tooLong.length - 1] = 40; // /40 on IPv4
    expect(decodeRecord(tooLong)).toBeNull();
  });

  test('the DHT sees only ciphertext, fresh each time', () => {
    const a = sealRecord(fields, identity, key);
    const b = sealRecord(fields, identity, key);
    expect(hex(a)).not.toBe(hex(b));
    for (const needle of [staticKey, identityKey, new Uint8Array([203, 0, 113, 7])]) expect(hex(a).includes(hex(needle))).toBe(false);
  });

  test(`${MAX_ENDPOINTS} IPv6 endpoints stay within BEP 44's 1000 bytes; one more is refused`, () => {
    const sealed = sealRecord({ ...fields, endpoints: manyV6(MAX_ENDPOINTS) }, identity, key);
    expect(sealed.length).toBe(MAX_SEALED_BYTES);
    expect(bencodedLength(sealed)).toBeLessThanOrEqual(BEP44_MAX_VALUE_BYTES);
    const opened = openRecord(sealed, key, now);
    expect(opened.ok && opened.record.endpoints.length).toBe(MAX_ENDPOINTS);
    let error: unknown;
    try {
      sealRecord({ ...fields, endpoints: manyV6(MAX_ENDPOINTS + 1) }, identity, key);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RecordError);
    expect((error as RecordError).kind).toBe('too-many-endpoints');
  });

  test('bad fields are refused when sealing', () => {
    const bad: RecordFields[] = [
      { ...fields, staticKey: new Uint8Array(31) },
      { ...fields, timestamp: -1 },
      { ...fields, endpoints: [{ ip: 'router.example', port: 1, kind: 'public' }] },
      { ...fields, endpoints: [{ ip: '192.0.2.1', port: 0, kind: 'public' }] },
      { ...fields, endpoints: [{ ip: '192.0.2.1', port: 1, kind: 'wan' as 'lan' }] },
    ];
    for (const f of bad) expect(() => sealRecord(f, identity, key)).toThrow(RecordError);
    expect(() => sealRecord(fields, identity, new Uint8Array(16))).toThrow(RecordError);
  });
});

describe('record open errors', () => {
  const sealed = sealRecord(fields, identity, key);

  test('another network or another hour: undecryptable', () => {
    expect(openRecord(sealed, recordKey(new Uint8Array(32).fill(10), H), now)).toEqual({ ok: false, kind: 'undecryptable' });
    expect(openRecord(sealed, recordKey(secret, H + 1), now)).toEqual({ ok: false, kind: 'undecryptable' });
    expect(openRecord(new Uint8Array(10), key, now)).toEqual({ ok: false, kind: 'undecryptable' });
  });

  test('any flipped byte: undecryptable', () => {
    for (const at of [0, 23, 24, 60, sealed.length - 1]) {
      const copy = sealed.slice();
      copy[at]! ^= 0x01;
      expect(openRecord(copy, key, now)).toEqual({ ok: false, kind: 'undecryptable' });
    }
  });

  test('signed by someone other than the identity it names: bad-signature', () => {
    const body = encodeRecord({ ...fields, version: RECORD_VERSION, identityKey });
    const mallory = ed25519.utils.randomSecretKey();
    const forged = new Uint8Array([...body, ...ed25519.sign(recordSigningInput(body), mallory)]);
    expect(openRecord(sealBytes(forged, key, rnd(24)), key, now)).toEqual({ ok: false, kind: 'bad-signature' });
    // An identity key that is not a curve point fails the same way, without throwing.
    const notAPoint = encodeRecord({ ...fields, version: RECORD_VERSION, identityKey: new Uint8Array(32).fill(0xff) });
    const signed = new Uint8Array([...notAPoint, ...ed25519.sign(recordSigningInput(notAPoint), mallory)]);
    expect(openRecord(sealBytes(signed, key, rnd(24)), key, now)).toEqual({ ok: false, kind: 'bad-signature' });
  });

  test('older than 2 h or more than 10 min ahead: stale', () => {
    const at = (timestamp: number) => openRecord(sealRecord({ ...fields, timestamp }, identity, key), key, now);
    expect(at(now - 7200).ok).toBe(true);
    expect(at(now - 7201)).toEqual({ ok: false, kind: 'stale' });
    expect(at(now + 600).ok).toBe(true);
    expect(at(now + 601)).toEqual({ ok: false, kind: 'stale' });
  });

  test('well encrypted but not a record: malformed', () => {
    const body = encodeRecord({ ...fields, version: RECORD_VERSION, identityKey });
    const sign = (b: Uint8Array) => new Uint8Array([...b, ...ed25519.sign(recordSigningInput(b), identity)]);
    const cases: Uint8Array[] = [
      new Uint8Array(20), // too short to hold a body and a signature
      sign(Uint8Array.from(body, (b, i) => (i === 0 ? 2 : b))), // unknown version
      sign(body.subarray(0, body.length - 1)), // truncated endpoint
      sign(new Uint8Array([...body, 0])), // trailing byte
      sign(Uint8Array.from(body, (b, i) => (i === 73 ? 0x80 : b))), // unknown offer bit
      sign(Uint8Array.from(body, (b, i) => (i === 74 ? MAX_ENDPOINTS + 1 : b))), // endpoint count over the cap
    ];
    for (const plaintext of cases) expect(openRecord(sealBytes(plaintext, key, rnd(24)), key, now)).toEqual({ ok: false, kind: 'malformed' });
    expect(decodeRecord(body)?.endpoints).toEqual(fields.endpoints);
  });
});
