// How to reach a member: directly when possible, else through a relay. A member heard from
// nothing within RELAY_AFTER_MS of being found (its endpoints and its NAT's mapping tried, the
// other side trying too) is reached through a member that offers relaying and that this node
// has a live, direct session with. A direct packet that authenticates later takes the path back
// (device.ts). Among live relays one is drawn at random, weighted by measured round trip and
// loss (session/quality.ts): the best most often, a slow one rarely.

import { encodeKey } from '../config/schema.ts';
import type { Peer } from '../session/peer.ts';
import { weightedChoice } from '../session/quality.ts';

export const RELAY_AFTER_MS = 6_000;
/** A relay must have been heard from this recently. */
export const RELAY_ALIVE_MS = 60_000;

export interface PathHost {
  readonly peers: readonly Peer[];
  useRelay(peer: Peer, relay: Peer): void;
}

export class PathChooser {
  constructor(private readonly random: () => number = Math.random) {}

  private readonly relays = new Set<string>();
  private readonly foundAt = new Map<Peer, number>();

  /** What a member's record says (discovery calls this for every record). */
  offer(key: Uint8Array, relay: boolean): void {
    const k = encodeKey(key);
    if (relay) this.relays.add(k);
    else this.relays.delete(k);
  }

  offersRelay(peer: Peer): boolean {
    return this.relays.has(encodeKey(peer.publicKey));
  }

  tick(host: PathHost, now: number): void {
    for (const peer of host.peers) {
      if (peer.lastReceivedMs > 0 || peer.endpoint?.relay) {
        this.foundAt.delete(peer);
        continue;
      }
      const since = this.foundAt.get(peer);
      if (since === undefined) {
        this.foundAt.set(peer, now);
        continue;
      }
      if (now - since < RELAY_AFTER_MS) continue;
      const live = host.peers.filter((r) => r !== peer && this.offersRelay(r) && r.lastReceivedMs > 0 && now - r.lastReceivedMs < RELAY_ALIVE_MS &&
        r.endpoint && !r.endpoint.relay && !r.quality.failing(now));
      const relay = weightedChoice(live, (r) => r.quality.cost(now), this.random);
      if (relay) host.useRelay(peer, relay);
    }
  }
}
