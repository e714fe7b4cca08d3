// The two wire formats behind one interface, so the device's state machine is the same for both:
//   WireGuard  byte-for-byte WireGuard (whitepaper §5.4): plain type byte, index and counter;
//              what stock WireGuard apps and Debian's wireguard-go speak.
//   native     nothing fixed on the wire (DESIGN.md): handshakes in envelopes (envelope.ts),
//              data headers masked from a ciphertext sample (header-protection.ts), padding.

import { messageType } from '../noise/messages.ts';
import { COOKIE_REPLY_SIZE, INITIATION_SIZE, MESSAGE_COOKIE_REPLY, MESSAGE_INITIATION, MESSAGE_RESPONSE, RESPONSE_SIZE } from '../noise/constants.ts';
import { MESSAGE_TRANSPORT, TRANSPORT_HEADER, TRANSPORT_MIN, paddedLength, readCounter, readReceiverIndex, writeCounterLE, writeTransportHeader, writeU32LE } from '../dataplane/packet/transport.ts';
import { openEnvelope, sealEnvelope, type Opened } from './envelope.ts';
import { HEADER_BYTES, SAMPLE_BYTES, maskFunction, type MaskFn } from './header-protection.ts';
import { paddedSize, type PaddingMode } from './padding.ts';
import type { WireKeys } from './keys.ts';

export type { Opened } from './envelope.ts';

/** The (receiver index, counter) of a data message; reused, never allocated per packet. */
export interface DataHeader {
  index: number;
  counter: number;
}

export interface Wire {
  readonly kind: 'wireguard' | 'native';
  /** Bytes before the ciphertext in a data message. */
  readonly headerBytes: number;
  /** Plaintext length after padding. */
  paddedSize(len: number, mtu: number): number;
  /** Plaintext length of a keepalive (all zero bytes; 0 in WireGuard). */
  keepaliveSize(mtu: number): number;
  writeHeader(dgram: Uint8Array, index: number, counter: number): void;
  /** Called after the payload was sealed in place. */
  protect(dgram: Uint8Array): void;
  /** Reads the header of what may be a data message into `out`; false if it cannot be one. */
  readData(data: Uint8Array, out: DataHeader): boolean;
  sealHandshake(message: Uint8Array, capabilities: number): Uint8Array;
  openHandshake(data: Uint8Array): Opened | null;
}

const HANDSHAKE_SIZES: Record<number, number> = {
  [MESSAGE_INITIATION]: INITIATION_SIZE,
  [MESSAGE_RESPONSE]: RESPONSE_SIZE,
  [MESSAGE_COOKIE_REPLY]: COOKIE_REPLY_SIZE,
};

export const WIREGUARD_WIRE: Wire = {
  kind: 'wireguard',
  headerBytes: TRANSPORT_HEADER,
  paddedSize: (len, mtu) => paddedLength(len, mtu),
  keepaliveSize: () => 0,
  writeHeader: writeTransportHeader,
  protect: () => {},
  readData(data, out) {
    if (data.length < TRANSPORT_MIN || data[0] !== MESSAGE_TRANSPORT || data[1] !== 0 || data[2] !== 0 || data[3] !== 0) return false;
    out.index = readReceiverIndex(data);
    out.counter = readCounter(data);
    return true;
  },
  sealHandshake: (message) => message,
  openHandshake(data) {
    const type = messageType(data);
    if (type === null || HANDSHAKE_SIZES[type] !== data.length) return null;
    return { type, message: data, capabilities: 0 };
  },
};

export class NativeWire implements Wire {
  readonly kind = 'native';
  readonly headerBytes = HEADER_BYTES;
  private readonly mask: MaskFn = maskFunction();
  private readonly scratch = new Uint8Array(HEADER_BYTES);

  constructor(
    private readonly keys: WireKeys,
    private readonly padding: PaddingMode,
    private readonly random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n)),
  ) {}

  paddedSize(len: number, mtu: number): number {
    return paddedSize(this.padding, len, mtu);
  }

  keepaliveSize(mtu: number): number {
    // Without padding, a keepalive still gets a random size, so it is not the one tiny datagram.
    return this.padding === 'off' ? 1 + ((this.random(1)[0] ?? 0) % 64) : paddedSize(this.padding, 1, mtu);
  }

  writeHeader(dgram: Uint8Array, index: number, counter: number): void {
    writeU32LE(dgram, 0, index);
    writeCounterLE(dgram, 4, counter);
  }

  protect(dgram: Uint8Array): void {
    const m = this.scratch;
    this.mask(this.keys.header, dgram.subarray(HEADER_BYTES, HEADER_BYTES + SAMPLE_BYTES), m);
    for (let i = 0; i < HEADER_BYTES; i++) dgram[i] = (dgram[i] ?? 0) ^ (m[i] ?? 0);
  }

  readData(data: Uint8Array, out: DataHeader): boolean {
    if (data.length < HEADER_BYTES + SAMPLE_BYTES) return false;
    const h = this.scratch;
    this.mask(this.keys.header, data.subarray(HEADER_BYTES, HEADER_BYTES + SAMPLE_BYTES), h);
    for (let i = 0; i < HEADER_BYTES; i++) h[i] = (h[i] ?? 0) ^ (data[i] ?? 0);
    out.index = ((h[0] ?? 0) | ((h[1] ?? 0) << 8) | ((h[2] ?? 0) << 16) | ((h[3] ?? 0) << 24)) >>> 0;
    const lo = ((h[4] ?? 0) | ((h[5] ?? 0) << 8) | ((h[6] ?? 0) << 16) | ((h[7] ?? 0) << 24)) >>> 0;
    const hi = ((h[8] ?? 0) | ((h[9] ?? 0) << 8) | ((h[10] ?? 0) << 16) | ((h[11] ?? 0) << 24)) >>> 0;
    out.counter = hi >= 0x20_0000 ? -1 : hi * 0x1_0000_0000 + lo;
    return true;
  }

  sealHandshake(message: Uint8Array, capabilities: number): Uint8Array {
    return sealEnvelope(this.keys.envelope, message, capabilities, this.random);
  }

  openHandshake(data: Uint8Array): Opened | null {
    return openEnvelope(this.keys.envelope, data);
  }
}
