// The peers table (refreshed in place every 10 s by htmx): name, key, endpoint, path, round
// trip, loss, rates, traffic, uptime and the age of the last handshake. On a phone each row becomes a card
// (app.css, using the data-label attributes).

import type { AdminPeer } from '../api.ts';
import { formatBytes, formatDuration, formatMs, formatRate, shortKey } from '../format.ts';
import { html, type Html } from '../html.ts';

function handshake(p: AdminPeer): string {
  return p.lastHandshakeSecondsAgo === null ? 'never' : `${formatDuration(p.lastHandshakeSecondsAgo)} ago`;
}

export function peersTable(peers: readonly AdminPeer[]): Html {
  if (peers.length === 0) return html`<p class="empty">No peers yet. Invite someone from the Network page.</p>`;
  return html`<table class="table responsive">
<thead><tr><th>Name</th><th>Key</th><th>Endpoint</th><th>Path</th><th>Round trip</th><th>Loss</th><th>Rate down / up</th><th>Down / up</th><th>Up for</th><th>Last handshake</th></tr></thead>
<tbody>
${peers.map(
  (p) => html`<tr>
  <td data-label="Name"><strong>${p.name}</strong></td>
  <td data-label="Key"><code title="${p.publicKey}">${shortKey(p.publicKey)}</code></td>
  <td data-label="Endpoint">${p.endpoint ?? 'unknown'}</td>
  <td data-label="Path"><span class="badge ${p.path}">${p.path}</span></td>
  <td data-label="Round trip">${formatMs(p.rttMs)}</td>
  <td data-label="Loss">${p.lossPercent === null ? '—' : `${p.lossPercent.toFixed(1)} %`}</td>
  <td data-label="Rate down / up">${formatRate(p.rxBytesPerSecond)} / ${formatRate(p.txBytesPerSecond)}</td>
  <td data-label="Down / up">${formatBytes(p.rxBytes)} / ${formatBytes(p.txBytes)}</td>
  <td data-label="Up for">${p.upSeconds === null ? 'down' : formatDuration(p.upSeconds)}</td>
  <td data-label="Last handshake">${handshake(p)}</td>
</tr>`,
)}
</tbody>
</table>`;
}
