// The admin's side of the network file: the member lists, the invite, and creating or joining a
// network in the data directory — through network/setup.ts and network/store.ts, the same code
// as `warren init`, `join`, `approve`, `deny`, `revoke` and `rotate`, so a network made either
// way is the same. Every refusal is an AdminError whose message tells the owner what to do next.
//
// Each change to the member lists or the secret reads, modifies and writes the file under its
// lock (store.ts updateNetwork), so neither another admin request, the daemon nor `warren
// approve` can lose it. A rotation of the secret is one such change: the running daemon follows
// the file (network/rotation.ts), nothing else needs telling.

import { AdminError, type NetworkInfo } from '../control/admin-types.ts';
import { decodeInvite, encodeInvite, InviteError, type Invite } from '../network/invite.ts';
import { existingNetwork, initNetwork, joinInvite, keyPathOf, networkFilePath, ownPublicKey, type NodeSetup } from '../network/setup.ts';
import { approve, deny, fileIdentity, findMember, isKeyText, MAX_ROTATION_GRACE_MS, NetworkStoreError, revoke, rotateNetwork, updateNetwork, type MemberList, type Network } from '../network/store.ts';

const HOUR_MS = 3600_000;
/** The longest the old secret may stay accepted after a rotation, in hours (720: 30 days). */
export const MAX_ROTATION_GRACE_HOURS = MAX_ROTATION_GRACE_MS / HOUR_MS;

export interface NetworkAdminDeps {
  dataDir: string;
  now: () => Date;
  /** The name this node approves itself under in a new network. */
  selfName: () => string;
  log: (line: string) => void;
}

/** "network name must…" → "Network name must…" (store and invite messages start in lower case). */
export function sentence(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}

export function networkInfo(net: Network | null): NetworkInfo {
  const members = (l: MemberList) => (net?.[l] ?? []).map((m) => ({ publicKey: m.key, name: m.name, since: m.since.toISOString() }));
  return {
    hasNetwork: net !== null,
    name: net?.name ?? null,
    pending: members('pending'),
    approved: members('approved'),
    revoked: members('revoked'),
    // The generation and a date only: the secrets never leave the network file this way.
    generation: net?.generation ?? 0,
    previousUntil: net?.previous?.until.toISOString() ?? null,
  };
}

export class NetworkAdmin {
  /** The node's public key once read: the dashboard asks every few seconds while no tunnel runs. */
  private own: { path: string; key: string } | null = null;

  constructor(private readonly deps: NetworkAdminDeps) {}

  /** The last parse of the network file, reused while the file is unchanged (every dashboard load asks). */
  private parsed: { seen: string; net: Network | null } | null = null;

  /** The network, or null before there is one; a broken file is 'unavailable' with the field at fault. */
  current(): Network | null {
    try {
      let seen: string | null = null;
      try {
        seen = fileIdentity(networkFilePath(this.deps.dataDir));
      } catch {
        seen = null;
      }
      if (seen && this.parsed && this.parsed.seen === seen) return this.parsed.net;
      const net = existingNetwork(this.deps.dataDir);
      this.parsed = seen ? { seen, net } : null;
      return net;
    } catch (e) {
      throw new AdminError('unavailable', `${sentence((e as Error).message)}. Fix or remove that file, then reload the page.`);
    }
  }

  /** This node's public key (base64); null before it has a key or while the files cannot be read. */
  ownKey(): string | null {
    try {
      const net = existingNetwork(this.deps.dataDir);
      if (!net) return null;
      const path = keyPathOf(this.deps.dataDir, net);
      if (this.own?.path === path) return this.own.key;
      const key = ownPublicKey(path);
      if (!key) return null;
      this.own = { path, key: Buffer.from(key).toString('base64') };
      return this.own.key;
    } catch {
      return null;
    }
  }

  info(): NetworkInfo {
    return networkInfo(this.current());
  }

  invite(): string {
    const net = this.required();
    return encodeInvite(net.name, net.secret, net.addressSecret);
  }

  create(name: string): NetworkInfo {
    this.refuseSecond(this.current());
    const { network } = this.setUp(() => initNetwork(this.deps.dataDir, name.trim(), { now: this.deps.now(), selfName: this.deps.selfName() }), 'choose another name');
    this.deps.log(`admin: created network “${network.name}”`);
    return networkInfo(network);
  }

