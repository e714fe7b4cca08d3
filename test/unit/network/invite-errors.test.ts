// Invites that must be refused, each with the error kind a person can act on.

import { describe, expect, test } from 'bun:test';
import { crc32, decodeInvite, encodeInvite, InviteError, type InviteErrorKind } from '../../../appliance/network/invite.ts';

const SECRET = Uint8Array.from({ length: 32 }, (_, i) => (i * 91 + 3) & 0xff);
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const PREFIX = 'warren1:';

function kindOf(text: string): InviteErrorKind | 'accepted' {
  try {
    decodeInvite(text);
    return 'accepted';
  } catch (e) {
    if (e instanceof InviteError) return e.kind;
    throw e;
  }
}

function messageOf(text: string): string {
  try {
    decodeInvite(text);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

/** What a substitution at `i` must be refused as. */
function expectedKind(i: number, ch: string): InviteErrorKind {
  if (i < 6) return 'not-invite'; // "warren"
  if (i === 6) return ch === '2' ? 'checksum' : /\d/.test(ch) ? 'version' : 'not-invite'; // 2 exists: a typo
  if (i === 7) return 'not-invite'; // the colon
  return BASE32.includes(ch) ? 'checksum' : 'character';
}

const REPLACEMENTS = [...BASE32, ...'0189:-_=!é'];

describe('every single-character substitution is refused', () => {
  for (const name of ['home', 'Familie Müller', 'x'.repeat(32)]) {
    test(`invite for "${name}"`, () => {
      const text = encodeInvite(name, SECRET);
      const wrong: string[] = [];
      let tried = 0;
      for (let i = 0; i < text.length; i++) {
        for (const ch of REPLACEMENTS) {
          if (ch === text[i]) continue;
          const bad = text.slice(0, i) + ch + text.slice(i + 1);
          tried++;
          const got = kindOf(bad);
          const want = expectedKind(i, ch);
          if (got !== want) wrong.push(`${i} ${JSON.stringify(ch)}: ${got}, expected ${want}`);
        }
      }
      expect(wrong).toEqual([]);
      expect(tried).toBeGreaterThan(text.length * 30);
    });
  }

  test('two swapped neighbours are refused too', () => {
    const text = encodeInvite('home', SECRET);
    for (let i = PREFIX.length; i < text.length - 1; i++) {
      if (text[i] === text[i + 1]) continue;
      const bad = text.slice(0, i) + text[i + 1] + text[i] + text.slice(i + 2);
      expect(kindOf(bad)).toBe('checksum');
    }
  });
});

describe('every truncation is refused as truncated', () => {
  for (const name of ['home', 'Familie Müller']) {
    test(`invite for "${name}"`, () => {
      const text = encodeInvite(name, SECRET);
      const wrong: string[] = [];
      for (let n = 1; n < text.length; n++) {
        const got = kindOf(text.slice(0, n));
        if (got !== 'truncated') wrong.push(`${n}: ${got}`);
      }
      expect(wrong).toEqual([]);
    });
  }

  test('the message says so and what to do', () => {
    const text = encodeInvite('home', SECRET);
    expect(messageOf(text.slice(0, -5))).toBe('invite is truncated: 5 characters missing at the end; copy the whole invite again');
    expect(messageOf(text.slice(0, -1))).toContain('1 character missing');
  });
});

describe('other refusals', () => {
  const text = encodeInvite('home', SECRET);

  test('nothing at all', () => {
    expect(kindOf('')).toBe('empty');
    expect(kindOf(' \n\t')).toBe('empty');
  });

  test('foreign text', () => {
    for (const foreign of ['hello world', 'https://example.com/invite', 'wg://abc', 'warren:abc', 'WARRENX:aaaa', 'bitcoin:bc1qxyz', 'vp75BnZVfasg8vRcZ0jIUK37IkMfwcOXWPWkKEWAQHg=', '{"name":"home"}']) {
      expect(kindOf(foreign)).toBe('not-invite');
    }
    expect(messageOf('hello world')).toBe('not a Warren invite: an invite starts with "warren1:"');
  });

  test('a later version is named in the error', () => {
    expect(kindOf(text.replace('warren1:', 'warren3:'))).toBe('version');
    expect(messageOf(text.replace('warren1:', 'warren27:'))).toStartWith('unsupported invite version 27:');
    expect(kindOf(text.replace('warren1:', 'warren0:'))).toBe('version');
  });

  test('extra characters at the end', () => {
    expect(kindOf(`${text}aaaaaaaa`)).toBe('malformed');
    expect(kindOf(`${text}a`)).toBe('malformed');
  });

  test('a typo message names the problem', () => {
    const bad = text.slice(0, 20) + (text[20] === 'a' ? 'b' : 'a') + text.slice(21);
    expect(messageOf(bad)).toBe('invite checksum does not match: check for a typo, or copy the invite again');
    expect(messageOf(`${text.slice(0, 20)}0${text.slice(21)}`)).toContain('"0" at character 21');
  });

  test('a correctly checksummed invite with an unusable name is malformed', () => {
    // Hand-built, as a buggy or hostile encoder would: the checksum holds, the contents do not.
    const forge = (name: Uint8Array) => {
      const p = new Uint8Array(2 + name.length + 32 + 4);
      p[0] = name.length;
      p[1] = ~name.length & 0xff;
      p.set(name, 2);
      p.set(SECRET, 2 + name.length);
      new DataView(p.buffer).setUint32(p.length - 4, crc32(p.subarray(0, p.length - 4), crc32(Uint8Array.of(1))), false);
      let bits = '';
      for (const b of p) bits += b.toString(2).padStart(8, '0');
      bits = bits.padEnd(Math.ceil(bits.length / 5) * 5, '0');
      let out = PREFIX;
      for (let i = 0; i < bits.length; i += 5) out += BASE32[parseInt(bits.slice(i, i + 5), 2)];
      return out;
    };
    expect(decodeInvite(forge(new TextEncoder().encode('home'))).name).toBe('home'); // the forger is right
    expect(kindOf(forge(new Uint8Array(0)))).toBe('malformed');
    expect(kindOf(forge(Uint8Array.of(0xc3, 0x28)))).toBe('malformed'); // not UTF-8
    expect(kindOf(forge(new TextEncoder().encode('a\x1b[31m')))).toBe('malformed');
    expect(kindOf(forge(new Uint8Array(40).fill(0x61)))).toBe('malformed');
  });

  test('encoding refuses bad names and secrets', () => {
    const kindOfEncode = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as InviteError).kind;
      }
      return 'accepted';
    };
    expect(kindOfEncode(() => encodeInvite('', SECRET))).toBe('invalid-argument');
    expect(kindOfEncode(() => encodeInvite('x'.repeat(33), SECRET))).toBe('invalid-argument');
    expect(kindOfEncode(() => encodeInvite('ü'.repeat(17), SECRET))).toBe('invalid-argument');
    expect(kindOfEncode(() => encodeInvite('evil\x1b[2J', SECRET))).toBe('invalid-argument');
    expect(kindOfEncode(() => encodeInvite('home', new Uint8Array(31)))).toBe('invalid-argument');
  });
});
