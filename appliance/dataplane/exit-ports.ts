// Per-device exits without a second tunnel: the gateway's source NAT gives the TCP and UDP
// connections of devices that use exit k source ports in range k, and every other overlay
// device's ports below them (system/nft.ts); the data plane sends a packet whose destination
// matched only the default route to exit k when its source port is in range k. Replies from
// exit k are accepted from internet addresses like the default exit's. (ICMP — ping — and other
// protocols keep the appliance's exit: nft maps ports only.)

/** Source ports of overlay devices on the appliance's default exit (when devices name exits). */
export const DEFAULT_PORTS = { first: 1024, last: 47_999 } as const;
const BASE = 48_000;
const SPAN = 2_000;
/** Exits devices may name: ranges 48000–49999, 50000–51999, … 62000–63999. */
export const MAX_DEVICE_EXITS = 8;
/** Connection mark of exit k's connections: EXIT_CT_MARK + k (nft sets it, SNAT reads it). */
export const EXIT_CT_MARK = 0x57e1_0000;

export function exitPortRange(k: number): { first: number; last: number } {
  if (!Number.isInteger(k) || k < 0 || k >= MAX_DEVICE_EXITS) throw new RangeError(`exit index ${k} is not 0–${MAX_DEVICE_EXITS - 1}`);
  return { first: BASE + k * SPAN, last: BASE + k * SPAN + SPAN - 1 };
}

/**
 * Exit index k whose range holds this IPv4 packet's TCP or UDP source port; -1 for anything else
 * (IPv6, fragments, other protocols, other ports).
 */
export function exitIndexOf(pkt: Uint8Array, len: number): number {
  if (len < 20 || pkt[0]! >> 4 !== 4) return -1;
  if (((pkt[6]! & 0x1f) | pkt[7]!) !== 0) return -1; // a later fragment: no transport header
  const l4 = (pkt[0]! & 0x0f) * 4;
  const proto = pkt[9];
  let port: number;
  if ((proto === 6 || proto === 17) && len >= l4 + 2) port = (pkt[l4]! << 8) | pkt[l4 + 1]!;
  else return -1;
  if (port < BASE || port >= BASE + MAX_DEVICE_EXITS * SPAN) return -1;
  return ((port - BASE) / SPAN) | 0;
}

/** Slot values in the shared list: not configured (the default exit) or configured but absent (drop). */
export const EXIT_UNSET = -1;
export const EXIT_ABSENT = -2;
