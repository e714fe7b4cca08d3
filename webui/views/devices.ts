// The LAN devices page: each device's policy and exit, editable in place.

import type { AdminPeer, LanDevice } from '../api.ts';
import { deviceCard } from '../fragments/device.ts';
import { html, type Html } from '../html.ts';
import { layout } from './layout.ts';

export function devicesPage(csrf: string, devices: readonly LanDevice[], peers: readonly AdminPeer[]): Html {
  return layout(
    { title: 'Devices', csrf, nav: 'devices' },
    html`<h1>Devices</h1>
<section class="card">
  <p class="hint">Devices seen on your home network. “Through Warren” sends a device’s traffic over your network to an exit; “Direct” uses your internet provider as usual; “Blocked” cuts it off the internet. Changes apply at once.</p>
  ${devices.length === 0 ? html`<p class="empty">No device seen yet. Devices appear once they get an address from this appliance.</p>` : html`<div class="devices">${devices.map((d) => deviceCard(d, peers))}</div>`}
</section>`,
  );
}
