// DNS rebinding defence: answer only requests whose Host header names this admin — the address
// it listens on, or one of the names the appliance is known by (warren.local). A web page on
// another site whose name an attacker re-points at the appliance's LAN address would otherwise
// be "same origin" with it: it could read the first-run page and set the password on a fresh
// appliance, since its Origin header would match its own Host. 421 Misdirected Request otherwise.

import { Elysia } from 'elysia';

export const DEFAULT_HOSTNAMES = ['warren.local'];

/** The host part of a Host header, lower case, without port or IPv6 brackets. */
export function hostOf(header: string | null): string {
  if (!header) return '';
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : '';
  }
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

export function hostCheck(allowed: readonly string[]) {
  const names = new Set(allowed.map((n) => n.toLowerCase().replace(/^\[|\]$/g, '')));
  return new Elysia({ name: 'warren-host-check' }).onRequest(({ request }) => {
    if (names.has(hostOf(request.headers.get('host')))) return;
    return new Response(`This admin answers only at ${[...names].map((n) => `http://${n.includes(':') ? `[${n}]` : n}/`).join(' or ')}.\n`, {
      status: 421,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    });
  });
}
