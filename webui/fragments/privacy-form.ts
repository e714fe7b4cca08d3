// The privacy settings form: hops, exit, kill switch, DNS, padding. Posted with htmx; the answer
// is the same form showing what was saved.

import type { AdminPeer, PrivacySettings } from '../api.ts';
import { html, type Html } from '../html.ts';
import { exitOptions } from './device.ts';

function radios<V extends string | number>(name: string, current: V, choices: readonly [V, string, string][]): Html {
  return html`${choices.map(
    ([value, label, hint]) => html`<label class="radio"><input type="radio" name="${name}" value="${String(value)}"${value === current ? ' checked' : ''}> <span><strong>${label}</strong> <small>${hint}</small></span></label>`,
  )}`;
}

export function privacyForm(s: PrivacySettings, peers: readonly AdminPeer[], message: Html | null = null): Html {
  return html`<form class="card stack" id="privacy" hx-post="/privacy" hx-target="this" hx-swap="outerHTML">
  ${message ?? ''}
  <fieldset><legend>Hops</legend>
    ${radios('hops', s.hops, [
      [1, '1 hop', 'fastest: the exit sees your address and your destinations'],
      [2, '2 hops', 'the exit does not learn your address'],
      [3, '3 hops', 'slowest; no single member sees both ends'],
    ])}
  </fieldset>
  <label>Exit <select name="exit">${exitOptions(peers, s.exit)}</select></label>
  <fieldset><legend>Kill switch</legend>
    ${radios('killSwitch', s.killSwitch, [
      ['on', 'On', 'devices set to go through Warren get no internet while the tunnel is down'],
      ['always', 'Always', 'also while Warren itself is stopped or starting'],
    ])}
  </fieldset>
  <fieldset><legend>DNS through the tunnel</legend>
    ${radios('dns', s.dns, [
      ['on', 'On', 'name lookups go through the exit, not your provider'],
      ['off', 'Off', 'devices keep the DNS server they have'],
    ])}
  </fieldset>
  <fieldset><legend>Padding</legend>
    ${radios('padding', s.padding, [
      ['off', 'Off', 'packet sizes are visible'],
      ['bucket', 'Buckets', 'sizes rounded up to 128/256/512/1024/MTU bytes'],
      ['mtu', 'Full size', 'every packet as large as the MTU; costs bandwidth'],
    ])}
  </fieldset>
  <button type="submit">Save privacy settings</button>
</form>`;
}
