// The network page: name, the invite (on request) with its QR code, the member lists, and
// rotating the secret.

import type { NetworkInfo } from '../api.ts';
import { hiddenInvite } from '../fragments/invite.ts';
import { membersSection } from '../fragments/members.ts';
import { rotationForm } from '../fragments/rotation.ts';
import { html, type Html } from '../html.ts';
import { card, layout } from './layout.ts';

export function networkPage(csrf: string, net: NetworkInfo): Html {
  return layout(
    { title: 'Network', csrf, nav: 'network' },
    html`<h1>Network <small>“${net.name ?? ''}”</small></h1>
${card('Invite someone', html`<p class="hint">Another Warren appliance joins with this invite: paste its text on that appliance’s first-run page, or scan the QR code.</p>${hiddenInvite()}`)}
${membersSection(net)}
${rotationForm(net)}`,
  );
}
