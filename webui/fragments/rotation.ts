// Rotating the network secret (after an invite leaked): what the network has now — its
// generation and until when the previous secret is accepted, never a secret — and the form that
// rotates it, answered with itself (routes/network.ts also hides the invite then: one shown
// before carries the old secret; "Show invite" fetches the new one).

import type { NetworkInfo } from '../api.ts';
import { formatSince } from '../format.ts';
import { html, type Html } from '../html.ts';

/** How long the old secret stays accepted, in hours, as the form offers it (the default first marked). */
export const GRACE_CHOICES: readonly { hours: '0' | '24' | '168' | '720'; label: string }[] = [
  { hours: '24', label: '1 day' },
  { hours: '168', label: '7 days' },
  { hours: '720', label: '30 days' },
  { hours: '0', label: 'not at all (members that are away need the new invite)' },
];
const DEFAULT_GRACE = '168';

function state(net: NetworkInfo): Html {
  const now = net.generation === 0 ? 'the secret the network was created with' : `generation ${net.generation} of the secret`;
  const previous = net.previousUntil
    ? html` The previous secret is accepted until <strong>${formatSince(net.previousUntil)}</strong>.`
    : net.generation > 0 ? ' The previous secret is no longer accepted.' : '';
  return html`<p class="state" id="rotation-state">Now: <strong>${now}</strong>.${previous}</p>`;
}

export function rotationForm(net: NetworkInfo, message: Html | null = null): Html {
  return html`<form class="card stack" id="rotation" hx-post="/network/rotate" hx-target="this" hx-swap="outerHTML" hx-confirm="Rotate the network secret? Every invite given so far stops working.">
  <h2>Rotate the secret</h2>
  ${message ?? ''}
  ${state(net)}
  <p class="hint">Use this if an invite leaked: members online get the new secret at once; members that are away can come back until the time you choose below is over; old invites stop working; devices you revoked never get it. Revoke the devices that should not have joined first.</p>
  <label>Accept the old secret for <select name="graceHours">${GRACE_CHOICES.map((c) => html`<option value="${c.hours}"${c.hours === DEFAULT_GRACE ? html` selected` : ''}>${c.label}</option>`)}</select></label>
  <button type="submit" class="danger">Rotate the secret</button>
</form>`;
}

/** What a rotation did, for the notice above the form. */
export function rotationDone(net: NetworkInfo): string {
  const away = net.previousUntil ? `members that were away can come back until ${formatSince(net.previousUntil)}` : 'members that were away need the new invite';
  return `Rotated: generation ${net.generation}. Members online get the new secret now; ${away}; old invites no longer work; devices you revoked never get it. Show the invite above for the new one.`;
}
