// Rewriting one IPv4 address of a packet in place, with the checksums it is part of updated
// incrementally (RFC 1624): the IP header's, and TCP's or UDP's (their pseudo-header includes
// both addresses). A UDP checksum of zero means "none" and stays zero. Later fragments carry no
// transport header and only get the IP checksum updated.

/** Adds the 16-bit one's-complement difference of old → new words to a checksum at `at`. */
function adjust(pkt: Uint8Array, at: number, oldWords: number[], newWords: number[], udp = false): void {
  let sum = ~((pkt[at]! << 8) | pkt[at + 1]!) & 0xffff;
  for (const w of oldWords) sum += ~w & 0xffff;
  for (const w of newWords) sum += w;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  let out = ~sum & 0xffff;
  if (udp && out === 0) out = 0xffff;
  pkt[at] = out >> 8;
  pkt[at + 1] = out & 0xff;
}

/** The IPv4 address at `offset` (12: source, 16: destination), as an unsigned 32-bit number. */
export function readAddr(pkt: Uint8Array, offset: 12 | 16): number {
  return ((pkt[offset]! << 24) | (pkt[offset + 1]! << 16) | (pkt[offset + 2]! << 8) | pkt[offset + 3]!) >>> 0;
}

/** Sets the IPv4 address at `offset` to `addr`; false when the packet is not IPv4 or too short. */
export function rewriteAddr(pkt: Uint8Array, offset: 12 | 16, addr: number): boolean {
  if (pkt.length < 20 || pkt[0]! >> 4 !== 4) return false;
  const ihl = (pkt[0]! & 0x0f) * 4;
  if (ihl < 20 || pkt.length < ihl) return false;
  const oldWords = [(pkt[offset]! << 8) | pkt[offset + 1]!, (pkt[offset + 2]! << 8) | pkt[offset + 3]!];
  const newWords = [(addr >>> 16) & 0xffff, addr & 0xffff];
  pkt[offset] = addr >>> 24;
  pkt[offset + 1] = (addr >>> 16) & 0xff;
  pkt[offset + 2] = (addr >>> 8) & 0xff;
  pkt[offset + 3] = addr & 0xff;
  adjust(pkt, 10, oldWords, newWords);
  const firstFragment = ((pkt[6]! & 0x1f) | pkt[7]!) === 0;
  if (!firstFragment) return true;
  const proto = pkt[9];
  if (proto === 6 && pkt.length >= ihl + 18) adjust(pkt, ihl + 16, oldWords, newWords);
  else if (proto === 17 && pkt.length >= ihl + 8 && (pkt[ihl + 6]! | pkt[ihl + 7]!) !== 0) adjust(pkt, ihl + 6, oldWords, newWords, true);
  return true;
}

export function addrText(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

export function addrOf(text: string): number {
  const p = text.split('.').map(Number);
  return (((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0);
}
