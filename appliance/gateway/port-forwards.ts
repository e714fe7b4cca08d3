// Inbound ports through the exit (README "Inbound ports"). A LAN device asks its appliance for a
// port (NAT-PMP, gateway/natpmp.ts); the appliance asks the device's exit inside their session
// (a control message, device.ts); the exit opens a port on its WAN and forwards it to the
// member's overlay address, where the appliance forwards it on to the device. Both ends are nft
// maps (system/nft.ts), so a forwarded packet never passes through JavaScript:
//
//   internet → exit WAN:external ──dnat──▶ member overlay:inner ──(overlay)──▶ appliance
//            ──dnat──▶ device LAN ip:internal
//
// Replies retrace it through conntrack. `inner` is chosen in the port range of the device's exit
// (dataplane/exit-ports.ts), so the data plane sends the device's replies to that exit.
//
// Leases: both ends expire a mapping its client does not renew (lifetime, at most
// MAX_LIFETIME_S); the appliance closes the exit's port when its own lease ends, and the exit's
// lease outlives the appliance's by LEASE_GRACE_S only, should that message be lost.

import type { Proto } from './natpmp.ts';

export const MAX_LIFETIME_S = 7200;
export const LEASE_GRACE_S = 10;
/** Ports an exit opens for others unless `exit.forward_ports` says otherwise (BitTorrent's 6881 among them). */
export const DEFAULT_FORWARD_PORTS = { first: 1024, last: 65_535 } as const;
export const DEFAULT_FORWARDS_PER_MEMBER = 16;

export interface PortRange {
  first: number;
  last: number;
}

/** One row of an nft map: `port : address . port`. */
export interface ForwardElement {
  proto: Proto;
  port: number;
  to: string;
  toPort: number;
}

// ------------------------------------------------------------------------------------- the exit

export interface ExitLease {
  proto: Proto;
  external: number;
  /** The member (base64 public key), its overlay address, and the port there. */
  member: string;
  memberAddr: string;
  inner: number;
  expiresMs: number;
}

export type ExitAnswer = { ok: true; external: number; lifetime: number } | { ok: false; code: 'refused' | 'out-of-resources'; error: string };

export interface ExitForwardsOptions {
  range: PortRange;
  perMember: number;
  /** Ports never given out (the exit's own tunnel port). */
  reserved: readonly number[];
  now: () => number;
  random?: () => number;
}

/** The exit's side: which WAN ports go to which member, with their leases. */
export class ExitForwards {
  private readonly leases = new Map<string, ExitLease>();

  constructor(private opts: ExitForwardsOptions) {}

  /** New settings: leases outside the range are dropped. True when something changed. */
  configure(range: PortRange, perMember: number, reserved: readonly number[]): boolean {
    this.opts = { ...this.opts, range, perMember, reserved };
    let changed = false;
    for (const [k, l] of this.leases) {
      if (l.external < range.first || l.external > range.last || reserved.includes(l.external)) {
        this.leases.delete(k);
        changed = true;
      }
    }
    return changed;
  }

  /**
   * A member asks for (lifetime > 0) or gives back (lifetime 0) the port that reaches its
   * overlay address at `inner`. Asking again for the same `inner` renews the same port.
   */
  request(member: string, memberAddr: string, proto: Proto, inner: number, suggested: number, lifetime: number): ExitAnswer | { ok: true; external: 0; lifetime: 0 } {
    const mine = [...this.leases.values()].find((l) => l.member === member && l.proto === proto && l.inner === inner);
    if (lifetime === 0) {
      if (mine) this.leases.delete(key(proto, mine.external));
      return { ok: true, external: 0, lifetime: 0 };
    }
    const life = Math.min(lifetime, MAX_LIFETIME_S);
    const expiresMs = this.opts.now() + (life + LEASE_GRACE_S) * 1000;
    if (mine) {
      mine.expiresMs = expiresMs;
      mine.memberAddr = memberAddr;
      return { ok: true, external: mine.external, lifetime: life };
    }
    if ([...this.leases.values()].filter((l) => l.member === member).length >= this.opts.perMember) {
      return { ok: false, code: 'out-of-resources', error: `a member may hold ${this.opts.perMember} ports on this exit` };
    }
    const external = this.pick(proto, suggested);
    if (external === null) return { ok: false, code: 'out-of-resources', error: 'no free port on this exit' };
    this.leases.set(key(proto, external), { proto, external, member, memberAddr, inner, expiresMs });
    return { ok: true, external, lifetime: life };
  }

