// Login rate limiting: at most 5 failed password checks per 5 minutes from one client, and 30
// from everyone together (a LAN attacker can take many addresses; argon2id also costs the
// appliance ~64 MB and tens of milliseconds per check). Over the limit a password form answers
// 429 with Retry-After before any hash is computed. The global limit means a determined
// attacker on the LAN can lock the owner out for 5 minutes; that is the price of not being
// guessable. IPv6 clients are counted per /64, since one host can use many addresses in it.

import { Elysia } from 'elysia';
import type { AdminDeps } from '../deps.ts';
import { html, htmlResponse } from '../html.ts';

export interface LimiterOptions {
  windowMs: number;
  perClient: number;
  global: number;
}

export const DEFAULT_LIMITS: LimiterOptions = { windowMs: 5 * 60_000, perClient: 5, global: 30 };
/** The forms that check the admin password. */
export const PASSWORD_FORMS = new Set(['/login', '/settings/password']);
const MAX_TRACKED_CLIENTS = 4096;

export class FailureLimiter {
  private readonly perClient = new Map<string, number[]>();
  private all: number[] = [];

  constructor(
    private readonly now: () => number,
    readonly options: LimiterOptions = DEFAULT_LIMITS,
  ) {}

  private recent(times: number[]): number[] {
    const since = this.now() - this.options.windowMs;
    return times.filter((t) => t > since);
  }

  /** 0 when the client may try now, else the seconds until it may. */
  retryAfterSeconds(client: string): number {
    this.all = this.recent(this.all);
    const mine = this.recent(this.perClient.get(client) ?? []);
    const blockers: number[] = [];
    if (mine.length >= this.options.perClient) blockers.push(mine[mine.length - this.options.perClient] ?? 0);
    if (this.all.length >= this.options.global) blockers.push(this.all[this.all.length - this.options.global] ?? 0);
    if (blockers.length === 0) return 0;
    const until = Math.max(...blockers) + this.options.windowMs;
    return Math.max(1, Math.ceil((until - this.now()) / 1000));
  }

  fail(client: string): void {
    const t = this.now();
    this.all.push(t);
    const mine = this.recent(this.perClient.get(client) ?? []);
    mine.push(t);
    this.perClient.delete(client); // re-insert: the map's order stays oldest-first for pruning
    this.perClient.set(client, mine);
    if (this.perClient.size > MAX_TRACKED_CLIENTS) {
      const oldest = this.perClient.keys().next();
      if (!oldest.done) this.perClient.delete(oldest.value);
    }
  }

  /** A correct password clears that client's failures (not the global count). */
  succeed(client: string): void {
    this.perClient.delete(client);
  }
}

/** The eight groups of an IPv6 address (an embedded IPv4 tail counts as two), or null. */
function ipv6Groups(address: string): string[] | null {
  const parts = address.replace(/%.*$/, '').split('::');
  if (parts.length > 2) return null;
  const split = (s: string | undefined): string[] => (s ? s.split(':').flatMap((g) => (g.includes('.') ? ['v4', 'v4'] : [g])) : []);
  const head = split(parts[0]);
  if (parts.length === 1) return head.length === 8 ? head : null;
  const tail = split(parts[1]);
  const zeros = 8 - head.length - tail.length;
  return zeros >= 1 ? [...head, ...Array<string>(zeros).fill('0'), ...tail] : null;
}

/** The key a client is counted under: its IPv4 address, or its IPv6 /64. */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4mapped?.[1]) return v4mapped[1];
  if (!address.includes(':')) return address;
  const groups = ipv6Groups(address);
  if (!groups) return address;
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export function rateLimit(deps: AdminDeps) {
  return new Elysia({ name: 'warren-rate-limit' }).onBeforeHandle({ as: 'global' }, ({ request, path, server }) => {
    if (request.method !== 'POST' || !PASSWORD_FORMS.has(path)) return;
    const wait = deps.limiter.retryAfterSeconds(clientKey(server?.requestIP(request)?.address));
    if (wait === 0) return;
    return htmlResponse(
      html`<p class="notice error" role="alert">Too many wrong passwords. Wait ${Math.ceil(wait / 60)} min and try again.</p>`,
      429,
      { 'retry-after': String(wait) },
    );
  });
}
