// Browser sessions, in memory (a restart signs everyone out, which is fine for one household's
// admin). A session is a random 32-byte token in a cookie plus its own CSRF token. Visitors of the
// login and first-run pages get an anonymous session too, so even those forms carry a CSRF token:
// otherwise any web page could post a first-run password to a new appliance on the LAN.

import { randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'warren_session';

export interface Session {
  readonly token: string;
  readonly csrf: string;
  readonly authenticated: boolean;
  readonly createdAt: number;
  lastSeen: number;
}

export interface SessionLimits {
  /** A signed-in session ends after this long without a request. */
  idleMs: number;
  /** …and after this long in any case. */
  absoluteMs: number;
  /** Anonymous sessions (login and first-run forms) live this long. */
  anonymousMs: number;
  /** At most this many sessions; the oldest anonymous ones go first. */
  max: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { idleMs: 30 * 60_000, absoluteMs: 12 * 3600_000, anonymousMs: 15 * 60_000, max: 512 };

function token(): string {
  return randomBytes(32).toString('base64url');
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly now: () => number,
    private readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS,
  ) {}

  create(authenticated: boolean): Session {
    this.evict();
    const t = this.now();
    const s: Session = { token: token(), csrf: token(), authenticated, createdAt: t, lastSeen: t };
    this.sessions.set(s.token, s);
    return s;
  }

  /** The live session for a cookie value, touched; null when unknown or expired. */
  get(value: string | undefined): Session | null {
    if (!value) return null;
    const s = this.sessions.get(value);
    if (!s) return null;
    if (this.expired(s, this.now())) {
      this.sessions.delete(value);
      return null;
    }
    s.lastSeen = this.now();
    return s;
  }

  /** Whether a session is still live, without counting this as activity (for long-lived streams). */
  peek(value: string): boolean {
    const s = this.sessions.get(value);
    return s !== undefined && !this.expired(s, this.now());
  }

  destroy(value: string): void {
    this.sessions.delete(value);
  }

  /** Signs every browser out (after a password change). */
  destroyAll(): void {
    this.sessions.clear();
  }

  get size(): number {
    return this.sessions.size;
  }

  private expired(s: Session, t: number): boolean {
    if (!s.authenticated) return t - s.createdAt > this.limits.anonymousMs;
    return t - s.lastSeen > this.limits.idleMs || t - s.createdAt > this.limits.absoluteMs;
  }

  private evict(): void {
    const t = this.now();
    for (const [k, s] of this.sessions) if (this.expired(s, t)) this.sessions.delete(k);
    if (this.sessions.size < this.limits.max) return;
    // Map order is insertion order: the first anonymous entry is the oldest one.
    for (const [k, s] of this.sessions) {
      if (!s.authenticated) {
        this.sessions.delete(k);
        return;
      }
    }
    const oldest = this.sessions.keys().next();
    if (!oldest.done) this.sessions.delete(oldest.value);
  }
}

/** Constant-time comparison of a submitted CSRF token with the session's. */
export function csrfMatches(session: Session, submitted: string | undefined): boolean {
  if (!submitted) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of one cookie in a Cookie header. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The session cookie. HttpOnly: page scripts never see it; SameSite=Strict: other sites' pages
 * cannot make the browser send it. No `Secure`: the admin is plain HTTP on the LAN (there is no
 * certificate a browser would trust for 192.168.x.y), and a Secure cookie would never be sent back.
 */
export function sessionCookie(s: Session, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${s.token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
}
