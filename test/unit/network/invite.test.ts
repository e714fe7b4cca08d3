// Invites: round trips, the text form, the checksum, the QR code (appliance/network/invite.ts).

import { describe, expect, test } from 'bun:test';
import { crc32, decodeInvite, encodeInvite, INVITE_VERSION, inviteQr } from '../../../appliance/network/invite.ts';

const SECRET = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);

describe('invite round trip', () => {
  const names = ['home', 'h', 'Familie Müller', '家族のネットワーク', '🐇🐇 warren 🐇🐇', 'x'.repeat(32), 'é'.repeat(16), 'a b-c_d.e'];
  for (const name of names) {
    test(`"${name}"`, () => {
      const text = encodeInvite(name, SECRET);
      const inv = decodeInvite(text);
      expect(inv.name).toBe(name);
      expect(inv.secret).toEqual(SECRET);
      expect(inv.version).toBe(INVITE_VERSION);
    });
  }

  test('every secret byte value survives', () => {
    for (let v = 0; v < 256; v++) {
      const secret = new Uint8Array(32).fill(v);
      secret[v % 32] = 255 - v;
      expect(decodeInvite(encodeInvite('net', secret)).secret).toEqual(secret);
    }
  });

  test('text form: warren1: then lowercase base32, compact', () => {
    const text = encodeInvite('home', SECRET);
    expect(text).toMatch(/^warren1:[a-z2-7]+$/);
    // 2 header + 4 name + 32 secret + 4 checksum bytes = 42 bytes → 68 base32 characters.
    expect(text.length).toBe('warren1:'.length + 68);
  });

  test('case, surrounding and embedded whitespace (wrapped lines) are ignored', () => {
    const text = encodeInvite('home', SECRET);
    const wrapped = `  ${text.toUpperCase().slice(0, 30)}\n  ${text.toUpperCase().slice(30, 50)} ${text.slice(50)}\r\n`;
    expect(decodeInvite(wrapped).secret).toEqual(SECRET);
  });

  test('the encoding is deterministic', () => {
    expect(encodeInvite('home', SECRET)).toBe(encodeInvite('home', SECRET.slice()));
  });
});

describe('crc32', () => {
  test('IEEE 802.3 check value (CRC RevEng catalogue, "CRC-32/ISO-HDLC")', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  test('chaining equals one pass', () => {
    const a = new TextEncoder().encode('12345');
    const b = new TextEncoder().encode('6789');
    expect(crc32(b, crc32(a))).toBe(0xcbf43926);
  });
});

describe('inviteQr', () => {
  const text = encodeInvite('Familie Müller', SECRET);

  test('utf8: block characters, no escape sequences, square-ish', async () => {
    const qr = await inviteQr(text);
    expect(qr.length).toBeGreaterThan(100);
    expect(qr).toMatch(/[█▀▄]/);
    expect(qr).not.toContain('\x1b');
    const lines = qr.split('\n').filter((l) => l.length > 0);
    // Two modules per character row: a version-4ish code is well under 40 rows.
    expect(lines.length).toBeLessThan(40);
  });

  test('terminal: small, with ANSI colours and block characters', async () => {
    const qr = await inviteQr(text, 'terminal');
    expect(qr).toContain('\x1b[');
    expect(qr).toMatch(/[█▀▄]/);
  });

  test('the same text gives the same code; a different invite a different one', async () => {
    expect(await inviteQr(text)).toBe(await inviteQr(text));
    expect(await inviteQr(encodeInvite('other', SECRET))).not.toBe(await inviteQr(text));
  });
});
