/**
 * Error paths of appliance/noise: malformed and forged messages are rejected (null / false, never
 * a throw), caller misuse throws typed errors with a `kind`.
 */
import { describe, expect, test } from 'bun:test';
import { CookieChecker, CookieError, CookieGenerator } from '../../../appliance/noise/cookie.ts';
import { aeadOpen, aeadSeal, dh, generatePrivateKey, mac, NoiseCryptoError, xaeadSeal } from '../../../appliance/noise/crypto.ts';
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  HandshakeError,
  type StaticIdentity,
} from '../../../appliance/noise/handshake.ts';
import { encodeTransport, messageType } from '../../../appliance/noise/messages.ts';
import { tai64nAfter, tai64nNow } from '../../../appliance/noise/tai64n.ts';
import { identity, NO_PSK } from './fixtures.ts';
import { fromHex } from './vectors.ts';

const SOURCE = Uint8Array.of(198, 51, 100, 7, 0x1f, 0x90);
const PSK = new Uint8Array(32).fill(0x5c);
/** The Noise-only bit-flip sweeps run ~900 X25519 operations each in pure JS. */
const SLOW_MS = 60_000;

/** The receive path of a responder: message type → mac1 → (under load) mac2 → Noise. */
function receiveInitiation(local: StaticIdentity, checker: CookieChecker, msg: Uint8Array, underLoad: boolean) {
  if (messageType(msg) !== 1 || !checker.checkMac1(msg)) return null;
  if (underLoad && !checker.checkMac2(msg, SOURCE)) return null;
  return consumeInitiation({ local, message: msg });
}

function receiveResponse(checker: CookieChecker, hs: Parameters<typeof consumeResponse>[0]['handshake'], msg: Uint8Array, underLoad: boolean) {
  if (messageType(msg) !== 2 || !checker.checkMac1(msg)) return null;
  if (underLoad && !checker.checkMac2(msg, SOURCE)) return null;
  return consumeResponse({ handshake: hs, message: msg, presharedKey: PSK });
}

/** A fresh exchange between alice (initiator) and bob, with mac1 set on both messages. */
function exchange() {
  const alice = identity();
  const bob = identity();
  const toBob = new CookieGenerator(bob.publicKey);
  const toAlice = new CookieGenerator(alice.publicKey);
  const init = createInitiation({ local: alice, remoteStatic: bob.publicKey, senderIndex: 7, timestamp: tai64nNow() });
  toBob.addMacs(init.message);
  const seen = consumeInitiation({ local: bob, message: init.message });
  if (seen === null) throw new Error('valid initiation rejected');
  const resp = createResponse({ handshake: seen.handshake, presharedKey: PSK, senderIndex: 9 });
  toAlice.addMacs(resp.message);
  return { alice, bob, toBob, toAlice, init, resp };
}

function flipped(msg: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(msg);
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
}

describe('malformed messages', () => {
  const { bob, init, resp } = exchange();
  const cases: [string, Uint8Array][] = [
    ['truncated initiation', init.message.subarray(0, 147)],
    ['oversized initiation', Uint8Array.of(...init.message, 0)],
    ['truncated response', resp.message.subarray(0, 91)],
    ['oversized response', Uint8Array.of(...resp.message, 0)],
    ['empty', new Uint8Array()],
    ['type only', Uint8Array.of(1)],
    ['unknown type 5', Uint8Array.of(5, ...init.message.subarray(1))],
    ['type 0', Uint8Array.of(0, ...init.message.subarray(1))],
    ['initiation bytes labelled as a response', Uint8Array.of(2, ...init.message.subarray(1))],
    ['truncated transport', encodeTransport({ receiverIndex: 1, counter: 0n, ciphertext: new Uint8Array(16) }).subarray(0, 31)],
  ];
  for (const reserved of [1, 2, 3]) {
    const bad = Uint8Array.from(init.message);
    bad[reserved] = 1;
    cases.push([`nonzero reserved byte ${reserved}`, bad]);
  }
  for (const [name, msg] of cases) {
    test(name, () => {
      expect(messageType(msg) === 1 || messageType(msg) === 2 ? 'accepted' : 'rejected').toBe('rejected');
      expect(consumeInitiation({ local: bob, message: msg })).toBeNull();
      expect(new CookieChecker(bob.publicKey).checkMac1(msg)).toBe(false);
    });
  }
});

