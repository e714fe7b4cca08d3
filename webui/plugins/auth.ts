// Who may see what. Every path needs a signed-in session except the public ones below (sign-in,
// the first-run password step, static files); the check runs first, before the body is even
// parsed. Without a session a page (a plain GET) is redirected to /login, anything else — htmx
// fragments, form posts, the event stream — gets 401. While no admin password exists, every
// page leads to the first-run step instead.

import { Elysia } from 'elysia';
import type { AdminDeps } from '../deps.ts';
import { seeOther } from '../html.ts';
import { clearedSessionCookie, readCookie, SESSION_COOKIE, sessionCookie, type Session } from '../sessions.ts';

const PUBLIC_PATHS = new Set(['/login', '/setup']);

export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.has(path) || path.startsWith('/static/');
}

function isPageRequest(request: Request): boolean {
  return (request.method === 'GET' || request.method === 'HEAD') && request.headers.get('hx-request') !== 'true';
}

/** The request's session, anonymous or signed in; null without a live one. */
export function findSession(deps: AdminDeps, request: Request): Session | null {
  return deps.sessions.get(readCookie(request.headers.get('cookie'), SESSION_COOKIE));
}

/** The signed-in session of a request that passed the gate. */
export function signedIn(deps: AdminDeps, request: Request): Session {
  const s = findSession(deps, request);
  if (!s?.authenticated) throw new Error('a route behind the sign-in gate ran without a session');
  return s;
}

/** The session a public form uses for its CSRF token: the visitor's own, or a new anonymous one. */
export function anonymousSession(deps: AdminDeps, request: Request): { session: Session; setCookie: Record<string, string> } {
  const existing = findSession(deps, request);
  if (existing) return { session: existing, setCookie: {} };
  const session = deps.sessions.create(false);
  return { session, setCookie: { 'set-cookie': sessionCookie(session, 15 * 60) } };
}

/** A new signed-in session replacing the request's (a new token: no session fixation). */
export function signIn(deps: AdminDeps, request: Request): { session: Session; cookie: string } {
  const old = readCookie(request.headers.get('cookie'), SESSION_COOKIE);
  if (old) deps.sessions.destroy(old);
  const session = deps.sessions.create(true);
  return { session, cookie: sessionCookie(session, 12 * 3600) };
}

export function signOut(deps: AdminDeps, request: Request): string {
  const old = readCookie(request.headers.get('cookie'), SESSION_COOKIE);
  if (old) deps.sessions.destroy(old);
  return clearedSessionCookie();
}

function refuse(request: Request, location: string): Response {
  if (isPageRequest(request)) return seeOther(location);
  return new Response('Your session has ended. Sign in again.\n', { status: 401, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } });
}

export function auth(deps: AdminDeps) {
  return new Elysia({ name: 'warren-auth' }).onRequest(({ request }) => {
    const path = new URL(request.url).pathname;
    if (isPublicPath(path)) return;
    if (!deps.store.hasPassword()) return refuse(request, '/setup');
    if (findSession(deps, request)?.authenticated) return;
    return refuse(request, '/login');
  });
}
