// Diagnostics: the recent log (page and refresh fragment) and the support bundle as a download.

import { Elysia } from 'elysia';
import type { AdminDeps } from '../deps.ts';
import { htmlResponse } from '../html.ts';
import { signedIn } from '../plugins/auth.ts';
import { LogQuery, NoQuery } from '../schemas.ts';
import { diagnosticsPage, LOG_LINES, logFragment } from '../views/diagnostics.ts';

export function diagnosticsRoutes(deps: AdminDeps) {
  return new Elysia()
    .get('/diagnostics', async ({ request }) => htmlResponse(diagnosticsPage(signedIn(deps, request).csrf, await deps.api.logs(LOG_LINES))), { query: NoQuery })
    .get('/diagnostics/log', async ({ query }) => htmlResponse(logFragment(await deps.api.logs(query.lines ?? LOG_LINES))), { query: LogQuery })
    .get(
      '/diagnostics/support-bundle',
      async () => {
        const stamp = new Date(deps.now()).toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
        return new Response(await deps.api.supportBundle(), {
          headers: { 'content-type': 'text/plain; charset=utf-8', 'content-disposition': `attachment; filename="warren-support-${stamp}.txt"`, 'cache-control': 'no-store' },
        });
      },
      { query: NoQuery },
    );
}