  /** A port for a new lease: the suggested one when it is free and in range, else a random free one. */
  private pick(proto: Proto, suggested: number): number | null {
    const free = (p: number) => !this.opts.reserved.includes(p) && !this.leases.has(key(proto, p));
    const { first, last } = this.opts.range;
    if (suggested >= first && suggested <= last && free(suggested)) return suggested;
    return freePort(this.opts.range, free, this.opts.random ?? Math.random);
  }

  /** Drops expired leases; true when any went. */
  sweep(): boolean {
    const now = this.opts.now();
    let changed = false;
    for (const [k, l] of this.leases) {
      if (l.expiresMs <= now) {
        this.leases.delete(k);
        changed = true;
      }
    }
    return changed;
  }

  /** A member gone (revoked, removed): its ports close. */
  dropMember(member: string): boolean {
    let changed = false;
    for (const [k, l] of this.leases) {
      if (l.member === member) {
        this.leases.delete(k);
        changed = true;
      }
    }
    return changed;
  }

  list(): ExitLease[] {
    return [...this.leases.values()].sort((a, b) => a.external - b.external);
  }

  elements(): ForwardElement[] {
    return this.list().map((l) => ({ proto: l.proto, port: l.external, to: l.memberAddr, toPort: l.inner }));
  }
}

/** A port of `range` that `free` accepts: 64 random tries, then the first from the bottom; null when none is. */
function freePort(range: PortRange, free: (port: number) => boolean, random: () => number): number | null {
  const span = range.last - range.first + 1;
  for (let i = 0; i < 64; i++) {
    const p = range.first + Math.floor(random() * span);
    if (free(p)) return p;
  }
  for (let p = range.first; p <= range.last; p++) if (free(p)) return p;
  return null;
}

function key(proto: Proto, port: number): string {
  return `${proto}/${port}`;
}

// ------------------------------------------------------------------------------- the appliance

/** What the appliance asks its exit, and what comes back (inside the session, device.ts). */
export interface PortAsk {
  proto: Proto;
  inner: number;
  suggested: number;
  lifetime: number;
}
export type PortReply = { ok: true; external: number; lifetime: number; address: string | null } | { ok: false; code: string; error: string };

export interface HomeMapping {
  /** The LAN device, and its own port. */
  client: string;
  proto: Proto;
  internal: number;
  /** The port on this appliance's overlay address, and the exit's WAN port and address. */
  inner: number;
  external: number;
  exit: string;
  exitAddress: string | null;
  expiresMs: number;
}

/** Where a device's inbound ports come from: its exit (base64 key) and the range of its inner ports. */
export type DeviceRoute = { ok: true; exit: string; range: PortRange } | { ok: false; why: string; noExit?: boolean };

export interface PortMapperDeps {
  /** The device at `ip`: its exit and port range, or why it may not have ports. */
  route: (ip: string) => DeviceRoute;
  ask: (exit: string, q: PortAsk) => Promise<PortReply | null>;
  now: () => number;
  log: (line: string) => void;
  /** The mappings changed: the firewall's maps must follow. */
  changed: () => void;
  random?: () => number;
  /** At most this many mappings per LAN device. */
  perDevice?: number;
}

export type MapResult = { result: 'success'; external: number; lifetime: number } | { result: 'refused' | 'network-failure' | 'out-of-resources'; why: string };

export const DEFAULT_MAPPINGS_PER_DEVICE = 16;

/** The appliance's side: its LAN devices' mappings, each backed by a lease on the device's exit. */
export class PortMapper {
  private readonly mappings = new Map<string, HomeMapping>();

  constructor(private readonly deps: PortMapperDeps) {}

  list(): HomeMapping[] {
    return [...this.mappings.values()].sort((a, b) => a.client.localeCompare(b.client) || a.internal - b.internal);
  }

  elements(): ForwardElement[] {
    return this.list().map((m) => ({ proto: m.proto, port: m.inner, to: m.client, toPort: m.internal }));
  }

