// The invite, shown only when asked for (it carries the network secret): its text and a QR
// code. The QR code is an SVG made by the `qrcode` package and shown as a data: image, so
// nothing from it enters the page's markup. The invite is encoded in upper case: base32 in
// upper case is QR "alphanumeric" mode, a smaller code (see appliance/network/invite.ts).

import QRCode from 'qrcode';
import { html, type Html } from '../html.ts';

export async function inviteQrDataUri(invite: string): Promise<string> {
  const svg = await QRCode.toString(invite.toUpperCase(), { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}

export async function inviteFragment(invite: string): Promise<Html> {
  return html`<div class="invite" id="invite">
  <img class="qr" src="${await inviteQrDataUri(invite)}" alt="QR code of the invite" width="240" height="240">
  <div class="stack">
    <label>Invite text <textarea readonly rows="4" spellcheck="false" class="mono" id="invite-text">${invite}</textarea></label>
    <p class="hint">Anyone with this invite can ask to join; you approve each new device below. Share it only with people you trust, by a private channel.</p>
    <button type="button" class="plain" hx-get="/network/invite/hide" hx-target="#invite" hx-swap="outerHTML">Hide invite</button>
  </div>
</div>`;
}

/** `outOfBand`: sent along with another fragment's answer, replacing the invite wherever it is (htmx hx-swap-oob). */
export function hiddenInvite(outOfBand = false): Html {
  return html`<div class="invite" id="invite"${outOfBand ? html` hx-swap-oob="true"` : ''}><button type="button" hx-get="/network/invite" hx-target="#invite" hx-swap="outerHTML">Show invite and QR code</button></div>`;
}
