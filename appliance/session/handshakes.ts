// The handshake half of the session state machine (WireGuard whitepaper §5.4, §6.1): admitting
// handshake messages (mac1, and under load mac2 or a cookie reply), initiating and
// retransmitting, answering initiations, completing responses, negotiating the cipher suite on
// the native wire, and rotating a peer's keypairs. The device (appliance/device.ts) owns the
// peers and the data path; this class reaches them through HandshakeHost.

import { createInitiation, consumeInitiation, createResponse, consumeResponse, type StaticIdentity } from '../noise/handshake.ts';
import type { CookieChecker } from '../noise/cookie.ts';
import { tai64nNow, tai64nAfter } from '../noise/tai64n.ts';
import { readReceiverIndex as readHandshakeReceiver } from '../noise/messages.ts';
import { endpointSourceBytes, type Endpoint } from '../dataplane/packet/addr.ts';
import type { Wire } from '../wire/wire.ts';
import { bindSuite } from '../wire/keys.ts';
import { randomU32, type IndexTable } from './index-table.ts';
import { Keypair } from './keypair.ts';
import { aeadFor, type Suite } from './aead.ts';
import type { Peer } from './peer.ts';
import type { Counters } from './counters.ts';

const INITIATIONS_PER_SECOND = 50; // wireguard-go's per-peer flood guard on consumed initiations
const RETRANSMIT_JITTER_MS = 334; // §6.1: up to 333 ms of jitter on each retransmission

/** Capability byte of native handshake envelopes: in an initiation, what the sender runs fast. */
export const CAP_FAST_AES = 0x01;
/** In a response: the suite the responder chose. */
const SUITE_CODE: Record<Suite, number> = { chacha20poly1305: 0, aes256gcm: 1 };

export interface IndexEntry {
  peer: Peer;
  keypair: Keypair | null; // null: a pending handshake's index
}

/** What the handshake machinery needs from the device. */
export interface HandshakeHost {
  readonly identity: StaticIdentity;
  /** The wire of the current key slot of the network secret (the one new handshakes use). */
  readonly wire: Wire;
  /** The current key slot; after a rotation the other slot holds the previous secret for a while. */
  readonly wireSlot: number;
  /** The wire of a key slot, null when the slot is unused. */
  wireAt(slot: number): Wire | null;
  /** The PSK of a handshake with `peer` under a key slot's network secret. */
  pskFor(peer: Peer, slot: number): Uint8Array;
  readonly counters: Counters;
  readonly seams: { now(): number; wallNow?: () => number; random?: () => number };
  peerByKey(publicKey: Uint8Array): Peer | undefined;
  /** An authenticated initiator this device has no peer for: a member it may add (or undefined);
   * `slot` is the key slot its initiation came under. */
  admitInitiator(publicKey: Uint8Array, slot: number): Peer | undefined;
  queue(dgram: Uint8Array, ep: Endpoint): void;
  publish(peer: Peer): void;
  flushStaged(peer: Peer, now: number): void;
  sendKeepalive(peer: Peer, now: number): void;
  /** A session's receive keys came (confirmed: false for a responder's until its first message),
   * were confirmed, or went: the data-plane worker opens its messages meanwhile. */
  sessionKeys?(event: 'add' | 'confirm' | 'remove', peer: Peer | null, kp: Keypair): void;
}

export class Handshakes {
  private loadWindowStart = 0;
  private loadCount = 0;

  constructor(
    private readonly host: HandshakeHost,
    private readonly indices: IndexTable<IndexEntry>,
    private readonly cookies: CookieChecker,
    /** CAP_FAST_AES when this node offers AES-256-GCM. */
    private readonly localCaps: number,
    private readonly rekeyTimeoutMs: number,
    private readonly cookieAfterPerSecond: number,
  ) {}

  /** §5.3: under load, a handshake message must carry a valid mac2, else it gets a cookie reply. */
  private admitHandshake(msg: Uint8Array, source: Endpoint, now: number, slot: number): boolean {
    if (!this.cookies.checkMac1(msg)) {
      this.host.counters.handshakeBadMac++;
      return false;
    }
    if (now - this.loadWindowStart >= 1000) {
      this.loadWindowStart = now;
      this.loadCount = 0;
    }
    this.loadCount++;
    if (this.loadCount <= this.cookieAfterPerSecond) return true;
    const src = endpointSourceBytes(source);
    if (this.cookies.checkMac2(msg, src)) return true;
    this.host.queue(this.wireAt(slot).sealHandshake(this.cookies.createReply(msg, src), 0), source);
    this.host.counters.cookieRepliesSent++;
    return false;
  }

  /** The wire of a slot a message came in under (always in use). */
  private wireAt(slot: number): Wire {
    return this.host.wireAt(slot) ?? this.host.wire;
  }

