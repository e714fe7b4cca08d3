// Rotating the network secret while the network runs (DESIGN.md: "revoking a leaked invite means
// rotating the secret and re-inviting"). The network file is the truth: `warren rotate` or the
// admin writes a new secret into it (store.ts rotateNetwork), a member's notice does the same
// (adoptRotation), and the running daemon follows the file:
//
//   - new handshakes go under the new secret; sessions made under the previous one carry on, and
//     the previous secret stays accepted until its time is over (device.ts key slots), so a member
//     that missed the rotation can still come in — only a member approved here, never a new one;
//   - every member whose session is still under the previous secret is told the new one, inside
//     that session, every few seconds until it handshakes under the new one; a member told
//     handshakes again at once, and tells its own members in turn;
//   - discovery publishes and looks up under both while both are accepted;
//   - when the time is over the previous secret is forgotten, with its sessions.
//
// The notice carries the keys the rotating member had revoked (the reason for a rotation), and
// no member sends it to a key it does not approve or has revoked: a revoked device never learns
// the new secret. A notice is taken only from an approved member, and only when it is newer
// (store.ts isNewer): a higher generation, or the same one with the greater secret, so two
// members rotating at once settle on one secret.

import { encodeKey } from '../config/schema.ts';
import { equalBytes } from '@noble/ciphers/utils.js';
import { adoptRotation, fileIdentity, isKeyText, isNewer, loadNetwork, updateNetwork, expirePrevious, type Network, type RotationNotice } from './store.ts';

/** How often a member still under the previous secret is told the new one. */
export const NOTICE_INTERVAL_MS = 2_000;
/** Revoked keys a notice carries at most (the newest), so it fits one control message. */
export const NOTICE_MAX_REVOKED = 12;

/** What rotation needs of a peer and of the device (device.ts). */
export interface RotationPeer {
  readonly publicKey: Uint8Array;
  readonly name: string;
}

export interface RotationDevice<P extends RotationPeer> {
  readonly peers: readonly P[];
  onPreviousSecret(peer: P): boolean;
  rotateSecret(secret: Uint8Array): void;
  dropPreviousSecret(): void;
  readonly acceptsPreviousSecret: boolean;
  sendControl(peer: P, msg: object): boolean;
  /** A handshake now (under the current secret), so the session moves off the previous one. */
  rehandshake(peer: P): void;
}

export interface RotationDeps<P extends RotationPeer> {
  /** The network file. */
  file: string;
  dev: RotationDevice<P>;
  isApproved(key: Uint8Array): boolean;
  /** The secrets in use changed (discovery follows). */
  onSecrets(secret: Uint8Array, previous: Uint8Array | null): void;
  log(line: string): void;
  now?: () => number;
}

/** The notice as sent inside a session (JSON; keys base64). */
export function noticeMessage(net: Network): Record<string, unknown> {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  return {
    t: 'secret',
    g: net.generation,
    s: b64(net.secret),
    a: b64(net.addressSecret),
    u: (net.previous?.until ?? new Date(0)).toISOString(),
    r: net.revoked.slice(-NOTICE_MAX_REVOKED).map((m) => m.key),
  };
}

/** A notice read from a control message, checked field by field; null when it is not one. */
export function parseNotice(msg: Record<string, unknown>): RotationNotice | null {
  const { g, s, a, u, r } = msg;
  if (msg.t !== 'secret' || typeof g !== 'number' || !Number.isSafeInteger(g) || g < 1) return null;
  if (typeof s !== 'string' || !isKeyText(s) || typeof a !== 'string' || !isKeyText(a) || typeof u !== 'string') return null;
  const until = new Date(u);
  if (Number.isNaN(until.getTime())) return null;
  if (!Array.isArray(r) || r.length > NOTICE_MAX_REVOKED || !r.every((k) => typeof k === 'string' && isKeyText(k))) return null;
  return { generation: g, secret: new Uint8Array(Buffer.from(s, 'base64')), addressSecret: new Uint8Array(Buffer.from(a, 'base64')), until, revoked: r as string[] };
}

export class SecretRotation<P extends RotationPeer> {
  /** The secret the device's current key slot holds. */
  private inUse: Uint8Array;
  /** The file's identity when last read: every write renames a new file in (store.ts), so its
   * inode changes even when two writes fall within one timestamp tick. */
  private seen = '';
  private network: Network | null = null;
  private lastNoticeMs = 0;
  readonly stats = { rotations: 0, noticesSent: 0, noticesTaken: 0, noticesIgnored: 0 };

