/** The IKpsk2 handshake end to end (whitepaper §5.4.2–§5.4.6). */
import { describe, expect, test } from 'bun:test';
import { aeadOpen, aeadSeal, dh, publicKeyOf } from '../../../appliance/noise/crypto.ts';
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  type StaticIdentity,
} from '../../../appliance/noise/handshake.ts';
import { decodeTransport, encodeTransport, readSenderIndex } from '../../../appliance/noise/messages.ts';
import { tai64nNow } from '../../../appliance/noise/tai64n.ts';
import { identity, NO_PSK, runHandshake } from './fixtures.ts';
import { fromHex, loadVector, toHex, utf8 } from './vectors.ts';

describe('handshake round trip', () => {
  for (const [name, psk] of [
    ['without PSK', NO_PSK],
    ['with PSK', new Uint8Array(32).fill(0xa5)],
  ] as const) {
    test(`${name}: both sides learn each other and derive swapped keys`, () => {
      const r = runHandshake(psk);
      expect(toHex(r.seen.remoteStatic)).toBe(toHex(r.alice.publicKey));
      expect(r.seen.remoteIndex).toBe(0x11223344);
      expect(toHex(r.seen.timestamp)).toBe(toHex(r.timestamp));
      expect(r.done.remoteIndex).toBe(0x55667788);
      expect(toHex(r.done.keys.sendKey)).toBe(toHex(r.resp.keys.receiveKey));
      expect(toHex(r.done.keys.receiveKey)).toBe(toHex(r.resp.keys.sendKey));
      expect(toHex(r.done.keys.sendKey)).not.toBe(toHex(r.done.keys.receiveKey));
      expect(r.init.message.length).toBe(148);
      expect(r.resp.message.length).toBe(92);
      expect(readSenderIndex(r.resp.message)).toBe(0x55667788);
    });
  }

  test('transport messages encrypt one way and decrypt the other (§5.4.6)', () => {
    const r = runHandshake(NO_PSK);
    const packet = utf8('an IP packet, padded by the session layer');
    const wire = encodeTransport({
      receiverIndex: r.done.remoteIndex,
      counter: 0n,
      ciphertext: aeadSeal(r.done.keys.sendKey, 0n, packet, new Uint8Array()),
    });
    const fields = decodeTransport(wire);
    if (fields === null) throw new Error('transport message did not decode');
    expect(fields.receiverIndex).toBe(0x55667788);
    const opened = aeadOpen(r.resp.keys.receiveKey, fields.counter, fields.ciphertext, new Uint8Array());
    expect(new TextDecoder().decode(opened ?? new Uint8Array())).toBe(new TextDecoder().decode(packet));
    // And back, responder → initiator, with a later counter.
    const back = aeadSeal(r.resp.keys.sendKey, 1n, utf8('reply'), new Uint8Array());
    expect(aeadOpen(r.done.keys.receiveKey, 1n, back, new Uint8Array())).not.toBeNull();
    expect(aeadOpen(r.done.keys.receiveKey, 0n, back, new Uint8Array())).toBeNull();
  });

  test('PSK changes the transport keys', () => {
    const a = runHandshake(NO_PSK, true);
    const b = runHandshake(new Uint8Array(32).fill(1), true);
    expect(toHex(a.done.keys.sendKey)).not.toBe(toHex(b.done.keys.sendKey));
    // The initiation does not depend on the PSK (psk2: it is mixed in at the response).
    expect(toHex(a.init.message)).toBe(toHex(b.init.message));
  });

  test('precomputedStaticStatic gives the same message as computing it', () => {
    const alice = identity(1);
    const bob = identity(2);
    const common = {
      local: alice,
      remoteStatic: bob.publicKey,
      senderIndex: 1,
      timestamp: tai64nNow(0),
      ephemeralPrivate: new Uint8Array(32).fill(3),
    };
    const plain = createInitiation(common);
    const ss = createInitiation({ ...common, precomputedStaticStatic: dhOf(alice, bob) });
    expect(toHex(ss.message)).toBe(toHex(plain.message));
  });
});

