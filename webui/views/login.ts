// The sign-in page.

import { html, type Html } from '../html.ts';
import { layout, notice } from './layout.ts';

export function loginPage(csrf: string, error: string | null = null): Html {
  return layout(
    { title: 'Sign in', csrf },
    html`<section class="card narrow">
  <h1>Sign in</h1>
  ${error ? notice('error', error) : ''}
  <form method="post" action="/login" class="stack">
    <input type="hidden" name="_csrf" value="${csrf}">
    <label>Admin password <input type="password" name="password" autocomplete="current-password" required maxlength="256" autofocus></label>
    <button type="submit">Sign in</button>
  </form>
  <p class="hint">Forgot it? Remove <code>admin.json</code> from Warren’s state directory on the appliance and reload this page to set a new one.</p>
</section>`,
  );
}
