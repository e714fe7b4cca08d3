// The settings page's two forms, each answered with itself: the admin password change, and the
// exit offer (letting other members' traffic leave through this home's internet connection,
// which needs the owner to tick an explicit warning).

import type { ExitOffer } from '../api.ts';
import { MIN_PASSWORD_LENGTH } from '../admin-store.ts';
import { html, type Html } from '../html.ts';

export function passwordForm(message: Html | null = null): Html {
  return html`<form class="card stack" id="password" hx-post="/settings/password" hx-target="this" hx-swap="outerHTML">
  <h2>Admin password</h2>
  ${message ?? ''}
  <label>Current password <input type="password" name="current" autocomplete="current-password" required maxlength="256"></label>
  <label>New password <input type="password" name="password" autocomplete="new-password" required minlength="${MIN_PASSWORD_LENGTH}" maxlength="256"></label>
  <label>Repeat the new password <input type="password" name="confirm" autocomplete="new-password" required minlength="${MIN_PASSWORD_LENGTH}" maxlength="256"></label>
  <p class="hint">Changing it signs out every other browser.</p>
  <button type="submit">Change password</button>
</form>`;
}

export function exitOfferForm(offer: ExitOffer, message: Html | null = null): Html {
  return html`<form class="card stack" id="exit-offer" hx-post="/settings/exit-offer" hx-target="this" hx-swap="outerHTML">
  <h2>Offer this home as an exit</h2>
  ${message ?? ''}
  <div class="warning" role="note">
    <strong>Read this first.</strong> As an exit, this appliance sends other members’ internet traffic out through
    your connection: websites, your provider and the authorities will see <em>your</em> address for whatever
    they do. Depending on your country and your contract with your provider you may be held responsible for
    it. Relaying or being an exit does not make anything lawful that was not — file sharing of works you
    have no right to share included. Warren keeps no log of members’ destinations, so it cannot show what
    they were either. Offer an exit only to people you trust.
  </div>
  <label class="check"><input type="checkbox" name="acceptRisk" value="on"${offer.acceptRisk ? ' checked' : ''}> I understand that other members’ traffic will leave from my address, and I accept the risk.</label>
  <label class="check"><input type="checkbox" name="enabled" value="on"${offer.enabled ? ' checked' : ''}> Offer this home as an exit</label>
  <p class="state">Now: <strong>${offer.enabled ? 'offering an exit' : 'not offering an exit'}</strong></p>
  <button type="submit">Save exit offer</button>
</form>`;
}
