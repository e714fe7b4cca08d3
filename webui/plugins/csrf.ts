// CSRF protection for every request that changes something (any method but GET/HEAD/OPTIONS).
// Two checks, either of which refuses with 403 before the body is validated or a handler runs:
// 1. the browser's own word: an Origin header (or Sec-Fetch-Site) naming another site;
// 2. the session's CSRF token, sent by htmx as the X-CSRF-Token header (hx-headers on <body>)
//    or by a plain form as the hidden field `_csrf`, compared in constant time. Login and
//    first-run forms carry the token of an anonymous session (see sessions.ts).

import { Elysia } from 'elysia';
import type { AdminDeps } from '../deps.ts';
import { csrfMatches } from '../sessions.ts';
import { findSession } from './auth.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = '_csrf';
const REFUSED = 'This form has expired or did not come from this admin page. Reload the page and try again.';

/** Thrown to refuse a request before its handler; app.ts answers with `status` and the message. */
export class RefusedError extends Error {
  override readonly name = 'RefusedError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function crossSite(request: Request): boolean {
  const site = request.headers.get('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') return true;
  const origin = request.headers.get('origin');
  if (!origin) return false;
  const host = request.headers.get('host');
  return origin !== `http://${host}` && origin !== `https://${host}`;
}

function submittedToken(request: Request, body: unknown): string | undefined {
  const header = request.headers.get(CSRF_HEADER);
  if (header) return header;
  if (typeof body === 'object' && body !== null && CSRF_FIELD in body) {
    const v = (body as Record<string, unknown>)[CSRF_FIELD];
    if (typeof v === 'string') return v;
  }
  return undefined;
}

export function csrf(deps: AdminDeps) {
  // onTransform runs after the body is parsed and before it is validated.
  return new Elysia({ name: 'warren-csrf' }).onTransform({ as: 'global' }, ({ request, body }) => {
    if (SAFE_METHODS.has(request.method)) return;
    const session = findSession(deps, request);
    if (crossSite(request) || !session || !csrfMatches(session, submittedToken(request, body))) throw new RefusedError(403, REFUSED);
  });
}