  /** Joins the invite's network; `changed` is false when this appliance was in it already. */
  join(text: string): { info: NetworkInfo; changed: boolean } {
    let invite: Invite;
    try {
      invite = decodeInvite(text); // before anything is written: a bad invite changes nothing
    } catch (e) {
      if (e instanceof InviteError) throw new AdminError('invalid', sentence(e.message));
      throw e;
    }
    const existing = this.current();
    if (existing && Buffer.from(existing.secret).equals(Buffer.from(invite.secret))) return { info: networkInfo(existing), changed: false };
    this.refuseSecond(existing);
    const { network } = this.setUp(() => joinInvite(this.deps.dataDir, invite, { now: this.deps.now(), selfName: this.deps.selfName() }), 'ask for a new invite');
    this.deps.log(`admin: joined network “${network.name}”`);
    return { info: networkInfo(network), changed: true };
  }

  /** A pending device, or a revoked one taken back. */
  approve(publicKey: string): NetworkInfo {
    const { net, key, list } = this.member(publicKey);
    if (list === null) throw new AdminError('not-found', 'No device with that key has asked to join; reload the page.');
    if (list === 'approved') return networkInfo(net);
    return this.save((n) => approve(n, key, this.deps.now()), `admin: approved ${key}`);
  }

  deny(publicKey: string): NetworkInfo {
    const { key, list } = this.member(publicKey);
    if (list !== 'pending') throw new AdminError('not-found', 'No device with that key is waiting for approval; reload the page.');
    return this.save((n) => deny(n, key, this.deps.now()), `admin: denied ${key}`);
  }

  revoke(publicKey: string): NetworkInfo {
    const { net, key, list } = this.member(publicKey);
    if (list === null) throw new AdminError('not-found', 'No member has that key; reload the page.');
    if (key === this.ownKey()) throw new AdminError('invalid', 'That is this appliance’s own key; it cannot revoke itself.');
    if (list === 'revoked') return networkInfo(net);
    return this.save((n) => revoke(n, key, this.deps.now()), `admin: revoked ${key}`);
  }

  /**
   * A new network secret, for a leaked invite (store.ts rotateNetwork): the old one stays
   * accepted `graceHours` (0: only the 20 s of the handover to members online) so members that
   * were away can come back; old invites
   * stop working. Refused before anything is written when the time is out of range.
   */
  rotate(graceHours: number): NetworkInfo {
    if (!Number.isFinite(graceHours) || graceHours < 0 || graceHours > MAX_ROTATION_GRACE_HOURS) {
      throw new AdminError('invalid', `The old secret can stay accepted for 0 to ${MAX_ROTATION_GRACE_HOURS} hours (30 days), not ${graceHours}; choose one of the times offered.`);
    }
    this.required();
    return this.save((n) => rotateNetwork(n, this.deps.now(), graceHours * HOUR_MS), (next) => `admin: rotated the network secret (generation ${next.generation})`);
  }

  private required(): Network {
    const net = this.current();
    if (!net) throw new AdminError('conflict', 'This appliance has no network yet; create one or join one first.');
    return net;
  }

  private refuseSecond(existing: Network | null): void {
    if (existing) throw new AdminError('conflict', `This appliance already belongs to network “${existing.name}”; it belongs to one network at a time.`);
  }

  private member(publicKey: string): { net: Network; key: string; list: MemberList | null } {
    const key = publicKey.trim();
    if (!isKeyText(key)) throw new AdminError('invalid', 'That is not a device key (44 characters of base64); reload the page.');
    const net = this.required();
    return { net, key, list: findMember(net, key)?.list ?? null };
  }

  /** The change applied to the file as it is now, under its lock (store.ts updateNetwork): the daemon or `warren approve` may be writing it too. */
  private save(change: (current: Network) => Network, what: string | ((next: Network) => string)): NetworkInfo {
    let next: Network;
    try {
      next = updateNetwork(networkFilePath(this.deps.dataDir), change);
    } catch (e) {
      throw new AdminError('unavailable', `The change could not be saved: ${(e as Error).message}. Check the disk (Diagnostics) and try again.`);
    }
    this.deps.log(typeof what === 'string' ? what : what(next));
    return networkInfo(next);
  }

  /** A bad name or invite content is the owner's to fix (`hint`); a network that appeared meanwhile is a conflict. */
  private setUp(run: () => NodeSetup, hint: string): NodeSetup {
    try {
      return run();
    } catch (e) {
      if (e instanceof NetworkStoreError && e.kind === 'invalid-argument') throw new AdminError('invalid', `${sentence(e.message)}; ${hint}.`);
      if (e instanceof NetworkStoreError && e.kind === 'exists') throw new AdminError('conflict', 'This appliance already belongs to a network; reload the page.');
      throw new AdminError('unavailable', `The network could not be set up: ${(e as Error).message}. Check the disk (Diagnostics) and try again.`);
    }
  }
}
