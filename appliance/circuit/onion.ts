// Onion circuits, the cryptography (README "Circuits"). Pure: no sockets, no state but what the
// caller keeps.
//
// Per hop, a one-way-authenticated key agreement (Noise NK's shape: the source knows the hop's
// static key, the hop learns nothing of the source):
//   source → hop   e                         a fresh ephemeral key
//   hop → source   f, AEAD(k_auth, 0, "", T)  its own ephemeral key and proof it holds its static key
//   keys           (k_fwd, k_bwd, k_auth) = HKDF(DH(e, S_hop) ‖ DH(e, f)), with the transcript
//                  T = e ‖ f ‖ S_hop in the key derivation's context
// DH(e, S_hop) authenticates the hop (only its private key computes it); DH(e, f) gives forward
// secrecy (both ephemerals are discarded). The source reaches hop i through hops 1 … i-1, so
// only hop 1 ever sees where the source is.
//
// A layer: [counter u64 LE][AEAD(k, counter, inner) ‖ tag 16]. The source wraps a forward cell
// once per hop (innermost for the exit); each hop peels one layer with k_fwd. Backward, each hop
// adds one layer with k_bwd and the source peels them all. Each layer carries its own counter,
// seen only by the hop that holds its key, so no byte is the same at two hops.

import { dh, generatePrivateKey, hash, kdf3, publicKeyOf } from '../noise/crypto.ts';
import { aeadFor, type InPlaceAead } from '../session/aead.ts';

export const LAYER_OVERHEAD = 8 + 16;
const LABEL = new TextEncoder().encode('warren circuit v1');
const aead: InPlaceAead = aeadFor('chacha20poly1305');

export interface HopKeys {
  fwd: Uint8Array;
  bwd: Uint8Array;
}

function derive(esStatic: Uint8Array, ee: Uint8Array, e: Uint8Array, f: Uint8Array, hopStatic: Uint8Array): { keys: HopKeys; auth: Uint8Array } {
  const chain = hash(LABEL, e, f, hopStatic);
  const ikm = new Uint8Array(64);
  ikm.set(esStatic, 0);
  ikm.set(ee, 32);
  const [fwd, bwd, auth] = kdf3(chain, ikm);
  ikm.fill(0);
  return { keys: { fwd, bwd }, auth };
}

function nonceOf(counter: number): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, BigInt(counter), true);
  return n;
}

/** The source's side of one hop's key agreement. */
export class HopInitiator {
  private readonly e = generatePrivateKey();
  readonly ephemeral = publicKeyOf(this.e);

  constructor(readonly hopStatic: Uint8Array) {}

  /** The hop's answer (f ‖ tag): its keys, or null when it is not the hop we meant (or forged). */
  finish(reply: Uint8Array): HopKeys | null {
    if (reply.length < 32 + 16) return null;
    const f = reply.slice(0, 32);
    const es = dh(this.e, this.hopStatic);
    const ee = dh(this.e, f);
    this.e.fill(0);
    if (!es || !ee) return null;
    const { keys, auth } = derive(es, ee, this.ephemeral, f, this.hopStatic);
    const tag = reply.slice(32, 48);
    if (!aead.open(auth, nonceOf(0), tag, 0, 16)) return null;
    return keys;
  }
}

/** The hop's side: `e` from the source; returns the keys and the reply (f ‖ tag), or null for a bad key. */
export function hopRespond(staticPrivate: Uint8Array, e: Uint8Array): { keys: HopKeys; reply: Uint8Array } | null {
  if (e.length !== 32) return null;
  const fPriv = generatePrivateKey();
  const f = publicKeyOf(fPriv);
  const es = dh(staticPrivate, e);
  const ee = dh(fPriv, e);
  fPriv.fill(0);
  if (!es || !ee) return null;
  const { keys, auth } = derive(es, ee, e, f, publicKeyOf(staticPrivate));
  const reply = new Uint8Array(48);
  reply.set(f, 0);
  aead.seal(auth, nonceOf(0), reply, 32, 0);
  return { keys, reply };
}

const nonce = new Uint8Array(12);
const nonceView = new DataView(nonce.buffer);

/**
 * Seals one layer in place: the counter goes to buf[at, at+8), the `len` bytes after it are
 * encrypted and the tag follows them. The layer is buf[at, at + LAYER_OVERHEAD + len).
 */
export function sealLayer(key: Uint8Array, counter: number, buf: Uint8Array, at: number, len: number): number {
  new DataView(buf.buffer, buf.byteOffset).setBigUint64(at, BigInt(counter), true);
  nonceView.setBigUint64(4, BigInt(counter), true);
  aead.seal(key, nonce, buf, at + 8, len);
  return LAYER_OVERHEAD + len;
}

/** Opens the layer buf[at, end) in place: the plaintext's length (at at + 8), or -1 (then buf is unchanged). */
export function openLayer(key: Uint8Array, buf: Uint8Array, at: number, end: number): number {
  if (end - at < LAYER_OVERHEAD) return -1;
  const counter = new DataView(buf.buffer, buf.byteOffset).getBigUint64(at, true);
  if (counter > BigInt(Number.MAX_SAFE_INTEGER)) return -1;
  nonceView.setBigUint64(4, counter, true);
  return aead.open(key, nonce, buf, at + 8, end) ? end - at - LAYER_OVERHEAD : -1;
}

/** One layer around `inner` under `key` and `counter` (a new buffer). */
export function wrap(key: Uint8Array, counter: number, inner: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + inner.length + 16);
  out.set(inner, 8);
  sealLayer(key, counter, out, 0, inner.length);
  return out;
}

/** The inside of one layer (a copy), with its counter; null when it does not authenticate. */
export function peel(key: Uint8Array, layer: Uint8Array): { counter: number; inner: Uint8Array } | null {
  const buf = layer.slice();
  const len = openLayer(key, buf, 0, buf.length);
  if (len < 0) return null;
  return { counter: Number(new DataView(buf.buffer).getBigUint64(0, true)), inner: buf.subarray(8, 8 + len) };
}
