// One LAN device as an in-place form: changing its policy or exit posts the form at once (htmx,
// hx-trigger="change") and the answer replaces the whole card with the saved state.

import { BEST_EXIT, type AdminPeer, type LanDevice } from '../api.ts';
import { shortKey } from '../format.ts';
import { html, type Html } from '../html.ts';

const POLICIES: readonly [LanDevice['policy'], string][] = [
  ['overlay', 'Through Warren'],
  ['direct', 'Direct (ISP)'],
  ['block', 'Blocked'],
];

const HOPS: readonly [string, string][] = [
  ['default', 'As in Privacy'],
  ['1', '1 hop (fastest)'],
  ['2', '2 hops'],
  ['3', '3 hops (hardest to trace)'],
];

/** The id of a device's card: the MAC address without colons (hex digits only). */
export function deviceId(mac: string): string {
  return `device-${mac.replace(/[^0-9a-f]/gi, '').toLowerCase()}`;
}

export function exitOptions(peers: readonly AdminPeer[], selected: string): Html {
  return html`<option value="${BEST_EXIT}"${selected === BEST_EXIT ? ' selected' : ''}>Best (lowest latency)</option>
${peers.map((p) => html`<option value="${p.publicKey}"${selected === p.publicKey ? ' selected' : ''}>${p.name} (${shortKey(p.publicKey)})</option>`)}`;
}

export function deviceCard(d: LanDevice, peers: readonly AdminPeer[], message: Html | null = null): Html {
  const id = deviceId(d.mac);
  return html`<form class="device" id="${id}" hx-post="/devices/${d.mac}" hx-trigger="change" hx-target="this" hx-swap="outerHTML">
  <div class="device-name"><strong>${d.hostname ?? 'unnamed device'}</strong><small>${d.ip} · <code>${d.mac}</code></small></div>
  <label>Traffic <select name="policy" data-testid="policy">
    ${POLICIES.map(([value, label]) => html`<option value="${value}"${d.policy === value ? ' selected' : ''}>${label}</option>`)}
  </select></label>
  <label>Exit <select name="exit"${d.policy === 'overlay' ? '' : ' disabled'}>${exitOptions(peers, d.exit)}</select></label>
  <label>Hops <select name="hops" data-testid="hops"${d.policy === 'overlay' ? '' : ' disabled'}>
    ${HOPS.map(([value, label]) => html`<option value="${value}"${String(d.hops ?? 'default') === value ? ' selected' : ''}>${label}</option>`)}
  </select></label>
  <span class="policy-state policy-${d.policy}">Now: ${POLICIES.find(([value]) => value === d.policy)?.[1] ?? d.policy}</span>
  ${message ?? ''}
</form>`;
}
