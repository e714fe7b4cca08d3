// The network's member lists: pending devices (approve / deny), approved members (revoke) and
// revoked ones. Every button posts the member's key and the answer replaces the whole section.

import type { Member, NetworkInfo } from '../api.ts';
import { formatSince, shortKey } from '../format.ts';
import { html, type Html } from '../html.ts';

type Action = { path: string; label: string; kind: 'primary' | 'danger' | 'plain'; confirm?: string };

function memberRow(m: Member, actions: Action[]): Html {
  return html`<li class="member">
  <div><strong>${m.name}</strong><small><code title="${m.publicKey}">${shortKey(m.publicKey)}</code> · since ${formatSince(m.since)}</small></div>
  <div class="actions">${actions.map(
    (a) => html`<button type="button" class="${a.kind}" hx-post="${a.path}" hx-vals="${JSON.stringify({ key: m.publicKey })}" hx-target="#members" hx-swap="outerHTML"${a.confirm ? html` hx-confirm="${a.confirm}"` : ''}>${a.label}</button>`,
  )}</div>
</li>`;
}

function list(title: string, members: readonly Member[], empty: string, actions: Action[]): Html {
  return html`<h3>${title} <span class="count">${members.length}</span></h3>
${members.length === 0 ? html`<p class="empty">${empty}</p>` : html`<ul class="members">${members.map((m) => memberRow(m, actions))}</ul>`}`;
}

export function membersSection(net: NetworkInfo, message: Html | null = null): Html {
  return html`<section class="card" id="members">
<h2>Members</h2>
${message ?? ''}
${list('Waiting for approval', net.pending, 'Nobody is waiting. New devices that use your invite appear here.', [
  { path: '/network/approve', label: 'Approve', kind: 'primary' },
  { path: '/network/deny', label: 'Deny', kind: 'plain' },
])}
${list('Approved', net.approved, 'No other member yet.', [{ path: '/network/revoke', label: 'Revoke', kind: 'danger', confirm: 'Revoke this member? It will be cut off at once.' }])}
${list('Revoked', net.revoked, 'No member has been revoked.', [])}
</section>`;
}