describe('every single-bit flip is rejected', () => {
  test('initiation: by Noise alone outside the sender index and the macs', () => {
    const { bob, init } = exchange();
    for (let bit = 0; bit < 116 * 8; bit++) {
      if (bit >= 4 * 8 && bit < 8 * 8) continue; // sender index: authenticated by mac1 only (§5.4.4)
      const result = consumeInitiation({ local: bob, message: flipped(init.message, bit) });
      if (result !== null) throw new Error(`bit ${bit} flip accepted`);
    }
    expect(consumeInitiation({ local: bob, message: init.message })).not.toBeNull();
  }, SLOW_MS);

  test('initiation: by the full receive path (mac2 required under load), all 1184 bits', () => {
    const { bob, toBob, init } = exchange();
    const checker = new CookieChecker(bob.publicKey);
    toBob.consumeReply(checker.createReply(init.message, SOURCE));
    const msg = Uint8Array.from(init.message);
    toBob.addMacs(msg); // now with a valid mac2
    expect(receiveInitiation(bob, checker, msg, true)).not.toBeNull();
    for (let bit = 0; bit < msg.length * 8; bit++) {
      if (receiveInitiation(bob, checker, flipped(msg, bit), true) !== null) throw new Error(`bit ${bit} flip accepted`);
    }
  });

  test('response: by Noise alone outside the sender index and the macs', () => {
    // One state for all flips: a rejected response leaves it untouched (checked at the end).
    const { init, resp } = exchange();
    for (let bit = 0; bit < 60 * 8; bit++) {
      if (bit >= 4 * 8 && bit < 8 * 8) continue; // sender index: mac1 only
      const result = consumeResponse({ handshake: init.handshake, message: flipped(resp.message, bit), presharedKey: PSK });
      if (result !== null) throw new Error(`bit ${bit} flip accepted`);
    }
    expect(consumeResponse({ handshake: init.handshake, message: resp.message, presharedKey: PSK })).not.toBeNull();
  }, SLOW_MS);

  test('response: by the full receive path, all 736 bits, and the state survives the forgeries', () => {
    const { alice, toAlice, init, resp } = exchange();
    const checker = new CookieChecker(alice.publicKey);
    toAlice.consumeReply(checker.createReply(resp.message, SOURCE));
    const msg = Uint8Array.from(resp.message);
    toAlice.addMacs(msg);
    for (let bit = 0; bit < msg.length * 8; bit++) {
      if (receiveResponse(checker, init.handshake, flipped(msg, bit), true) !== null) throw new Error(`bit ${bit} flip accepted`);
    }
    expect(receiveResponse(checker, init.handshake, msg, true)).not.toBeNull();
  });
});

describe('authentication failures', () => {
  test('wrong mac1: macs for another responder key', () => {
    const { bob, init } = exchange();
    const msg = Uint8Array.from(init.message);
    new CookieGenerator(identity().publicKey).addMacs(msg);
    expect(new CookieChecker(bob.publicKey).checkMac1(msg)).toBe(false);
    msg.fill(0, 116, 132);
    expect(new CookieChecker(bob.publicKey).checkMac1(msg)).toBe(false);
  });

  test('wrong PSK is rejected, and the right one still works afterwards', () => {
    const { init, resp } = exchange();
    expect(consumeResponse({ handshake: init.handshake, message: resp.message, presharedKey: NO_PSK })).toBeNull();
    expect(consumeResponse({ handshake: init.handshake, message: resp.message, presharedKey: PSK })).not.toBeNull();
    // …and only once.
    expect(consumeResponse({ handshake: init.handshake, message: resp.message, presharedKey: PSK })).toBeNull();
  });

  test('wrong responder key: an initiation for bob does not open for carol', () => {
    const { init } = exchange();
    expect(consumeInitiation({ local: identity(), message: init.message })).toBeNull();
  });

  test('a response to another initiation (receiver index mismatch) is rejected', () => {
    const a = exchange();
    const b = exchange();
    expect(consumeResponse({ handshake: a.init.handshake, message: b.resp.message, presharedKey: PSK })).toBeNull();
  });
});

