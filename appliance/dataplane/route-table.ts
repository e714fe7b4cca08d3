// Allowed IPs: longest-prefix match from an IP address to a peer (WireGuard whitepaper §2,
// "cryptokey routing"). Outbound, the destination picks the peer; inbound, the source must
// belong to the peer the packet authenticated as.
//
// A binary trie per family; lookups read the address straight out of the packet buffer
// (no allocation on the hot path).

import type { Prefix } from './packet/addr.ts';

interface Node<T> {
  zero: Node<T> | null;
  one: Node<T> | null;
  value: T | null;
}

function node<T>(): Node<T> {
  return { zero: null, one: null, value: null };
}

export class RouteTable<T> {
  private v4 = node<T>();
  private v6 = node<T>();
  /** Prefix length of the last lookup's match (0: the default route, or nothing). */
  matchedBits = 0;

  insert(prefix: Prefix, value: T): void {
    let n = prefix.family === 4 ? this.v4 : this.v6;
    for (let i = 0; i < prefix.bits; i++) {
      const bit = ((prefix.bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1;
      if (bit) n = n.one ??= node<T>();
      else n = n.zero ??= node<T>();
    }
    n.value = value;
  }

  /** Removes the entry at exactly `prefix` (longer and shorter prefixes stay). */
  delete(prefix: Prefix): void {
    let n: Node<T> | null = prefix.family === 4 ? this.v4 : this.v6;
    for (let i = 0; i < prefix.bits && n; i++) {
      const bit = ((prefix.bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1;
      n = bit ? n.one : n.zero;
    }
    if (n) n.value = null;
  }

  /** The value stored at exactly `prefix`, if any. */
  lookupPrefix(prefix: Prefix): T | null {
    let n: Node<T> | null = prefix.family === 4 ? this.v4 : this.v6;
    for (let i = 0; i < prefix.bits && n; i++) {
      const bit = ((prefix.bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1;
      n = bit ? n.one : n.zero;
    }
    return n?.value ?? null;
  }

  /** Removes every prefix that maps to `value`. */
  removeValue(value: T): void {
    const walk = (n: Node<T> | null): void => {
      if (!n) return;
      if (n.value === value) n.value = null;
      walk(n.zero);
      walk(n.one);
    };
    walk(this.v4);
    walk(this.v6);
  }

  /** Longest-prefix match of the address at buf[offset .. offset + (4|16)). */
  lookup(buf: Uint8Array, offset: number, family: 4 | 6): T | null {
    let n: Node<T> | null = family === 4 ? this.v4 : this.v6;
    const bits = family === 4 ? 32 : 128;
    let best: T | null = n.value;
    let matched = 0;
    for (let i = 0; i < bits && n; i++) {
      const bit = ((buf[offset + (i >> 3)] ?? 0) >> (7 - (i & 7))) & 1;
      n = bit ? n.one : n.zero;
      if (n && n.value !== null) {
        best = n.value;
        matched = i + 1;
      }
    }
    this.matchedBits = matched;
    return best;
  }
}
