// The diagnostics page: the recent log (refreshable) and the support bundle download.

import { html, type Html } from '../html.ts';
import { card, layout } from './layout.ts';

export const LOG_LINES = 200;

export function logFragment(lines: readonly string[]): Html {
  return html`<pre class="log" id="log" tabindex="0">${lines.length === 0 ? 'The log is empty.' : lines.join('\n')}</pre>`;
}

export function diagnosticsPage(csrf: string, lines: readonly string[]): Html {
  return layout(
    { title: 'Diagnostics', csrf, nav: 'diagnostics' },
    html`<h1>Diagnostics</h1>
${card('Support bundle', html`<p class="hint">A text file with versions, settings and status for whoever helps you. Keys and secrets are left out.</p><p><a class="button" href="/diagnostics/support-bundle" download>Download support bundle</a></p>`)}
${card('Recent log', html`<p><button type="button" class="plain" hx-get="/diagnostics/log?lines=${LOG_LINES}" hx-target="#log" hx-swap="outerHTML">Refresh</button></p>${logFragment(lines)}`)}`,
  );
}
