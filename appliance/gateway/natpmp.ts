// NAT-PMP (RFC 6886) on the LAN: what BitTorrent clients (Transmission, qBittorrent/libtorrent)
// and game consoles speak to get an inbound port from "their router". Warren's answer is a port
// on the exit's WAN that reaches the device through the overlay (gateway/port-forwards.ts). This
// file is the wire format only: pure, every input is hostile (any LAN device can send anything).
//
//   request   [version 0][opcode] …          opcode 0: the external address
//                                            opcode 1/2: map UDP/TCP
//             map: [0][op][reserved u16][internal port u16][suggested external port u16][lifetime u32]
//   response  [0][128 + op][result u16][seconds since the mapping table began u32] …
//             address: [external IPv4 4]     map: [internal u16][external u16][lifetime u32]
//
// PCP (RFC 6887) clients send version 2: the "unsupported version" answer tells them to fall
// back to NAT-PMP, as the RFCs intend.

export const NATPMP_PORT = 5351;

export const RESULT = {
  success: 0,
  unsupportedVersion: 1,
  /** "Not Authorized/Refused": the device may not have inbound ports (not an overlay device). */
  refused: 2,
  /** "Network Failure": no exit answers. */
  networkFailure: 3,
  outOfResources: 4,
  unsupportedOpcode: 5,
} as const;

export type Proto = 'udp' | 'tcp';

export type NatPmpRequest =
  | { kind: 'address' }
  | { kind: 'map'; proto: Proto; internal: number; suggested: number; lifetime: number }
  /** Answered with an error only (bad version, unknown opcode, wrong length). */
  | { kind: 'bad'; opcode: number; result: number };

/** null: not worth an answer (too short to name an opcode, or itself a response). */
export function decodeRequest(msg: Uint8Array): NatPmpRequest | null {
  if (msg.length < 2) return null;
  const version = msg[0]!;
  const opcode = msg[1]!;
  if (opcode >= 128) return null; // a response (another server on the LAN): never answer one
  if (version !== 0) return { kind: 'bad', opcode, result: RESULT.unsupportedVersion };
  if (opcode === 0) return msg.length >= 2 ? { kind: 'address' } : null;
  if (opcode !== 1 && opcode !== 2) return { kind: 'bad', opcode, result: RESULT.unsupportedOpcode };
  if (msg.length < 12) return { kind: 'bad', opcode, result: RESULT.unsupportedOpcode };
  const v = new DataView(msg.buffer, msg.byteOffset, 12);
  return { kind: 'map', proto: opcode === 1 ? 'udp' : 'tcp', internal: v.getUint16(4), suggested: v.getUint16(6), lifetime: v.getUint32(8) };
}

function header(size: number, opcode: number, result: number, epoch: number): Uint8Array {
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  out[0] = 0;
  out[1] = 128 + opcode;
  v.setUint16(2, result);
  v.setUint32(4, epoch >>> 0);
  return out;
}

/** The answer to a request that cannot be served (8 bytes: RFC 6886 §3.5). */
export function encodeError(opcode: number, result: number, epoch: number): Uint8Array {
  return header(8, opcode & 0x7f, result, epoch);
}

export function encodeAddress(result: number, epoch: number, address: string | null): Uint8Array {
  const out = header(12, 0, result, epoch);
  if (address) out.set(address.split('.').map(Number), 8);
  return out;
}

export function encodeMap(proto: Proto, result: number, epoch: number, internal: number, external: number, lifetime: number): Uint8Array {
  const out = header(16, proto === 'udp' ? 1 : 2, result, epoch);
  const v = new DataView(out.buffer);
  v.setUint16(8, internal);
  v.setUint16(10, external);
  v.setUint32(12, lifetime >>> 0);
  return out;
}
