// Inbound ports (NAT-PMP through the exit): what the LAN's devices hold, and, on an exit, what it
// holds open for members. Read-only: devices ask for ports themselves and leases end on their own.

import type { InboundPort } from '../api.ts';
import { formatDuration } from '../format.ts';
import { html, type Html } from '../html.ts';

export function portsTable(ports: readonly InboundPort[], toLabel: string): Html {
  return html`<table class="table responsive">
<thead><tr><th>Protocol</th><th>Public port</th><th>${toLabel}</th><th>Lease ends in</th></tr></thead>
<tbody>
${ports.map(
  (p) => html`<tr>
  <td data-label="Protocol">${p.proto.toUpperCase()}</td>
  <td data-label="Public port"><code>${p.external}</code></td>
  <td data-label="${toLabel}"><code>${p.to}</code></td>
  <td data-label="Lease ends in">${formatDuration(p.expiresInSeconds)}</td>
</tr>`,
)}
</tbody>
</table>`;
}