  constructor(
    private readonly deps: RotationDeps<P>,
    secret: Uint8Array,
  ) {
    this.inUse = secret;
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /** The network file as it is now (re-read when it changed); null when it cannot be read. */
  private read(): Network | null {
    try {
      const seen = fileIdentity(this.deps.file);
      if (seen !== this.seen || !this.network) {
        this.network = loadNetwork(this.deps.file);
        this.seen = seen;
      }
    } catch {
      // A broken or missing file changes nothing here (membership.ts reports it).
    }
    return this.network;
  }

  /** About once a second: follow the file, forget an expired previous secret, tell members. */
  tick(): void {
    let net = this.read();
    if (!net) return;
    const now = this.now();
    if (net.previous && net.previous.until.getTime() <= now) {
      try {
        net = updateNetwork(this.deps.file, (n) => expirePrevious(n, new Date(now)));
        this.network = net;
        this.seen = fileIdentity(this.deps.file);
      } catch (e) {
        this.deps.log(`network: ${(e as Error).message}`);
      }
    }
    this.follow(net);
    if (now - this.lastNoticeMs >= NOTICE_INTERVAL_MS && this.deps.dev.acceptsPreviousSecret) {
      this.lastNoticeMs = now;
      this.tellMembers(net);
    }
  }

  /** Makes the device's secrets what the file says. */
  private follow(net: Network): void {
    const dev = this.deps.dev;
    if (!equalBytes(net.secret, this.inUse)) {
      dev.rotateSecret(net.secret);
      this.inUse = net.secret;
      this.stats.rotations++;
      this.deps.log(`network: now under secret generation ${net.generation}${net.previous ? `; the previous one is accepted until ${net.previous.until.toISOString()}` : ''}`);
      if (!net.previous) dev.dropPreviousSecret();
      this.deps.onSecrets(net.secret, net.previous?.secret ?? null);
      // Members already told (their notice brought us here) move over at once.
      for (const p of dev.peers) if (dev.onPreviousSecret(p)) dev.rehandshake(p);
      this.lastNoticeMs = 0;
    } else if (!net.previous && dev.acceptsPreviousSecret) {
      dev.dropPreviousSecret();
      this.deps.onSecrets(net.secret, null);
    }
  }

  /** Every approved member still under the previous secret hears of the new one. */
  private tellMembers(net: Network): void {
    const dev = this.deps.dev;
    const revoked = new Set(net.revoked.map((m) => m.key));
    let msg: Record<string, unknown> | null = null;
    for (const p of dev.peers) {
      if (!dev.onPreviousSecret(p) || revoked.has(encodeKey(p.publicKey)) || !this.deps.isApproved(p.publicKey)) continue;
      msg ??= noticeMessage(net);
      if (dev.sendControl(p, msg)) this.stats.noticesSent++;
    }
  }

  /** For status and metrics: the secret's generation, until when the previous one is accepted,
   * how many members' sessions are still under it, and what happened so far. */
  status(): { generation: number; previousUntil: string | null; peersOnPrevious: number; rotations: number; noticesSent: number; noticesTaken: number; noticesIgnored: number } {
    const net = this.read();
    const dev = this.deps.dev;
    return {
      generation: net?.generation ?? 0,
      previousUntil: dev.acceptsPreviousSecret ? net?.previous?.until.toISOString() ?? null : null,
      peersOnPrevious: dev.peers.filter((p) => dev.onPreviousSecret(p)).length,
      ...this.stats,
    };
  }

  /** A control message from a member; false when it is not a rotation notice. */
  onControl(from: P, msg: Record<string, unknown>): boolean {
    if (msg.t !== 'secret') return false;
    const notice = parseNotice(msg);
    const net = this.read();
    if (!notice || !net || !this.deps.isApproved(from.publicKey) || !equalBytes(notice.addressSecret, net.addressSecret)) {
      this.stats.noticesIgnored++;
      if (notice && net && !equalBytes(notice.addressSecret, net.addressSecret)) this.deps.log(`network: ${from.name} sent a secret of another network; ignored`);
      return true;
    }
    if (!isNewer(net, notice)) {
      // We have it (or a newer one): the session it came in is under the previous secret.
      if (this.deps.dev.onPreviousSecret(from)) this.deps.dev.rehandshake(from);
      return true;
    }
    const now = new Date(this.now());
    try {
      // adoptRotation holds the notice's deadline to the longest grace.
      const next = updateNetwork(this.deps.file, (n) => adoptRotation(n, notice, now));
      this.network = next;
      this.seen = fileIdentity(this.deps.file);
      this.stats.noticesTaken++;
      this.deps.log(`network: ${from.name} rotated the network secret (generation ${notice.generation})`);
      this.follow(next);
    } catch (e) {
      this.deps.log(`network: ${(e as Error).message}`);
    }
    return true;
  }
}
