// Static files: our stylesheet and glue script (webui/static/), and htmx with its SSE extension
// from node_modules (pinned in package.json; never a CDN). All are read once at start.

import { Elysia } from 'elysia';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface StaticFile {
  body: string;
  type: string;
}

function load(path: string, type: string): StaticFile {
  return { body: readFileSync(path, 'utf8'), type };
}

export const STATIC_FILES: Readonly<Record<string, () => StaticFile>> = {
  '/static/app.css': () => load(join(import.meta.dir, '../static/app.css'), 'text/css; charset=utf-8'),
  '/static/app.js': () => load(join(import.meta.dir, '../static/app.js'), 'text/javascript; charset=utf-8'),
  '/static/favicon.svg': () => load(join(import.meta.dir, '../static/favicon.svg'), 'image/svg+xml'),
  '/static/htmx.js': () => load(Bun.resolveSync('htmx.org/dist/htmx.min.js', import.meta.dir), 'text/javascript; charset=utf-8'),
  '/static/sse.js': () => load(Bun.resolveSync('htmx-ext-sse/sse.js', import.meta.dir), 'text/javascript; charset=utf-8'),
};

export function staticRoutes() {
  let app = new Elysia();
  for (const [path, read] of Object.entries(STATIC_FILES)) {
    const file = read();
    const etag = `"${Bun.hash(file.body).toString(16)}"`;
    app = app.get(path, ({ request }) => {
      // Revalidated on every use (no-cache), cheap with the ETag: a new build is seen at once.
      if (request.headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers: { etag, 'cache-control': 'no-cache' } });
      return new Response(file.body, { headers: { 'content-type': file.type, etag, 'cache-control': 'no-cache' } });
    });
  }
  return app;
}
