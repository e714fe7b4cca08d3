// How to reach a member: directly when possible, else through a relay. A member heard from
// nothing within RELAY_AFTER_MS of being found (its endpoints and its NAT's mapping tried, the
// other side trying too) is reached through a member that offers relaying and that this node
// has a live, direct session with. A direct packet that authenticates later takes the path back
// (device.ts). Choosing among relays by measured quality is the peer-quality work.

import { encodeKey } from '../config/schema.ts';
import type { Peer } from '../session/peer.ts';

export const RELAY_AFTER_MS = 6_000;
/** A relay must have been heard from this recently. */
export const RELAY_ALIVE_MS = 60_000;

export interface PathHost {
  readonly peers: readonly Peer[];
  useRelay(peer: Peer, relay: Peer): void;
}

export class PathChooser {
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
      const relay = host.peers
        .filter((r) => r !== peer && this.offersRelay(r) && r.lastReceivedMs > 0 && now - r.lastReceivedMs < RELAY_ALIVE_MS && r.endpoint && !r.endpoint.relay)
        .sort((a, b) => b.lastReceivedMs - a.lastReceivedMs)[0];
      if (relay) host.useRelay(peer, relay);
    }
  }
}
