// The peers page and its self-refreshing table.

import { Elysia } from 'elysia';
import type { AdminDeps } from '../deps.ts';
import { peersTable } from '../fragments/peers-table.ts';
import { htmlResponse } from '../html.ts';
import { signedIn } from '../plugins/auth.ts';
import { NoQuery } from '../schemas.ts';
import { peersPage } from '../views/peers.ts';

export function peersRoutes(deps: AdminDeps) {
  return new Elysia()
    .get('/peers', async ({ request }) => htmlResponse(peersPage(signedIn(deps, request).csrf, await deps.api.peers())), { query: NoQuery })
    .get('/peers/table', async () => htmlResponse(peersTable(await deps.api.peers())), { query: NoQuery });
}
