// The LAN devices page: each device's policy and exit, editable in place.

import type { AdminPeer, InboundPort, LanDevice } from '../api.ts';
import { deviceCard } from '../fragments/device.ts';
import { portsTable } from '../fragments/ports-table.ts';
import { html, type Html } from '../html.ts';
import { layout } from './layout.ts';

export function devicesPage(csrf: string, devices: readonly LanDevice[], peers: readonly AdminPeer[], ports: { devices: readonly InboundPort[]; asExit: readonly InboundPort[] } = { devices: [], asExit: [] }): Html {
  return layout(
    { title: 'Devices', csrf, nav: 'devices' },
    html`<h1>Devices</h1>
<section class="card">
  <p class="hint">Devices seen on your home network. “Through Warren” sends a device’s traffic over your network to an exit; “Direct” uses your internet provider as usual; “Blocked” cuts it off the internet. Changes apply at once.</p>
  ${devices.length === 0 ? html`<p class="empty">No device seen yet. Devices appear once they get an address from this appliance.</p>` : html`<div class="devices">${devices.map((d) => deviceCard(d, peers))}</div>`}
</section>
<section class="card">
  <h2>Inbound ports</h2>
  <p class="hint">Games, video calls and torrent clients ask for a port with NAT-PMP; Warren opens it on the exit’s public address and forwards it to the device. A port closes when the device stops renewing it.</p>
  ${ports.devices.length === 0 ? html`<p class="empty">No device holds an inbound port.</p>` : portsTable(ports.devices, 'Device')}
  ${ports.asExit.length > 0 ? html`<h3>Held on this exit for members</h3>${portsTable(ports.asExit, 'Member')}` : ''}
</section>`,
  );
}
