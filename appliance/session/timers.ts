// WireGuard's timers (whitepaper §6), one peer at a time, each branch one timer: retransmit or
// give up a handshake, passive and persistent keepalives, a new handshake when data gets no
// answer, key erasure; and, with an outbound worker, the worker's send times fed into them.

import type { TimerConfig } from '../config/schema.ts';
import type { Handshakes } from './handshakes.ts';
import type { Peer } from './peer.ts';
import type { DataReceiver, DataSender } from '../dataplane/outbound-host.ts';

/** The protocol timers in milliseconds. */
export type TimersMs = { [K in keyof TimerConfig]: number };

/** What the timers need from the device. */
export interface TimerHost {
  readonly handshakes: Handshakes;
  readonly seams: { sender?: DataSender; receiver?: DataReceiver };
  readonly counters: { keepalivesReceived: number };
  sendKeepalive(peer: Peer, now: number): void;
  publish(peer: Peer): void;
  log(line: string): void;
}

export function runPeerTimers(host: TimerHost, peer: Peer, now: number, t: TimersMs): void {
  const sender = host.seams.sender;
  const receiver = host.seams.receiver;
  if (receiver) syncReceived(host, receiver, peer, t);
  if (sender) syncSent(host, sender, peer, t);
  // Retransmit an unanswered initiation, or give up after REKEY_ATTEMPT_TIME.
  if (peer.handshake && peer.retransmitDueMs && now >= peer.retransmitDueMs) {
    if (++peer.handshakeAttempts > Math.ceil(t.rekeyAttemptTime / t.rekeyTimeout)) {
      host.log(`peer ${peer.name}: handshake did not complete after ${t.rekeyAttemptTime / 1000} s; dropping ${peer.staged.length} waiting packets`);
      host.handshakes.abandon(peer);
      peer.staged = [];
    } else {
      host.handshakes.initiate(peer, true);
    }
  }
  // Passive keepalive: data came in and nothing went out for KEEPALIVE_TIMEOUT.
  if (peer.keepaliveDueMs && now >= peer.keepaliveDueMs) {
    peer.keepaliveDueMs = 0;
    host.sendKeepalive(peer, now);
  }
  // Data went out and nothing authenticated came back: the peer may have lost its keys.
  if (peer.newHandshakeDueMs && now >= peer.newHandshakeDueMs) {
    peer.newHandshakeDueMs = 0;
    sender?.clearUnanswered(peer.slot);
    host.handshakes.initiate(peer, false);
  }
  // Persistent keepalive holds NAT mappings open.
  if (peer.persistentKeepalive > 0 && peer.endpoint && now - peer.lastSentMs >= peer.persistentKeepalive * 1000) {
    host.sendKeepalive(peer, now);
  }
  // Erase keys nobody renewed for REJECT_AFTER_TIME × 3 (§6.3).
  const newest = peer.current ?? peer.next;
  if (newest && now - newest.createdMs >= t.rejectAfterTime * 3) {
    host.handshakes.retire(peer.current);
    host.handshakes.retire(peer.previous);
    host.handshakes.retire(peer.next);
    peer.current = peer.previous = peer.next = null;
    host.publish(peer);
  }
}

/**
 * With the data-plane worker, data arrives without the main thread seeing it: what the worker
 * received since the last tick drives what an in-process receive would (§6: passive keepalive,
 * no new handshake while the peer answers) and the peer's figures.
 */
function syncReceived(host: TimerHost, receiver: DataReceiver, peer: Peer, t: TimersMs): void {
  const r = receiver.takeReceived(peer.slot);
  if (r.lastMs === 0) return;
  peer.stats.rxPackets += r.packets;
  peer.stats.rxBytes += r.bytes;
  host.counters.keepalivesReceived += r.keepalives;
  if (r.lastMs <= peer.lastReceivedMs) return;
  peer.lastReceivedMs = r.lastMs;
  if (r.lastMs > peer.lastDirectMs) peer.lastDirectMs = r.lastMs;
  peer.quality.heard(r.lastMs);
  peer.newHandshakeDueMs = 0;
  if (r.packets > 0 && peer.keepaliveDueMs === 0) peer.keepaliveDueMs = r.lastMs + t.keepaliveTimeout;
}

/**
 * With an outbound worker, data leaves without the main thread seeing it: its send times drive
 * the same timers an in-process send would (§6: keepalive cancel, new handshake when data gets
 * no answer, rekey when old keys are still sending).
 */
function syncSent(host: TimerHost, sender: DataSender, peer: Peer, t: TimersMs): void {
  const s = sender.sent(peer.slot);
  peer.stats.txPackets = s.txPackets;
  peer.stats.txBytes = s.txBytes;
  if (s.lastSentMs > peer.lastSentMs) {
    if (peer.keepaliveDueMs && s.lastSentMs >= peer.keepaliveDueMs - t.keepaliveTimeout) peer.keepaliveDueMs = 0;
    peer.lastSentMs = s.lastSentMs;
  }
  if (s.firstUnansweredMs && peer.newHandshakeDueMs === 0) {
    peer.newHandshakeDueMs = s.firstUnansweredMs + t.keepaliveTimeout + t.rekeyTimeout;
  }
  const kp = peer.current;
  if (kp?.isInitiator && !peer.handshake &&
      (s.lastDataSentMs >= kp.createdMs + t.rekeyAfterTime || s.counter >= t.rekeyAfterMessages)) {
    host.handshakes.initiate(peer, false);
  }
}
