/** mac1/mac2 and the cookie reply (whitepaper §5.3, §5.4.4, §5.4.7). */
import { describe, expect, test } from 'bun:test';
import { CookieChecker, CookieGenerator } from '../../../appliance/noise/cookie.ts';
import { COOKIE_REPLY_SIZE } from '../../../appliance/noise/constants.ts';
import { createInitiation } from '../../../appliance/noise/handshake.ts';
import { readReceiverIndex } from '../../../appliance/noise/messages.ts';
import { tai64nNow } from '../../../appliance/noise/tai64n.ts';
import { identity } from './fixtures.ts';

const SOURCE_V4 = Uint8Array.of(192, 0, 2, 1, 0xca, 0x6c); // 192.0.2.1:51820
const SOURCE_V6 = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1, 0xca, 0x6c);

function setup() {
  const clock = { ms: 1_000_000 };
  const now = () => clock.ms;
  const alice = identity();
  const bob = identity();
  const checker = new CookieChecker(bob.publicKey, { now });
  const generator = new CookieGenerator(bob.publicKey, { now });
  const initiation = (senderIndex = 42) =>
    createInitiation({ local: alice, remoteStatic: bob.publicKey, senderIndex, timestamp: tai64nNow(clock.ms) }).message;
  return { clock, checker, generator, initiation };
}

describe('cookie flow under load', () => {
  test('mac2 required → cookie reply → generator stores it → mac2 now valid', () => {
    const { checker, generator, initiation } = setup();
    const first = initiation(42);
    generator.addMacs(first);
    expect(checker.checkMac1(first)).toBe(true);
    expect(checker.checkMac2(first, SOURCE_V4)).toBe(false);

    const reply = checker.createReply(first, SOURCE_V4);
    expect(reply.length).toBe(COOKIE_REPLY_SIZE);
    expect(readReceiverIndex(reply)).toBe(42);
    expect(generator.consumeReply(reply)).toBe(true);

    const second = initiation(43);
    generator.addMacs(second);
    expect(checker.checkMac1(second)).toBe(true);
    expect(checker.checkMac2(second, SOURCE_V4)).toBe(true);
    // The cookie is bound to the source address and port.
    expect(checker.checkMac2(second, Uint8Array.of(192, 0, 2, 1, 0xca, 0x6d))).toBe(false);
    expect(checker.checkMac2(second, SOURCE_V6)).toBe(false);
  });

  test('IPv6 sources work the same way', () => {
    const { checker, generator, initiation } = setup();
    const first = initiation();
    generator.addMacs(first);
    expect(generator.consumeReply(checker.createReply(first, SOURCE_V6))).toBe(true);
    const second = initiation();
    generator.addMacs(second);
    expect(checker.checkMac2(second, SOURCE_V6)).toBe(true);
  });

  test('a cookie older than 120 s is not used; one just younger is', () => {
    const { clock, checker, generator, initiation } = setup();
    const first = initiation();
    generator.addMacs(first);
    expect(generator.consumeReply(checker.createReply(first, SOURCE_V4))).toBe(true);

    clock.ms += 119_999;
    const fresh = initiation();
    generator.addMacs(fresh);
    expect(fresh.subarray(132).some((b) => b !== 0)).toBe(true);
    expect(checker.checkMac2(fresh, SOURCE_V4)).toBe(true);

    clock.ms += 1;
    const stale = initiation();
    generator.addMacs(stale);
    expect(stale.subarray(132).every((b) => b === 0)).toBe(true);
    expect(checker.checkMac2(stale, SOURCE_V4)).toBe(false);
  });

  test('the checker rotates its secret after 120 s, invalidating old cookies', () => {
    const { clock, checker, generator, initiation } = setup();
    const first = initiation();
    generator.addMacs(first);
    expect(generator.consumeReply(checker.createReply(first, SOURCE_V4))).toBe(true);
    clock.ms += 120_000;
    const msg = initiation();
    generator.addMacs(msg); // generator's cookie is stale too, so mac2 is zero
    checker.createReply(msg, SOURCE_V4); // rotates the secret
    expect(checker.checkMac2(msg, SOURCE_V4)).toBe(false);
  });

  test('the reply nonce comes from the random seam', () => {
    const bob = identity();
    let calls = 0;
    const checker = new CookieChecker(bob.publicKey, {
      random: (n) => {
        calls++;
        return new Uint8Array(n).fill(0x33);
      },
    });
    const generator = new CookieGenerator(bob.publicKey);
    const msg = createInitiation({ local: identity(), remoteStatic: bob.publicKey, senderIndex: 1, timestamp: tai64nNow() }).message;
    generator.addMacs(msg);
    const reply = checker.createReply(msg, SOURCE_V4);
    expect(reply.subarray(8, 32).every((b) => b === 0x33)).toBe(true);
    expect(calls).toBe(2); // the secret, then the nonce
  });
});
