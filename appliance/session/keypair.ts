// One direction-pair of transport keys from a completed handshake (WireGuard whitepaper §5.4.5).

import { ReplayWindow, type Replay } from './replay.ts';
import type { InPlaceAead } from './aead.ts';
import { transportNonce } from '../dataplane/seal.ts';

/** REJECT_AFTER_MESSAGES = 2^64 − 2^13 − 1 (§6.1); counters here stay below 2^53, far past any real session. */
export const REJECT_AFTER_MESSAGES = Number.MAX_SAFE_INTEGER;

export class Keypair {
  sendCounter = 0;
  /**
   * Who seals with it: the outbound worker (counting in the send table) or the main thread
   * (`sendCounter`; relayed peers). Fixed at first use: two counters for one key would reuse
   * nonces, so a key never changes hands (a peer that changes path rekeys instead).
   */
  owner: 'worker' | 'main' | null = null;
  /** The key slot of the network secret its handshake was made under (native wire): its data
   * messages are masked with that secret's header key (wire-share.ts). */
  wireSlot = 0;
  /** Its own, or (with a data-plane worker) a window in the shared receive table that the worker
   * accepts this session's direct messages into too (dataplane/recv-table.ts). */
  replay: Replay = new ReplayWindow();
  constructor(
    readonly sendKey: Uint8Array,
    readonly receiveKey: Uint8Array,
    readonly localIndex: number,
    readonly remoteIndex: number,
    readonly isInitiator: boolean,
    readonly createdMs: number,
    readonly aead: InPlaceAead,
  ) {}

  /**
   * Seals in place: `buf[start, start+len)` holds the (padded) plaintext and 16 bytes after it
   * receive the tag. Nonce 0^32 || counter LE64 (§5.4.6).
   */
  sealInPlace(counter: number, buf: Uint8Array, start: number, len: number): void {
    this.aead.seal(this.sendKey, transportNonce(counter, NONCE), buf, start, len);
  }

  /** Opens `buf[start, end)` (ciphertext + tag) in place; false when it does not authenticate. */
  openInPlace(counter: number, buf: Uint8Array, start: number, end: number): boolean {
    return this.aead.open(this.receiveKey, transportNonce(counter, NONCE), buf, start, end);
  }

  /** The AEAD in use, e.g. for status output. */
  get cipher(): string {
    return this.aead.name;
  }

  /** Zeroes the key material (§6.3: keys are erased after REJECT_AFTER_TIME × 3). */
  wipe(): void {
    this.sendKey.fill(0);
    this.receiveKey.fill(0);
  }
}

const NONCE = new Uint8Array(12);
