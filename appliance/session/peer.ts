// A peer's session state: keypairs, the pending handshake, timer deadlines and figures.
// No I/O here; the device drives it (appliance/device.ts).

import { PeerQuality } from './quality.ts';
import type { InitiatorHandshake } from '../noise/handshake.ts';
import { CookieGenerator } from '../noise/cookie.ts';
import type { Endpoint, Prefix } from '../dataplane/packet/addr.ts';
import type { Keypair } from './keypair.ts';

/** At most this many packets wait for a handshake (wireguard-go's QueueStagedSize). */
export const MAX_STAGED_PACKETS = 128;

export interface PeerStats {
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
  handshakes: number;
  lastHandshakeMs: number;
}

export class Peer {
  /** Index in the device's peer list, and in the outbound worker's send table. */
  slot = -1;
  endpoint: Endpoint | null;
  /** When a packet last authenticated from its own address (not through a relay). */
  lastDirectMs = 0;
  /** LANs the peer shares (site-to-site, from its discovery record): routed to it like allowed IPs. */
  subnets: Prefix[] = [];
  readonly cookie: CookieGenerator;

  current: Keypair | null = null;
  previous: Keypair | null = null;
  /** Responder-side keys waiting for the initiator's first transport message. */
  next: Keypair | null = null;

  handshake: InitiatorHandshake | null = null;
  handshakeIndex = 0;
  handshakeAttempts = 0;
  /** The key slot of the network secret the pending initiation was sealed under. */
  handshakeSlot = 0;
  lastInitiationSentMs = -Infinity;
  retransmitDueMs = 0;

  /** Newest TAI64N timestamp accepted from this peer's initiations (replay protection, §5.1). */
  lastTimestamp: Uint8Array | null = null;
  lastInitiationConsumedMs = -Infinity;

  lastSentMs = 0; // any authenticated packet
  lastReceivedMs = 0;
  keepaliveDueMs = 0; // passive keepalive after data received (§6.5)
  newHandshakeDueMs = 0; // data sent with no reply (§6.2)

  staged: Uint8Array[] = [];
  readonly stats: PeerStats = { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, handshakes: 0, lastHandshakeMs: 0 };
  /** Round trip, loss, rates and uptime, measured (quality.ts). */
  readonly quality = new PeerQuality();

  constructor(
    readonly name: string,
    readonly publicKey: Uint8Array,
    readonly presharedKey: Uint8Array,
    endpoint: Endpoint | null,
    readonly allowedIps: Prefix[],
    readonly persistentKeepalive: number,
    readonly precomputedStaticStatic: Uint8Array | undefined,
    now: () => number,
  ) {
    this.endpoint = endpoint;
    this.cookie = new CookieGenerator(publicKey, { now });
  }

  stage(packet: Uint8Array): void {
    if (this.staged.length >= MAX_STAGED_PACKETS) this.staged.shift();
    this.staged.push(packet.slice());
  }
}
