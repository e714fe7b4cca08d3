// The dashboard page and its live feed. /events is a Server-Sent Events stream: on every sample
// of the shared ThroughputSampler it sends the status tiles ("status") and the throughput panel
// ("throughput") as escaped HTML, which the htmx SSE extension swaps in. The stream ends when
// the browser goes away, and also when its session ends (sign-out, password change, expiry):
// it is checked on every sample without counting as activity.

import { Elysia } from 'elysia';
import type { AdminDeps } from '../deps.ts';
import { statusCards } from '../fragments/status-cards.ts';
import { throughputPanel } from '../fragments/throughput.ts';
import { htmlResponse, seeOther, type Html } from '../html.ts';
import { signedIn } from '../plugins/auth.ts';
import { LeakTestBody, NoQuery } from '../schemas.ts';
import { leakResult } from '../fragments/leak-test.ts';
import { dashboardPage, SSE_STATUS, SSE_THROUGHPUT } from '../views/dashboard.ts';

/** One SSE message; every line of the HTML gets its own `data:` field (the spec joins them with \n). */
export function sseMessage(event: string, body: Html): string {
  return `event: ${event}\n${body.text.split('\n').map((l) => `data: ${l}`).join('\n')}\n\n`;
}

const KEEPALIVE_MS = 15_000;

export function dashboardRoutes(deps: AdminDeps) {
  const slots = deps.sampler.options.keep;
  return new Elysia()
    .get(
      '/',
      async ({ request }) => {
        const session = signedIn(deps, request);
        const [net, peers] = await Promise.all([deps.api.network(), deps.api.peers()]);
        if (!net.hasNetwork) return seeOther('/setup/network');
        const status = await deps.api.status(); // fresh: the sampler's may be a few seconds old
        return htmlResponse(dashboardPage({ csrf: session.csrf, networkName: net.name ?? '', status, points: deps.sampler.history(), slots, peers }));
      },
      { query: NoQuery },
    )
    .post('/leak-test', async () => htmlResponse(leakResult(await deps.api.leakTest())), { body: LeakTestBody })
    .get(
      '/events',
      ({ request }) => {
        const session = signedIn(deps, request);
        const encoder = new TextEncoder();
        let close = (): void => {};
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            const send = (text: string): void => controller.enqueue(encoder.encode(text));
            const unsubscribe = deps.sampler.subscribe((status, points) => {
              if (!deps.sessions.peek(session.token)) return close();
              send(sseMessage(SSE_STATUS, statusCards(status)) + sseMessage(SSE_THROUGHPUT, throughputPanel(status, points, slots)));
            });
            const keepalive = setInterval(() => send(': keepalive\n\n'), KEEPALIVE_MS);
            let closed = false;
            close = () => {
              if (closed) return;
              closed = true;
              unsubscribe();
              clearInterval(keepalive);
              try {
                controller.close();
              } catch {
                // already closed by the other side
              }
            };
            request.signal.addEventListener('abort', () => close());
            send('retry: 5000\n\n');
          },
          cancel() {
            close();
          },
        });
        return new Response(stream, { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' } });
      },
      { query: NoQuery },
    );
}