function dhOf(a: StaticIdentity, b: StaticIdentity): Uint8Array {
  const s = dh(a.privateKey, b.publicKey);
  if (s === null) throw new Error('unexpected low-order key');
  return s;
}

describe('fixed ephemerals', () => {
  test('the same inputs give byte-identical messages and keys', () => {
    const a = runHandshake(NO_PSK, true);
    const b = runHandshake(NO_PSK, true);
    expect(toHex(a.init.message)).toBe(toHex(b.init.message));
    expect(toHex(a.resp.message)).toBe(toHex(b.resp.message));
    expect(toHex(a.done.keys.sendKey)).toBe(toHex(b.done.keys.sendKey));
  });

  test('the ephemeral public key is what goes on the wire', () => {
    const a = runHandshake(NO_PSK, true);
    expect(toHex(a.init.message.subarray(8, 40))).toBe(toHex(publicKeyOf(new Uint8Array(32).fill(3))));
    expect(toHex(a.resp.message.subarray(12, 44))).toBe(toHex(publicKeyOf(new Uint8Array(32).fill(4))));
  });

  test('random ephemerals differ between runs', () => {
    const a = runHandshake(NO_PSK);
    const b = runHandshake(NO_PSK);
    expect(toHex(a.init.message.subarray(8, 40))).not.toBe(toHex(b.init.message.subarray(8, 40)));
  });
});

describe('key hygiene', () => {
  test('handshake secrets are zeroed once used, caller-owned keys are not', () => {
    const eph = new Uint8Array(32).fill(3);
    const alice = identity(1);
    const bob = identity(2);
    const init = createInitiation({
      local: alice,
      remoteStatic: bob.publicKey,
      senderIndex: 1,
      timestamp: tai64nNow(0),
      ephemeralPrivate: eph,
    });
    const seen = consumeInitiation({ local: bob, message: init.message });
    if (seen === null) throw new Error('rejected');
    const resp = createResponse({ handshake: seen.handshake, presharedKey: NO_PSK, senderIndex: 2 });
    expect(seen.handshake.chainingKey.every((b) => b === 0)).toBe(true);
    expect(consumeResponse({ handshake: init.handshake, message: resp.message, presharedKey: NO_PSK })).not.toBeNull();
    expect(init.handshake.ephemeralPrivate.every((b) => b === 0)).toBe(true);
    expect(init.handshake.chainingKey.every((b) => b === 0)).toBe(true);
    expect(eph.every((b) => b === 3)).toBe(true);
    expect(alice.privateKey.some((b) => b !== 0)).toBe(true);
  });
});

describe('interoperability', () => {
  const v = loadVector('wireguard-go-initiation.json') as {
    responderPrivate: string;
    responderPublic: string;
    initiatorPrivate: string;
    initiatorPublic: string;
    senderIndex: number;
    initiation: string;
  };
  test('consumes an initiation produced by wireguard-go', () => {
    const privateKey = fromHex(v.responderPrivate);
    expect(toHex(publicKeyOf(privateKey))).toBe(v.responderPublic);
    expect(toHex(publicKeyOf(fromHex(v.initiatorPrivate)))).toBe(v.initiatorPublic);
    const seen = consumeInitiation({ local: { privateKey, publicKey: fromHex(v.responderPublic) }, message: fromHex(v.initiation) });
    if (seen === null) throw new Error('the wireguard-go initiation was rejected');
    expect(toHex(seen.remoteStatic)).toBe(v.initiatorPublic);
    expect(seen.remoteIndex).toBe(v.senderIndex);
    // A TAI64N label after 2020 whose nanoseconds are whitened the way tai64n.go does it.
    const view = new DataView(seen.timestamp.buffer, seen.timestamp.byteOffset, 12);
    expect(view.getBigUint64(0, false) > (1n << 62n) + 10n + 1_577_836_800n).toBe(true);
    expect(view.getUint32(8, false) & 0x00ff_ffff).toBe(0);
  });
});
