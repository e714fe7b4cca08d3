// The control API over a local Unix socket (mode 0600): what the CLI (and later the web
// admin) asks the running daemon. HTTP over the socket keeps it debuggable with curl.

import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatMetrics, type MetricsView } from './metrics.ts';

export interface ControlHandlers {
  status(): MetricsView & Record<string, unknown>;
  /** Stops the daemon (after the answer is sent): `warren down`. */
  shutdown?(): void;
  /** More JSON routes, keyed "GET /path" or "POST /path" (the appliance's: devices, exit). */
  routes?: Record<string, (body: unknown) => Promise<unknown>>;
}

export function startControlServer(path: string, h: ControlHandlers): { stop(): void } {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  rmSync(path, { force: true }); // a stale socket from a crashed run
  const server = Bun.serve({
    unix: path,
    async fetch(req) {
      const url = new URL(req.url);
      const route = h.routes?.[`${req.method} ${url.pathname}`];
      if (route) {
        try {
          const body = req.method === 'POST' ? await req.json().catch(() => null) : null;
          return Response.json(await route(body));
        } catch (e) {
          return Response.json({ error: (e as Error).message }, { status: 400 });
        }
      }
      if (req.method === 'GET' && url.pathname === '/status') return Response.json(h.status());
      if (req.method === 'POST' && url.pathname === '/shutdown' && h.shutdown) {
        setTimeout(() => h.shutdown?.(), 10);
        return Response.json({ stopping: true });
      }
      if (req.method === 'GET' && url.pathname === '/metrics') {
        return new Response(formatMetrics(h.status()), { headers: { 'content-type': 'text/plain; version=0.0.4' } });
      }
      return new Response('not found\n', { status: 404 });
    },
  });
  chmodSync(path, 0o600);
  return {
    stop() {
      server.stop(true);
      rmSync(path, { force: true });
    },
  };
}

export async function queryControl(path: string, what: string, method: 'GET' | 'POST' = 'GET', body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`http://warren/${what}`, { unix: path, method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  } catch (e) {
    throw new Error(`cannot reach the Warren daemon at ${path} (${(e as Error).message}); is it running? Start it with: warren daemon --config FILE`);
  }
  if (!res.ok) {
    const why = await res.json().then((j) => (j as { error?: string }).error, () => undefined);
    throw new Error(why ?? `daemon answered ${res.status} for ${what}`);
  }
  return res.json();
}
