// The discovery loop: publish this node's record on the DHT (every hour's rendezvous, and again
// before it goes stale), look up the network's members, and hand every record that decrypts and
// verifies to the caller. No server: the DHT holds only ciphertext under per-hour keys
// (rendezvous.ts); a record that does not open is ignored (record.ts).

import { createDht, type DhtOptions, type WarrenDht } from './dht.ts';
import { announceTarget, hourOf, preferredSlot } from './rendezvous.ts';
import type { Endpoint, MemberRecord } from './record.ts';
import { ed25519 } from './ed25519.ts';

export interface DiscoveryOptions {
  secret: Uint8Array;
  /** This node's X25519 public key (what others handshake with). */
  staticKey: Uint8Array;
  /** This node's Ed25519 seed (identity.ts): signs its records. */
  identitySeed: Uint8Array;
  /** Candidate endpoints to publish, asked for at each publish (addresses can change). */
  endpoints: () => Endpoint[];
  offers?: { relay: boolean; exit: boolean };
  dht: DhtOptions;
  /** Between lookups (ms). */
  lookupIntervalMs: number;
  /** Between publishes within an hour (ms); records go stale after 2 h. */
  republishMs?: number;
  onMember: (record: MemberRecord) => void;
  log: (line: string) => void;
  now?: () => number;
  /** Beacons on the LAN (lan.ts), started and stopped with the service. */
  lan?: { start(): Promise<void>; stop(): void; setSecret?(secret: Uint8Array): Promise<void>; readonly stats: Record<string, number> };
}

export class DiscoveryService {
  private dht: WarrenDht | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private lastPublishMs = 0;
  private lastPublishHour = -1;
  private publishing = false;
  /** This hour's slot: the member's own sequence (preferredSlot), advanced on a collision. */
  private slotHour = -1;
  private slotAttempt = 0;
  private slot = 0;
  readonly identityKey: Uint8Array;
  readonly stats = { publishes: 0, lookups: 0, records: 0, slotMoves: 0, lastError: '' };
  /** The network secret rendezvous derive from; after a rotation, the previous one beside it for a
   * while, so members that missed the rotation still find us (and we them). */
  private secret: Uint8Array;
  private previous: Uint8Array | null = null;
  /** Our slot sequence under the previous secret (moved on a collision, as under the current one). */
  private previousHour = -1;
  private previousAttempt = 0;

  constructor(private readonly o: DiscoveryOptions) {
    this.identityKey = ed25519.getPublicKey(o.identitySeed);
    this.secret = o.secret;
  }

  /** The network secret was rotated (network/rotation.ts): publish and look up under the new one
   * (and the previous one, while it is accepted) from the next round on. */
  setSecrets(secret: Uint8Array, previous: Uint8Array | null): void {
    const changed = !Buffer.from(secret).equals(Buffer.from(this.secret));
    this.secret = secret;
    this.previous = previous;
    if (!changed) return;
    this.slotHour = -1;
    this.previousHour = -1;
    this.lastPublishHour = -1;
    void this.o.lan?.setSecret?.(secret).catch((e: Error) => this.o.log(`lan: ${e.message}`));
  }

  async start(): Promise<void> {
    await this.o.lan?.start();
    this.dht = await createDht(this.o.dht);
    this.o.log(`discovery: DHT node on UDP ${this.dht.address().port}`);
    void this.round();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.o.lan?.stop();
    await this.dht?.close();
  }

  private async publish(dht: WarrenDht, now: number, hour: number): Promise<void> {
    const fields = {
      staticKey: this.o.staticKey,
      endpoints: this.o.endpoints(),
      offers: this.o.offers ?? { relay: false, exit: false },
      timestamp: Math.floor(now / 1000),
    };
    // The announce (implied port) lets others learn the address this socket is seen at.
    const previous = this.previous;
    const [results] = await Promise.all([
      dht.publish(this.secret, fields, this.o.identitySeed, this.slot),
      dht.announce(announceTarget(this.secret, hour, this.o.staticKey)),
      dht.announce(announceTarget(this.secret, hour + 1, this.o.staticKey)),
      // Under the previous secret too, at our first slot there (no slot moves: it is for a while only).
      // Its failure is not the publish's: the record under the secret in use is what counts.
      previous ? dht.publish(previous, fields, this.o.identitySeed, this.previousSlotFor(hour)).catch(() => []) : null,
    ]);
    if (results.some((r) => r.stored > 0)) {
      this.lastPublishMs = now;
      this.lastPublishHour = hour;
      this.stats.publishes++;
    } else {
      this.stats.lastError = results.find((r) => r.error)?.error ?? 'no DHT node stored the record';
    }
  }

