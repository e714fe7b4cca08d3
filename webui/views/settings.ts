// The privacy and settings pages.

import type { AdminPeer, ExitOffer, PrivacySettings } from '../api.ts';
import { privacyForm } from '../fragments/privacy-form.ts';
import { exitOfferForm, passwordForm } from '../fragments/settings-forms.ts';
import { html, type Html } from '../html.ts';
import { layout, notice } from './layout.ts';

export function privacyPage(csrf: string, settings: PrivacySettings, peers: readonly AdminPeer[]): Html {
  return layout({ title: 'Privacy', csrf, nav: 'privacy' }, html`<h1>Privacy</h1>${privacyForm(settings, peers)}`);
}

export function settingsPage(csrf: string, offer: ExitOffer, passwordChanged = false): Html {
  const changed = passwordChanged ? notice('ok', 'Password changed. Other browsers have been signed out.') : null;
  return layout({ title: 'Settings', csrf, nav: 'settings' }, html`<h1>Settings</h1>${passwordForm(changed)}${exitOfferForm(offer)}`);
}