  /** NAT-PMP's map request (lifetime > 0) or delete (lifetime 0; internal 0 deletes all of the client's). */
  async map(client: string, proto: Proto, internal: number, suggested: number, lifetime: number): Promise<MapResult> {
    if (lifetime === 0) {
      const gone = this.list().filter((m) => m.client === client && m.proto === proto && (internal === 0 || m.internal === internal));
      for (const m of gone) this.close(m);
      return { result: 'success', external: 0, lifetime: 0 };
    }
    if (internal === 0) return { result: 'refused', why: 'internal port 0' };
    const route = this.deps.route(client);
    if (!route.ok) return { result: route.noExit ? 'network-failure' : 'refused', why: route.why };
    const k = mapKey(client, proto, internal);
    const had = this.mappings.get(k);
    if (!had && this.list().filter((m) => m.client === client).length >= (this.deps.perDevice ?? DEFAULT_MAPPINGS_PER_DEVICE)) {
      return { result: 'out-of-resources', why: `a device may hold ${this.deps.perDevice ?? DEFAULT_MAPPINGS_PER_DEVICE} ports` };
    }
    // A device whose exit changed since (failover, a new setting) moves to the new exit.
    if (had && had.exit !== route.exit) this.close(had);
    const keep = had && had.exit === route.exit ? had : null;
    const inner = keep?.inner ?? this.pickInner(proto, route.range);
    if (inner === null) return { result: 'out-of-resources', why: 'no free port on this appliance' };
    const life = Math.min(lifetime, MAX_LIFETIME_S);
    const reply = await this.deps.ask(route.exit, { proto, inner, suggested: keep?.external ?? (suggested || internal), lifetime: life });
    if (!reply) return { result: 'network-failure', why: 'the exit did not answer' };
    if (!reply.ok) return { result: reply.code === 'out-of-resources' ? 'out-of-resources' : 'refused', why: reply.error };
    const m: HomeMapping = { client, proto, internal, inner, external: reply.external, exit: route.exit, exitAddress: reply.address, expiresMs: this.deps.now() + reply.lifetime * 1000 };
    const changed = !keep || keep.inner !== m.inner || keep.external !== m.external;
    this.mappings.set(k, m);
    if (changed) {
      this.deps.log(`ports: ${proto} ${reply.address ?? 'exit'}:${m.external} → ${client}:${internal} (through ${route.exit.slice(0, 8)}…, ${reply.lifetime} s)`);
      this.deps.changed();
    }
    return { result: 'success', external: m.external, lifetime: reply.lifetime };
  }

  private pickInner(proto: Proto, range: PortRange): number | null {
    const used = new Set(this.list().filter((m) => m.proto === proto).map((m) => m.inner));
    return freePort(range, (p) => !used.has(p), this.deps.random ?? Math.random);
  }

  /** Closes here at once and tells the exit, not waiting for it (it may be the exit that failed). */
  private close(m: HomeMapping): void {
    this.mappings.delete(mapKey(m.client, m.proto, m.internal));
    this.deps.log(`ports: ${m.proto} ${m.exitAddress ?? 'exit'}:${m.external} → ${m.client}:${m.internal} closed`);
    this.deps.changed();
    void this.deps.ask(m.exit, { proto: m.proto, inner: m.inner, suggested: 0, lifetime: 0 }).catch(() => null);
  }

  /** Once a second: leases not renewed end (and their exit's port closes). */
  async sweep(): Promise<void> {
    const now = this.deps.now();
    for (const m of this.list()) if (m.expiresMs <= now) this.close(m);
  }

  /** Mappings whose device moved to another exit (failover, a new setting) follow it; a device no longer on the overlay loses them. */
  async refresh(): Promise<void> {
    const now = this.deps.now();
    for (const m of this.list()) {
      const route = this.deps.route(m.client);
      if (!route.ok) this.close(m);
      else if (route.exit !== m.exit) await this.map(m.client, m.proto, m.internal, m.external, Math.max(1, Math.round((m.expiresMs - now) / 1000)));
    }
  }
}

function mapKey(client: string, proto: Proto, internal: number): string {
  return `${client}/${proto}/${internal}`;
}
