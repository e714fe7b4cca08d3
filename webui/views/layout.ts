// The page shell: head (CSP-friendly: every script and style is a file under /static), the
// navigation, and the CSRF token that htmx sends with every request (hx-headers on <body>,
// inherited by every element). htmx is configured from a meta tag: no indicator <style> element
// (the CSP allows no inline style), no eval, no script tags in swapped content, no history cache
// (admin pages should not linger in localStorage).

import { html, type Html, type Renderable } from '../html.ts';

export type NavKey = 'dashboard' | 'peers' | 'devices' | 'network' | 'privacy' | 'settings' | 'diagnostics';

const NAV: readonly [NavKey, string, string][] = [
  ['dashboard', '/', 'Dashboard'],
  ['peers', '/peers', 'Peers'],
  ['devices', '/devices', 'Devices'],
  ['network', '/network', 'Network'],
  ['privacy', '/privacy', 'Privacy'],
  ['settings', '/settings', 'Settings'],
  ['diagnostics', '/diagnostics', 'Diagnostics'],
];

export const HTMX_CONFIG = JSON.stringify({
  includeIndicatorStyles: false,
  allowEval: false,
  allowScriptTags: false,
  historyCacheSize: 0,
  refreshOnHistoryMiss: true,
  selfRequestsOnly: true,
});

export interface PageOptions {
  title: string;
  /** The session's CSRF token (anonymous sessions have one too). */
  csrf: string;
  /** Signed-in pages show the navigation and a sign-out button. */
  nav?: NavKey | null;
}

function navigation(active: NavKey, csrf: string): Html {
  return html`<nav class="nav" aria-label="Main">
  <a class="brand" href="/">Warren</a>
  <ul>${NAV.map(([key, href, label]) => html`<li><a href="${href}"${key === active ? html` aria-current="page"` : ''}>${label}</a></li>`)}</ul>
  <form method="post" action="/logout" class="logout"><input type="hidden" name="_csrf" value="${csrf}"><button type="submit" class="link">Sign out</button></form>
</nav>`;
}

export function layout(opts: PageOptions, body: Renderable): Html {
  const headers = JSON.stringify({ 'X-CSRF-Token': opts.csrf });
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content="${HTMX_CONFIG}">
<title>${opts.title} · Warren</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/app.css">
<script src="/static/htmx.js" defer></script>
<script src="/static/sse.js" defer></script>
<script src="/static/app.js" defer></script>
</head>
<body hx-headers="${headers}">
${opts.nav ? navigation(opts.nav, opts.csrf) : html`<header class="bare"><span class="brand">Warren</span></header>`}
<div id="flash" class="flash" role="status" aria-live="polite" hidden></div>
<main>
${body}
</main>
</body>
</html>
`;
}

/** A titled section of a page. */
export function card(title: Renderable, body: Renderable, id?: string): Html {
  return html`<section class="card"${id ? html` id="${id}"` : ''}><h2>${title}</h2>${body}</section>`;
}

/** A message above or inside a form: what happened and what to do next. */
export function notice(kind: 'ok' | 'error', text: string): Html {
  return html`<p class="notice ${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${text}</p>`;
}
