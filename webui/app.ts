// The LAN web admin, wired: security headers → Host check → sign-in gate → CSRF → login rate
// limit → routes.
// `createAdmin` binds only the hostname it is given (the appliance's LAN address, or loopback in
// tests) — never 0.0.0.0 — and reaches the appliance only through the AdminApi it is handed.

import { Elysia } from 'elysia';
import { AdminStore } from './admin-store.ts';
import type { AdminApi } from './api.ts';
import type { AdminDeps } from './deps.ts';
import { html, htmlResponse } from './html.ts';
import { auth } from './plugins/auth.ts';
import { csrf, RefusedError } from './plugins/csrf.ts';
import { DEFAULT_HOSTNAMES, hostCheck } from './plugins/host-check.ts';
import { DEFAULT_LIMITS, FailureLimiter, rateLimit, type LimiterOptions } from './plugins/rate-limit.ts';
import { securityHeaders } from './plugins/security-headers.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { devicesRoutes } from './routes/devices.ts';
import { diagnosticsRoutes } from './routes/diagnostics.ts';
import { networkRoutes } from './routes/network.ts';
import { peersRoutes } from './routes/peers.ts';
import { sessionRoutes } from './routes/session.ts';
import { settingsRoutes } from './routes/settings.ts';
import { setupRoutes } from './routes/setup.ts';
import { staticRoutes } from './routes/static.ts';
import { DEFAULT_SESSION_LIMITS, SessionStore, type SessionLimits } from './sessions.ts';
import { DEFAULT_SAMPLER, ThroughputSampler, type SamplerOptions } from './throughput.ts';
import { errorPage } from './views/error.ts';

export interface AdminOptions {
  api: AdminApi;
  /** The LAN address to listen on. Refused: the wildcard addresses. */
  hostname: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Where admin.json (the password hash) lives. */
  stateDir: string;
  now?: () => number;
  limits?: LimiterOptions;
  sessions?: SessionLimits;
  sampler?: SamplerOptions;
  /** Names besides `hostname` that browsers may use for the admin (default: warren.local). */
  allowedHostnames?: string[];
  /** Where unexpected errors are reported (default: stderr). */
  log?: (line: string) => void;
}

export interface Admin {
  url: string;
  hostname: string;
  port: number;
  deps: AdminDeps;
  app: ReturnType<typeof buildApp>;
  stop(): Promise<void>;
}

/** Largest request body accepted (forms are small; an invite is under 1 KB). */
const MAX_BODY_BYTES = 64 * 1024;
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

function wantsFragment(request: Request): boolean {
  return request.headers.get('hx-request') === 'true' || request.method !== 'GET';
}

function failure(request: Request, status: number, message: string): Response {
  if (wantsFragment(request)) return htmlResponse(html`<p class="notice error" role="alert">${message}</p>`, status);
  return htmlResponse(errorPage(status, message), status);
}

export function buildApp(deps: AdminDeps, hostnames: readonly string[], log: (line: string) => void) {
  return new Elysia({ serve: { maxRequestBodySize: MAX_BODY_BYTES } })
    .use(securityHeaders())
    .use(hostCheck(hostnames))
    .use(auth(deps))
    .use(csrf(deps))
    .use(rateLimit(deps))
    .onError({ as: 'global' }, ({ code, error, request }) => {
      if (code === 'VALIDATION') {
        // The schema's own `error` text where it has one; TypeBox's summaries name types, not choices.
        const first = error.all[0];
        const field = (first && 'path' in first ? first.path.replace(/^\//, '') : '') || 'input';
        const why = typeof error.customError === 'string' ? `: ${error.customError}` : '';
        return failure(request, 422, `The field “${field}” is not valid${why}. Correct it and try again.`);
      }
      if (code === 'NOT_FOUND') return failure(request, 404, 'There is no such page here.');
      if (code === 'PARSE') return failure(request, 400, 'The request could not be read. Reload the page and try again.');
      if (error instanceof RefusedError) return failure(request, error.status, error.message);
      if (typeof code === 'number') return; // thrown status(…): its own text stands
      log(`webui: ${request.method} ${new URL(request.url).pathname}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return failure(request, 500, 'Warren could not do that just now. Try again; if it keeps failing, download a support bundle from Diagnostics.');
    })
    .use(staticRoutes())
    .use(sessionRoutes(deps))
    .use(setupRoutes(deps))
    .use(dashboardRoutes(deps))
    .use(peersRoutes(deps))
    .use(devicesRoutes(deps))
    .use(networkRoutes(deps))
    .use(settingsRoutes(deps))
    .use(diagnosticsRoutes(deps));
}

export function createAdmin(opts: AdminOptions): Admin {
  if (WILDCARDS.has(opts.hostname.trim())) throw new Error(`webui: refusing to listen on "${opts.hostname}": give the LAN address (the admin must not be reachable from the internet side)`);
  const now = opts.now ?? Date.now;
  const log = opts.log ?? ((line: string) => console.error(line));
  const deps: AdminDeps = {
    api: opts.api,
    store: new AdminStore(opts.stateDir, now),
    sessions: new SessionStore(now, opts.sessions ?? DEFAULT_SESSION_LIMITS),
    limiter: new FailureLimiter(now, opts.limits ?? DEFAULT_LIMITS),
    sampler: new ThroughputSampler(opts.api, now, opts.sampler ?? DEFAULT_SAMPLER),
    now,
  };
  const app = buildApp(deps, [opts.hostname, ...(opts.allowedHostnames ?? DEFAULT_HOSTNAMES)], log);
  app.listen({ hostname: opts.hostname, port: opts.port });
  const server = app.server;
  if (!server) throw new Error(`webui: could not listen on ${opts.hostname}:${opts.port}`);
  deps.sampler.start();
  const host = opts.hostname.includes(':') ? `[${opts.hostname}]` : opts.hostname;
  return {
    url: `http://${host}:${server.port}`,
    hostname: opts.hostname,
    port: server.port ?? opts.port,
    deps,
    app,
    async stop() {
      deps.sampler.stop();
      await app.stop(true);
    },
  };
}