const LOW_ORDER_POINTS = [
  '0000000000000000000000000000000000000000000000000000000000000000', // 0
  '0100000000000000000000000000000000000000000000000000000000000000', // 1
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p − 1
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p (≡ 0)
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1 (≡ 1)
];

describe('low-order and zero public keys', () => {
  test('dh returns null for every low-order point (https://cr.yp.to/ecdh.html#validate)', () => {
    const priv = generatePrivateKey();
    for (const point of LOW_ORDER_POINTS) expect(dh(priv, fromHex(point))).toBeNull();
  });

  test('createInitiation refuses a low-order peer key with a typed error', () => {
    for (const point of LOW_ORDER_POINTS) {
      const attempt = () =>
        createInitiation({ local: identity(), remoteStatic: fromHex(point), senderIndex: 1, timestamp: tai64nNow() });
      expect(attempt).toThrow(HandshakeError);
      try {
        attempt();
      } catch (e) {
        expect((e as HandshakeError).kind).toBe('invalid-public-key');
      }
    }
    expect(() =>
      createInitiation({
        local: identity(),
        remoteStatic: identity().publicKey,
        senderIndex: 1,
        timestamp: tai64nNow(),
        precomputedStaticStatic: new Uint8Array(32),
      }),
    ).toThrow(HandshakeError);
  });

  test('an initiation or response carrying a low-order ephemeral is rejected', () => {
    const { bob, toBob, init, resp } = exchange();
    for (const point of LOW_ORDER_POINTS) {
      const badInit = Uint8Array.from(init.message);
      badInit.set(fromHex(point), 8);
      toBob.addMacs(badInit); // valid mac1, so only the Noise layer stands in the way
      expect(consumeInitiation({ local: bob, message: badInit })).toBeNull();
      const badResp = Uint8Array.from(resp.message);
      badResp.set(fromHex(point), 12);
      expect(consumeResponse({ handshake: init.handshake, message: badResp, presharedKey: PSK })).toBeNull();
    }
  });
});

describe('replay', () => {
  test('a replayed initiation carries a timestamp that is not after the last one', () => {
    const { bob, init } = exchange();
    const first = consumeInitiation({ local: bob, message: init.message });
    const replay = consumeInitiation({ local: bob, message: Uint8Array.from(init.message) });
    if (first === null || replay === null) throw new Error('valid initiation rejected');
    expect(tai64nAfter(replay.timestamp, first.timestamp)).toBe(false);

    const alice = identity();
    const t0 = 1_700_000_000_000;
    const older = createInitiation({ local: alice, remoteStatic: bob.publicKey, senderIndex: 1, timestamp: tai64nNow(t0) });
    const newer = createInitiation({ local: alice, remoteStatic: bob.publicKey, senderIndex: 2, timestamp: tai64nNow(t0 + 1000) });
    const a = consumeInitiation({ local: bob, message: older.message });
    const b = consumeInitiation({ local: bob, message: newer.message });
    if (a === null || b === null) throw new Error('valid initiation rejected');
    expect(tai64nAfter(b.timestamp, a.timestamp)).toBe(true);
    expect(tai64nAfter(a.timestamp, b.timestamp)).toBe(false);
  });
});

describe('state misuse', () => {
  test('createResponse twice on one state throws state-consumed', () => {
    const { bob, init } = exchange();
    const seen = consumeInitiation({ local: bob, message: init.message });
    if (seen === null) throw new Error('valid initiation rejected');
    createResponse({ handshake: seen.handshake, presharedKey: PSK, senderIndex: 1 });
    try {
      createResponse({ handshake: seen.handshake, presharedKey: PSK, senderIndex: 1 });
      throw new Error('second createResponse did not throw');
    } catch (e) {
      expect(e).toBeInstanceOf(HandshakeError);
      expect((e as HandshakeError).kind).toBe('state-consumed');
    }
  });

  test('bad arguments throw invalid-argument', () => {
    const bob = identity();
    const bad = [
      () => createInitiation({ local: identity(), remoteStatic: new Uint8Array(31), senderIndex: 1, timestamp: tai64nNow() }),
      () => createInitiation({ local: identity(), remoteStatic: bob.publicKey, senderIndex: -1, timestamp: tai64nNow() }),
      () => createInitiation({ local: identity(), remoteStatic: bob.publicKey, senderIndex: 2 ** 32, timestamp: tai64nNow() }),
      () => createInitiation({ local: identity(), remoteStatic: bob.publicKey, senderIndex: 1, timestamp: new Uint8Array(11) }),
    ];
    for (const f of bad) {
      expect(f).toThrow(HandshakeError);
    }
  });
});

