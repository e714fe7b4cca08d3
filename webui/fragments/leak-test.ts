// The dashboard's leak self-test: the button, and the result it brings back (htmx swaps it in).

import type { LeakReport } from '../api.ts';
import { html, type Html } from '../html.ts';

export function leakTestCard(): Html {
  return html`<section class="card" id="leak-test">
  <h2>Leak test</h2>
  <p class="hint">Checks, along the way your devices’ traffic goes, that websites see your exit’s address and not yours, that DNS goes through the tunnel, and that the kill switch is in place.</p>
  <form hx-post="/leak-test" hx-target="#leak-result" hx-swap="innerHTML" hx-disabled-elt="find button"><input type="hidden" name="run" value="1"><button type="submit">Check for leaks</button></form>
  <div id="leak-result" aria-live="polite"></div>
</section>`;
}

export function leakResult(r: LeakReport): Html {
  const mark = (ok: boolean | null) => (ok === true ? html`<span class="badge ok">✓ ok</span>` : ok === false ? html`<span class="badge bad">✗ leak</span>` : html`<span class="badge">? unknown</span>`);
  return html`<p class="notice ${r.ok ? 'ok' : 'error'}">${r.ok ? 'No leak found.' : 'Something needs a look.'}</p>
<ul class="checks">${r.checks.map((c) => html`<li data-check="${c.name}">${mark(c.ok)} <strong>${c.name}</strong> — ${c.detail}</li>`)}</ul>`;
}
