// Response headers for every answer, errors included: a CSP that allows only our own files (no
// inline script or style anywhere, no framing), no MIME sniffing, no referrer to other sites, and no caching of
// anything but /static (set there).

import { Elysia } from 'elysia';

export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: under no-referrer browsers send `Origin: null` with form posts,
  // and the CSRF check needs the real origin.
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  'cache-control': 'no-store',
};

export function securityHeaders() {
  return new Elysia({ name: 'warren-security-headers' }).onRequest(({ set }) => {
    Object.assign(set.headers, SECURITY_HEADERS);
  });
}