  /** `slot`: the key slot of the network secret whose envelope it came in. */
  receiveInitiation(msg: Uint8Array, caps: number, source: Endpoint, now: number, slot = this.host.wireSlot): void {
    if (!this.admitHandshake(msg, source, now, slot)) return;
    const got = consumeInitiation({ local: this.host.identity, message: msg });
    // consumeInitiation authenticated the initiator's static key (IK: its encrypted timestamp
    // opens only after the ss mix), so a member not yet met may be admitted by key.
    const peer = got && fromItself(source, got.remoteStatic) ? this.host.peerByKey(got.remoteStatic) ?? this.host.admitInitiator(got.remoteStatic, slot) : undefined;
    if (!got || !peer) {
      this.host.counters.handshakeInvalid++;
      return;
    }
    if (peer.lastTimestamp && !tai64nAfter(got.timestamp, peer.lastTimestamp)) {
      this.host.counters.handshakeReplay++;
      return;
    }
    if (now - peer.lastInitiationConsumedMs < 1000 / INITIATIONS_PER_SECOND) {
      this.host.counters.handshakeFlood++;
      return;
    }
    peer.lastTimestamp = got.timestamp;
    peer.lastInitiationConsumedMs = now;
    this.host.counters.initiationsReceived++;
    peer.endpoint = source;
    this.host.publish(peer);

    const entry: IndexEntry = { peer, keypair: null };
    const localIndex = this.indices.allocate(entry);
    const { message, keys } = createResponse({ handshake: got.handshake, presharedKey: this.host.pskFor(peer, slot), senderIndex: localIndex });
    peer.cookie.addMacs(message);
    // The responder picks the suite: AES-256-GCM only when both ends run it in hardware.
    const suite: Suite = this.host.wire.kind === 'native' && caps & CAP_FAST_AES && this.localCaps & CAP_FAST_AES ? 'aes256gcm' : 'chacha20poly1305';
    const kp = this.keypair(keys.sendKey, keys.receiveKey, localIndex, got.remoteIndex, false, now, suite, slot);
    entry.keypair = kp;
    // A new responder session replaces any unconfirmed one and the previous session.
    this.retire(peer.next);
    this.retire(peer.previous);
    peer.previous = null;
    peer.next = kp;
    this.host.sessionKeys?.('add', peer, kp);
    this.host.queue(this.wireAt(slot).sealHandshake(message, SUITE_CODE[suite]), source);
    this.host.counters.responsesSent++;
    peer.lastSentMs = now;
    peer.lastReceivedMs = now;
  }

  receiveResponse(msg: Uint8Array, caps: number, source: Endpoint, now: number, slot = this.host.wireSlot): void {
    if (!this.admitHandshake(msg, source, now, slot)) return;
    const receiver = readHandshakeReceiver(msg) ?? 0;
    const entry = this.indices.get(receiver);
    const peer = entry?.peer;
    if (!entry || entry.keypair || !peer || !peer.handshake || peer.handshakeIndex !== receiver || peer.handshakeSlot !== slot || !fromItself(source, peer.publicKey)) {
      this.host.counters.handshakeInvalid++;
      return;
    }
    // The suite the responder chose; AES only if we offered it.
    const suite: Suite | null = this.host.wire.kind === 'wireguard' || caps === SUITE_CODE.chacha20poly1305 ? 'chacha20poly1305'
      : caps === SUITE_CODE.aes256gcm && this.localCaps & CAP_FAST_AES ? 'aes256gcm' : null;
    const got = suite ? consumeResponse({ handshake: peer.handshake, message: msg, presharedKey: this.host.pskFor(peer, slot) }) : null;
    if (!got || !suite) {
      this.host.counters.handshakeInvalid++;
      return;
    }
    this.host.counters.responsesReceived++;
    const kp = this.keypair(got.keys.sendKey, got.keys.receiveKey, receiver, got.remoteIndex, true, now, suite, slot);
    entry.keypair = kp;
    this.host.sessionKeys?.('add', peer, kp);
    peer.handshake = null;
    peer.handshakeIndex = 0;
    peer.handshakeAttempts = 0;
    peer.retransmitDueMs = 0;
    peer.endpoint = source;
    peer.lastReceivedMs = now;
    peer.newHandshakeDueMs = 0;
    this.beginInitiatorSession(peer, kp, now);
    // Confirm the keys to the responder at once: staged data, or a keepalive (§6.5).
    if (peer.staged.length > 0) this.host.flushStaged(peer, now);
    else this.host.sendKeepalive(peer, now);
  }