  /** Where a member's tunnel socket is seen from outside (its NAT's mapping), as `ip:port`. */
  async observedEndpoints(staticKey: Uint8Array): Promise<string[]> {
    const dht = this.dht;
    if (!dht) return [];
    return dht.findPeers(announceTarget(this.secret, hourOf(this.now()), staticKey), 5_000);
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  lanStats(): Record<string, number> {
    return { ...(this.o.lan?.stats ?? {}) };
  }

  /** Publish again at the next round (what the record says changed, e.g. an exit offer). */
  republishSoon(): void {
    this.lastPublishHour = -1;
  }

  /** Our slot under the previous secret this hour. */
  private previousSlotFor(hour: number): number {
    if (hour !== this.previousHour) {
      this.previousHour = hour;
      this.previousAttempt = 0;
    }
    return preferredSlot(this.previous!, hour, this.identityKey, this.previousAttempt);
  }

  /** The slot this node publishes in this hour. */
  get currentSlot(): number {
    return this.slot;
  }

  /**
   * One lookup, with a publish beside it when one is due: a member found early is handed over as
   * soon as its slot answers, not when the slowest traversal ends. Then the next round.
   *
   * Slots are few (DISCOVERY_SLOTS), so two members may draw the same one; the later put then
   * hides the earlier record, or storing nodes refuse an equal seq and the DHT holds some of
   * each. A lookup that finds another member's record in our slot moves us to the next slot of
   * our own sequence that no one was seen in, and we publish there at once.
   */
  private async round(): Promise<void> {
    const dht = this.dht;
    if (!dht || this.stopped) return;
    if (dht.rejoinIfIsolated()) this.o.log('discovery: no DHT node known; asking the bootstrap nodes again');
    const now = this.now();
    const hour = hourOf(now);
    if (hour !== this.slotHour) {
      this.slotHour = hour;
      this.slotAttempt = 0;
      this.slot = preferredSlot(this.secret, hour, this.identityKey);
    }
    // A publish runs beside the lookups, not in their way: a put that waits for slow nodes must
    // not hold back the next lookup (found members are what the household waits for).
    if (!this.publishing && (hour !== this.lastPublishHour || now - this.lastPublishMs >= (this.o.republishMs ?? 20 * 60_000))) {
      this.publishing = true;
      void this.publish(dht, now, hour)
        .catch((e: Error) => {
          this.stats.lastError = e.message;
          this.o.log(`discovery: ${e.message}`);
        })
        .finally(() => (this.publishing = false));
    }
    const mine = Buffer.from(this.identityKey);
    const taken = new Set<number>();
    const looking = dht.lookup(this.secret, undefined, (r, where) => {
      if (where.hour === hour && !mine.equals(r.identityKey)) taken.add(where.slot);
      this.stats.records++;
      this.o.onMember(r);
    }).then(() => {
      this.stats.lookups++;
    });
    const previous = this.previous;
    let previousTaken = false;
    const lookingBefore = previous
      ? dht.lookup(previous, undefined, (r, where) => {
        if (where.hour === hour && !mine.equals(r.identityKey) && where.slot === this.previousSlotFor(hour)) previousTaken = true;
        this.stats.records++;
        this.o.onMember(r);
      })
      : null;
    const results = await Promise.allSettled([looking, lookingBefore]);
    for (const r of results) {
      if (r.status === 'rejected') {
        this.stats.lastError = (r.reason as Error).message;
        this.o.log(`discovery: ${(r.reason as Error).message}`);
      }
    }
    let moved = taken.has(this.slot) && hour === this.slotHour && this.moveSlot(hour, taken);
    if (previousTaken && this.previous) {
      // Another member's record in our slot under the previous secret: on to our next one there.
      this.previousAttempt++;
      this.lastPublishHour = -1;
      moved = true;
    }
    // After a move, the next round (which publishes in the new slot) comes at once.
    if (!this.stopped) this.timer = setTimeout(() => void this.round(), moved ? 0 : this.o.lookupIntervalMs);
  }

  private moveSlot(hour: number, taken: Set<number>): true {
    const from = this.slot;
    // The sequence is the member's own; bounded, and when every slot looks taken, any move helps.
    for (let tries = 0; tries < 64; tries++) {
      this.slotAttempt++;
      this.slot = preferredSlot(this.secret, hour, this.identityKey, this.slotAttempt);
      if (!taken.has(this.slot)) break;
    }
    this.stats.slotMoves++;
    this.lastPublishHour = -1; // publish in the new slot next round
    this.o.log(`discovery: slot ${from} holds another member's record; moving to slot ${this.slot}`);
    return true;
  }
}
