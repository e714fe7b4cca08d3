// The control API over a local Unix socket (mode 0600): what the CLI (and later the web
// admin) asks the running daemon. HTTP over the socket keeps it debuggable with curl.

import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatMetrics, type MetricsView } from './metrics.ts';

export interface ControlHandlers {
  status(): MetricsView & Record<string, unknown>;
  /** Stops the daemon (after the answer is sent): `warren down`. */
  shutdown?(): void;
}

export function startControlServer(path: string, h: ControlHandlers): { stop(): void } {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  rmSync(path, { force: true }); // a stale socket from a crashed run
  const server = Bun.serve({
    unix: path,
    fetch(req) {
      const url = new URL(req.url);
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

export async function queryControl(path: string, what: string, method: 'GET' | 'POST' = 'GET'): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`http://warren/${what}`, { unix: path, method });
  } catch (e) {
    throw new Error(`cannot reach the Warren daemon at ${path} (${(e as Error).message}); is it running? Start it with: warren daemon --config FILE`);
  }
  if (!res.ok) throw new Error(`daemon answered ${res.status} for ${what}`);
  return res.json();
}
