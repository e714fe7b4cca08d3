/** Shared handshake fixtures for the noise tests. */
import { generatePrivateKey, publicKeyOf } from '../../../appliance/noise/crypto.ts';
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  type StaticIdentity,
} from '../../../appliance/noise/handshake.ts';
import { tai64nNow } from '../../../appliance/noise/tai64n.ts';

export function identity(seed?: number): StaticIdentity {
  const privateKey = seed === undefined ? generatePrivateKey() : generatePrivateKey(() => new Uint8Array(32).fill(seed));
  return { privateKey, publicKey: publicKeyOf(privateKey) };
}

export const NO_PSK = new Uint8Array(32);

export function runHandshake(psk: Uint8Array, fixed = false) {
  const alice = identity(fixed ? 1 : undefined);
  const bob = identity(fixed ? 2 : undefined);
  const timestamp = tai64nNow(1_700_000_000_000);
  const init = createInitiation({
    local: alice,
    remoteStatic: bob.publicKey,
    senderIndex: 0x11223344,
    timestamp,
    ephemeralPrivate: fixed ? new Uint8Array(32).fill(3) : undefined,
  });
  const seen = consumeInitiation({ local: bob, message: init.message });
  if (seen === null) throw new Error('responder rejected a valid initiation');
  const resp = createResponse({
    handshake: seen.handshake,
    presharedKey: psk,
    senderIndex: 0x55667788,
    ephemeralPrivate: fixed ? new Uint8Array(32).fill(4) : undefined,
  });
  const done = consumeResponse({ handshake: init.handshake, message: resp.message, presharedKey: psk });
  if (done === null) throw new Error('initiator rejected a valid response');
  return { alice, bob, timestamp, init, seen, resp, done };
}
