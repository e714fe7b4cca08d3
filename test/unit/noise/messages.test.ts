/** Codecs for the four WireGuard messages (whitepaper §5.4). */
import { describe, expect, test } from 'bun:test';
import {
  COOKIE_REPLY_SIZE,
  INITIATION_SIZE,
  MESSAGE_COOKIE_REPLY,
  MESSAGE_INITIATION,
  MESSAGE_RESPONSE,
  MESSAGE_TRANSPORT,
  RESPONSE_SIZE,
} from '../../../appliance/noise/constants.ts';
import {
  decodeCookieReply,
  decodeInitiation,
  decodeResponse,
  decodeTransport,
  encodeCookieReply,
  encodeInitiation,
  encodeResponse,
  encodeTransport,
  macOffsets,
  messageType,
  readReceiverIndex,
  readSenderIndex,
} from '../../../appliance/noise/messages.ts';
import { toHex } from './vectors.ts';

const fill = (n: number, b: number) => new Uint8Array(n).fill(b);

describe('initiation', () => {
  const msg = encodeInitiation({
    senderIndex: 0x04030201,
    ephemeral: fill(32, 0xe1),
    encryptedStatic: fill(48, 0x5a),
    encryptedTimestamp: fill(28, 0x7b),
  });
  test('layout: type 1, reserved zero, LE sender, fields in order, macs zero', () => {
    expect(msg.length).toBe(INITIATION_SIZE);
    expect(toHex(msg.subarray(0, 8))).toBe('01000000' + '01020304');
    expect(msg.subarray(8, 40).every((b) => b === 0xe1)).toBe(true);
    expect(msg.subarray(40, 88).every((b) => b === 0x5a)).toBe(true);
    expect(msg.subarray(88, 116).every((b) => b === 0x7b)).toBe(true);
    expect(msg.subarray(116).every((b) => b === 0)).toBe(true);
  });
  test('decode inverts encode', () => {
    const d = decodeInitiation(msg);
    expect(d?.senderIndex).toBe(0x04030201);
    expect(toHex(d?.ephemeral ?? new Uint8Array())).toBe(toHex(fill(32, 0xe1)));
    expect(d?.mac1.length).toBe(16);
    expect(messageType(msg)).toBe(MESSAGE_INITIATION);
    expect(readSenderIndex(msg)).toBe(0x04030201);
    expect(readReceiverIndex(msg)).toBeNull();
    expect(macOffsets(msg)).toEqual({ mac1: 116, mac2: 132 });
  });
});

describe('response', () => {
  const msg = encodeResponse({
    senderIndex: 7,
    receiverIndex: 0xfffffffe,
    ephemeral: fill(32, 1),
    encryptedNothing: fill(16, 2),
  });
  test('layout and round trip', () => {
    expect(msg.length).toBe(RESPONSE_SIZE);
    expect(toHex(msg.subarray(0, 12))).toBe('02000000' + '07000000' + 'feffffff');
    const d = decodeResponse(msg);
    expect(d?.senderIndex).toBe(7);
    expect(d?.receiverIndex).toBe(0xfffffffe);
    expect(toHex(d?.encryptedNothing ?? new Uint8Array())).toBe(toHex(fill(16, 2)));
    expect(messageType(msg)).toBe(MESSAGE_RESPONSE);
    expect(readReceiverIndex(msg)).toBe(0xfffffffe);
    expect(macOffsets(msg)).toEqual({ mac1: 60, mac2: 76 });
  });
});

describe('cookie reply', () => {
  test('layout and round trip', () => {
    const msg = encodeCookieReply({ receiverIndex: 9, nonce: fill(24, 3), encryptedCookie: fill(32, 4) });
    expect(msg.length).toBe(COOKIE_REPLY_SIZE);
    expect(toHex(msg.subarray(0, 8))).toBe('03000000' + '09000000');
    expect(messageType(msg)).toBe(MESSAGE_COOKIE_REPLY);
    const d = decodeCookieReply(msg);
    expect(d?.receiverIndex).toBe(9);
    expect(toHex(d?.nonce ?? new Uint8Array())).toBe(toHex(fill(24, 3)));
    expect(macOffsets(msg)).toBeNull();
  });
});

describe('transport', () => {
  test('header: type 4, LE receiver, LE 64-bit counter', () => {
    const msg = encodeTransport({ receiverIndex: 1, counter: 0x0102030405060708n, ciphertext: fill(16, 9) });
    expect(toHex(msg.subarray(0, 16))).toBe('04000000' + '01000000' + '0807060504030201');
    expect(messageType(msg)).toBe(MESSAGE_TRANSPORT);
    const d = decodeTransport(msg);
    expect(d?.counter).toBe(0x0102030405060708n);
    expect(d?.ciphertext.length).toBe(16);
    expect(readReceiverIndex(msg)).toBe(1);
  });
});
