// The dashboard's summary tiles: peers online, the exit in use and its latency, uptime, and the
// health flags (tunnel, DNS, kill switch). Sent on every SSE "status" event.

import type { AdminStatus } from '../api.ts';
import { formatDuration, formatMs } from '../format.ts';
import { html, type Html } from '../html.ts';

function flag(label: string, ok: boolean, fix: string): Html {
  return html`<li class="${ok ? 'ok' : 'bad'}"><span class="dot" aria-hidden="true"></span>${label}: <strong>${ok ? 'OK' : 'problem'}</strong>${ok ? '' : html` <small>${fix}</small>`}</li>`;
}

export function statusCards(s: AdminStatus): Html {
  return html`<div class="tiles">
  <div class="tile"><span class="label">Peers online</span><span class="value">${s.peersOnline} / ${s.peersTotal}</span></div>
  <div class="tile"><span class="label">Exit in use</span><span class="value">${s.exit ? s.exit.name : 'none'}</span><small>${s.exit ? `latency ${formatMs(s.exit.latencyMs)}` : 'devices go out directly'}</small></div>
  <div class="tile"><span class="label">Up for</span><span class="value">${formatDuration(s.uptimeSeconds)}</span><small>${s.interfaceName}</small></div>
</div>
<ul class="health" aria-label="Health">
  ${flag('Tunnel', s.health.tunnel, 'No peer answers; see Peers and Diagnostics.')}
  ${flag('DNS', s.health.dns, 'Devices use the ISP’s DNS; turn DNS on under Privacy.')}
  ${flag('Kill switch', s.health.killSwitch, 'Traffic may leak when the tunnel drops; check Privacy.')}
</ul>`;
}