describe('cookie misuse and forgeries', () => {
  test('a reply is accepted only against the last mac1 sent', () => {
    const bob = identity();
    const checker = new CookieChecker(bob.publicKey);
    const generator = new CookieGenerator(bob.publicKey);
    const { init } = exchange();
    const msg = Uint8Array.from(init.message);
    expect(generator.consumeReply(checker.createReply(msg, SOURCE))).toBe(false); // nothing sent yet
    generator.addMacs(msg);
    const reply = checker.createReply(msg, SOURCE);
    const tampered = Uint8Array.from(reply);
    tampered[40] = (tampered[40] as number) ^ 1;
    expect(generator.consumeReply(tampered)).toBe(false);
    expect(generator.consumeReply(reply.subarray(0, 63))).toBe(false);
    const later = Uint8Array.from(msg);
    later[8] = (later[8] as number) ^ 1; // another message → another mac1
    generator.addMacs(later);
    expect(generator.consumeReply(reply)).toBe(false);
  });

  test('typed errors for a wrong source length or a non-handshake message', () => {
    const checker = new CookieChecker(identity().publicKey);
    const { init } = exchange();
    expect(() => checker.createReply(init.message, new Uint8Array(5))).toThrow(CookieError);
    expect(() => checker.checkMac2(init.message, new Uint8Array(17))).toThrow(CookieError);
    const transport = encodeTransport({ receiverIndex: 1, counter: 0n, ciphertext: new Uint8Array(16) });
    expect(() => checker.createReply(transport, SOURCE)).toThrow(CookieError);
    expect(() => new CookieGenerator(identity().publicKey).addMacs(transport)).toThrow(CookieError);
    expect(() => new CookieChecker(new Uint8Array(31))).toThrow(CookieError);
  });
});

describe('crypto entry assertions', () => {
  const key = new Uint8Array(32);
  const kindOf = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      if (e instanceof NoiseCryptoError) return e.kind;
      return `other: ${String(e)}`;
    }
    return 'no error';
  };
  test('wrong lengths', () => {
    expect(kindOf(() => aeadSeal(new Uint8Array(31), 0, new Uint8Array(), new Uint8Array()))).toBe('invalid-length');
    expect(kindOf(() => dh(new Uint8Array(31), key))).toBe('invalid-length');
    expect(kindOf(() => dh(key, new Uint8Array(33)))).toBe('invalid-length');
    expect(kindOf(() => mac(new Uint8Array(33), new Uint8Array()))).toBe('invalid-length');
    expect(kindOf(() => mac(new Uint8Array(0), new Uint8Array()))).toBe('invalid-length');
    expect(kindOf(() => xaeadSeal(key, new Uint8Array(12), new Uint8Array(), new Uint8Array()))).toBe('invalid-length');
    expect(kindOf(() => tai64nAfter(new Uint8Array(11), new Uint8Array(12)))).toBe('invalid-length');
  });
  test('counters outside 0 … 2^64 − 1', () => {
    for (const c of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, -1n, 1n << 64n]) {
      expect(kindOf(() => aeadSeal(key, c, new Uint8Array(), new Uint8Array()))).toBe('invalid-counter');
    }
    expect(kindOf(() => aeadSeal(key, (1n << 64n) - 1n, new Uint8Array(), new Uint8Array()))).toBe('no error');
  });
  test('aeadOpen of something shorter than a tag is null, not a throw', () => {
    expect(aeadOpen(key, 0, new Uint8Array(15), new Uint8Array())).toBeNull();
  });
});
