// The dashboard: summary tiles and health (live, SSE "status"), the throughput graph (live, SSE
// "throughput"), and the peers at a glance. The htmx SSE extension opens /events and swaps each
// named event's HTML into the element that asks for it.

import type { AdminPeer, AdminStatus } from '../api.ts';
import { throughputPanel } from '../fragments/throughput.ts';
import { statusCards } from '../fragments/status-cards.ts';
import { leakTestCard } from '../fragments/leak-test.ts';
import { formatMs, shortKey } from '../format.ts';
import { html, type Html } from '../html.ts';
import type { RatePoint } from '../throughput.ts';
import { card, layout } from './layout.ts';

export const SSE_STATUS = 'status';
export const SSE_THROUGHPUT = 'throughput';

function peersGlance(peers: readonly AdminPeer[]): Html {
  if (peers.length === 0) return html`<p class="empty">No peers yet.</p>`;
  return html`<ul class="glance">${peers.map(
    (p) => html`<li><span class="dot ${p.lastHandshakeSecondsAgo !== null && p.lastHandshakeSecondsAgo < 180 ? 'ok' : 'bad'}" aria-hidden="true"></span><strong>${p.name}</strong> <small>${shortKey(p.publicKey)} · ${p.path} · ${formatMs(p.rttMs)}</small></li>`,
  )}</ul><p><a href="/peers">All peer details</a></p>`;
}

export interface DashboardData {
  csrf: string;
  networkName: string;
  status: AdminStatus;
  points: readonly RatePoint[];
  slots: number;
  peers: readonly AdminPeer[];
}

export function dashboardPage(d: DashboardData): Html {
  return layout(
    { title: 'Dashboard', csrf: d.csrf, nav: 'dashboard' },
    html`<h1>Dashboard <small>network “${d.networkName}”</small></h1>
<div hx-ext="sse" sse-connect="/events" class="live">
  <div id="status" sse-swap="${SSE_STATUS}">${statusCards(d.status)}</div>
  ${card('Throughput', html`<div id="throughput" sse-swap="${SSE_THROUGHPUT}">${throughputPanel(d.status, d.points, d.slots)}</div>`)}
</div>
${leakTestCard()}
${card('Peers', peersGlance(d.peers))}
${card('This appliance', html`<p>Public key <code class="wrap">${d.status.publicKey}</code></p>`)}`,
  );
}