  receiveCookieReply(msg: Uint8Array): void {
    const entry = this.indices.get(readHandshakeReceiver(msg) ?? 0);
    if (entry && entry.peer.cookie.consumeReply(msg)) this.host.counters.cookieRepliesReceived++;
    else this.host.counters.handshakeInvalid++;
  }

  /** Sends a handshake initiation, at most once per REKEY_TIMEOUT unless retransmitting (§6.1). */
  initiate(peer: Peer, isRetry: boolean): void {
    const now = this.host.seams.now();
    if (!isRetry) {
      if (peer.handshake) return; // one in flight already; its retransmissions carry on
      peer.handshakeAttempts = 0;
    }
    if (!isRetry && now - peer.lastInitiationSentMs < this.rekeyTimeoutMs) return;
    const ep = peer.endpoint;
    if (!ep) return;
    if (peer.handshakeIndex) this.indices.delete(peer.handshakeIndex);
    const localIndex = this.indices.allocate({ peer, keypair: null });
    const { message, handshake } = createInitiation({
      local: this.host.identity,
      remoteStatic: peer.publicKey,
      senderIndex: localIndex,
      timestamp: tai64nNow((this.host.seams.wallNow ?? Date.now)()),
      precomputedStaticStatic: peer.precomputedStaticStatic,
    });
    peer.cookie.addMacs(message);
    // After a rotation of the network secret, every other retry goes under the previous one:
    // a member that missed the rotation opens only that (and then hears of the new secret).
    const other = 1 - this.host.wireSlot;
    const slot = isRetry && peer.handshakeAttempts % 2 === 1 && this.host.wireAt(other) ? other : this.host.wireSlot;
    peer.handshake = handshake;
    peer.handshakeIndex = localIndex;
    peer.handshakeSlot = slot;
    peer.lastInitiationSentMs = now;
    const jitter = Math.floor(((this.host.seams.random ?? randomU32)() / 0x1_0000_0000) * RETRANSMIT_JITTER_MS);
    peer.retransmitDueMs = now + this.rekeyTimeoutMs + jitter;
    peer.lastSentMs = now;
    this.host.queue(this.wireAt(slot).sealHandshake(message, this.localCaps), ep);
    this.host.counters.initiationsSent++;
  }

  /** Transport keys for a suite; on the native wire they are bound to the suite (wire/keys.ts). */
  private keypair(send: Uint8Array, receive: Uint8Array, local: number, remote: number, initiator: boolean, now: number, suite: Suite, slot: number): Keypair {
    const bound = this.host.wire.kind === 'native';
    const kp = new Keypair(bound ? bindSuite(send, suite) : send, bound ? bindSuite(receive, suite) : receive, local, remote, initiator, now, aeadFor(suite));
    kp.wireSlot = slot;
    return kp;
  }

  /**
   * Our own handshake completed (wireguard-go BeginSymmetricSession). If the peer initiated at
   * the same time, its unconfirmed session (`next`) stays as `previous`: the peer may already be
   * sending on it. Otherwise current → previous.
   */
  private beginInitiatorSession(peer: Peer, kp: Keypair, now: number): void {
    this.retire(peer.previous);
    if (peer.next) {
      peer.previous = peer.next;
      peer.next = null;
      this.host.sessionKeys?.('confirm', peer, peer.previous);
      this.retire(peer.current);
    } else {
      peer.previous = peer.current;
    }
    peer.current = kp;
    this.sessionStarted(peer, now);
    this.host.publish(peer);
  }

  /** The responder's keys are confirmed by the initiator's first transport message. */
  promoteNext(peer: Peer, now: number): void {
    const kp = peer.next;
    if (!kp) return;
    this.retire(peer.previous);
    peer.previous = peer.current;
    peer.current = kp;
    peer.next = null;
    this.host.sessionKeys?.('confirm', peer, kp);
    this.sessionStarted(peer, now);
    this.host.publish(peer);
    this.host.flushStaged(peer, now);
  }

  private sessionStarted(peer: Peer, now: number): void {
    peer.stats.handshakes++;
    peer.stats.lastHandshakeMs = now;
  }

  /** A handshake that never completed is given up (REKEY_ATTEMPT_TIME, §6.1). */
  abandon(peer: Peer): void {
    this.indices.delete(peer.handshakeIndex);
    peer.handshake = null;
    peer.handshakeIndex = 0;
    peer.retransmitDueMs = 0;
  }

  retire(kp: Keypair | null): void {
    if (!kp) return;
    this.host.sessionKeys?.('remove', null, kp);
    this.indices.delete(kp.localIndex);
    kp.wipe();
  }
}

/** A handshake that came through a relay must be from the member the relay named (it may not speak for another). */
function fromItself(source: Endpoint, key: Uint8Array): boolean {
  const to = source.relay?.to;
  return !to || sameKey(to, key);
}

export function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
