// The peers page: the table refreshes itself every 10 seconds.

import type { AdminPeer } from '../api.ts';
import { peersTable } from '../fragments/peers-table.ts';
import { html, type Html } from '../html.ts';
import { layout } from './layout.ts';

export function peersPage(csrf: string, peers: readonly AdminPeer[]): Html {
  return layout(
    { title: 'Peers', csrf, nav: 'peers' },
    html`<h1>Peers</h1>
<section class="card">
  <p class="hint">Appliances of your network this one talks to. “relay” means traffic goes through another member because a direct path could not be opened.</p>
  <div id="peers" hx-get="/peers/table" hx-trigger="every 10s" hx-swap="innerHTML">${peersTable(peers)}</div>
</section>`,
  );
}
