// Who the running daemon lets in: the network file's lists, read again only when the file
// changed (`warren approve` / `revoke` edit it while the daemon runs), and the peer a member
// becomes (its overlay addresses derive from its key).
//
// A device that reaches us — its record found on the DHT, or its handshake — and that the file
// does not list yet is recorded there: as pending when the network requires approval (the owner
// then runs `warren approve KEY`), as approved when it does not. A network given only as a secret
// (no file) admits everyone who holds the secret.

import type { NetworkConfig, PeerConfig } from '../config/schema.ts';
import { DEFAULT_LIMITS, encodeKey } from '../config/schema.ts';
import { parsePrefix } from '../dataplane/packet/addr.ts';
import { assignAddresses } from './addresses.ts';
import { admit, fileIdentity, findMember, loadNetwork, updateNetwork, type MemberList, type Network } from './store.ts';

/**
 * Members keep their sessions alive every 5 s when idle (WireGuard's persistent keepalive). Far
 * below NAT timeouts, and what lets a member whose router's address changed be found again at
 * once: its next keepalive comes from the new address, and the other side roams to it. An idle
 * member costs ~20 bytes a second.
 */
export const MEMBER_KEEPALIVE_SECONDS = 5;

/** Unknown devices recorded as pending at most ([limits] max_pending_members): a holder of the
 * secret can mint keys at will. */
export const MAX_PENDING = DEFAULT_LIMITS.maxPendingMembers;

export type Standing = MemberList | 'unlisted';

export class Membership {
  private cached: { seen: string; network: Network } | null = null;

  constructor(
    private readonly net: NetworkConfig,
    private readonly log: (line: string) => void,
    private readonly now: () => Date = () => new Date(),
    private readonly maxPending = MAX_PENDING,
  ) {}

  /** The network file as it is now (re-read when it was written again: store.ts fileIdentity); null without a file. */
  private read(): Network | null {
    const file = this.net.file;
    if (!file) return null;
    const seen = fileIdentity(file);
    if (!this.cached || this.cached.seen !== seen) this.cached = { seen, network: loadNetwork(file, this.log) };
    return this.cached.network;
  }

  /** Keys the file revokes (for dropping peers that were connected when it changed). */
  revoked(): string[] {
    try {
      return this.read()?.revoked.map((m) => m.key) ?? [];
    } catch {
      return [];
    }
  }

  /**
   * The standing of a device that reached us, recording it when it is new. Only `approved` may
   * connect. A file that cannot be read keeps the standing it had (a broken edit does not cut
   * the network off, nor open it): keys the last good read approved stay approved.
   */
  standing(key: Uint8Array): Standing {
    const text = encodeKey(key);
    let network: Network | null;
    try {
      network = this.read();
    } catch (e) {
      const last = this.cached ? findMember(this.cached.network, text)?.list : undefined;
      this.log(`network: ${(e as Error).message}`);
      return last ?? 'unlisted';
    }
    if (!network) return 'approved';
    const found = findMember(network, text);
    if (found) return found.list;
    if (network.requireApproval && network.pending.length >= this.maxPending) return 'unlisted';
    let standing = admit(network, text, `device-${text.slice(0, 8)}`, this.now()).standing;
    let listed: MemberList | null = null;
    try {
      // Recorded against the file as it is now, under its lock: `warren approve` may have just
      // written it (within the file system's timestamp granularity, unseen by the mtime check).
      const next = updateNetwork(this.net.file!, (current) => {
        const there = findMember(current, text);
        if (there) {
          listed = there.list;
          return current;
        }
        const a = admit(current, text, `device-${text.slice(0, 8)}`, this.now());
        standing = a.standing;
        return a.network;
      }, this.log);
      this.cached = { seen: fileIdentity(this.net.file!), network: next };
    } catch (e) {
      this.log(`network: ${(e as Error).message}`);
    }
    if (listed) return listed;
    this.log(standing === 'pending'
      ? `network: new device ${text} is waiting for approval (warren approve ${text})`
      : `network: new device ${text} joined (this network does not require approval)`);
    return standing;
  }

  /** Whether the file approves this key, without recording anything (for hearsay: peer exchange). */
  isApproved(key: Uint8Array): boolean {
    try {
      const network = this.read();
      return !network || findMember(network, encodeKey(key))?.list === 'approved';
    } catch {
      return this.cached ? findMember(this.cached.network, encodeKey(key))?.list === 'approved' : false;
    }
  }

  admits(key: Uint8Array): boolean {
    return this.standing(key) === 'approved';
  }

  /** The peer a member becomes: its overlay addresses, derived from its key among the known ones. */
  peerConfig(key: Uint8Array, known: readonly Uint8Array[]): PeerConfig {
    const a = assignAddresses(key, known, this.net.addressSecret);
    const allowedIps = [parsePrefix(`${a.ipv4}/32`), parsePrefix(`${a.ipv6}/128`)].filter((p) => p !== null);
    return {
      name: `member-${encodeKey(key).slice(0, 8)}`,
      publicKey: key,
      presharedKey: new Uint8Array(32),
      endpoint: null,
      allowedIps,
      persistentKeepalive: MEMBER_KEEPALIVE_SECONDS,
    };
  }
}
