// What the device counts: every datagram in or out lands in exactly one of these, so a test
// (and /metrics later) can see where a packet went.

export interface Counters {
  rxDatagrams: number;
  txDatagrams: number;
  /** Not a plausible message of the configured wire at all (a probe, garbage). */
  dropMalformed: number;
  /** Looked like a data message of ours but no session has that index. */
  dropUnknownIndex: number;
  dropAuth: number;
  dropReplay: number;
  dropExpiredKeypair: number;
  dropSourceNotAllowed: number;
  dropNoRoute: number;
  dropNoEndpoint: number;
  dropTunFull: number;
  /** Datagrams the data-plane worker could not hand to the main thread (handshakes, DHT messages,
   * anything not plain data) because the main thread was that far behind: dropped unexamined. */
  dropBusy: number;
  /** Handshake messages without a valid mac1: dropped before any public-key operation. */
  handshakeBadMac: number;
  /** Handshake messages that failed after the public-key work (unknown key, wrong state). */
  handshakeInvalid: number;
  handshakeReplay: number;
  handshakeFlood: number;
  initiationsSent: number;
  initiationsReceived: number;
  responsesSent: number;
  responsesReceived: number;
  cookieRepliesSent: number;
  cookieRepliesReceived: number;
  keepalivesSent: number;
  keepalivesReceived: number;
  /** As a relay: datagrams passed on from one member to another. */
  relayForwarded: number;
  /** Relay requests refused (relaying off, unknown or unreachable target, malformed). */
  relayRefused: number;
  /** Datagrams that arrived through a relay. */
  relayDelivered: number;
  /** Datagrams sent through a relay. */
  relaySent: number;
  /** Relay requests refused because [limits] max_relayed_pairs pairs were already relayed. */
  relayPairsRefused: number;
  /** Peers not added because [limits] max_peers were held. */
  peersRefused: number;
  /** Probe echoes matching no probe of ours (late, repeated or made up by the peer). */
  probeRepliesUnmatched: number;
  /** Bytes carried for a member (relayed datagrams, circuit cells) dropped over its [relay] member_rate_mbit. */
  relayRateLimited: number;
}

export function newCounters(): Counters {
  return {
    rxDatagrams: 0, txDatagrams: 0, dropMalformed: 0, dropUnknownIndex: 0, dropAuth: 0, dropReplay: 0,
    dropExpiredKeypair: 0, dropSourceNotAllowed: 0, dropNoRoute: 0, dropNoEndpoint: 0, dropTunFull: 0, dropBusy: 0,
    handshakeBadMac: 0, handshakeInvalid: 0, handshakeReplay: 0, handshakeFlood: 0, initiationsSent: 0, initiationsReceived: 0,
    responsesSent: 0, responsesReceived: 0, cookieRepliesSent: 0, cookieRepliesReceived: 0,
    keepalivesSent: 0, keepalivesReceived: 0, relayForwarded: 0, relayRefused: 0, relayDelivered: 0, relaySent: 0,
    relayPairsRefused: 0, peersRefused: 0, probeRepliesUnmatched: 0, relayRateLimited: 0,
  };
}
