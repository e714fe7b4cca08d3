// A page for errors that reach the top (bad input, not found, a failure), and the short form
// htmx shows in the flash area.

import { html, type Html } from '../html.ts';

export function errorPage(status: number, message: string): Html {
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${status} · Warren</title><link rel="icon" href="/static/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="/static/app.css"></head>
<body><main><section class="card narrow"><h1>${status === 404 ? 'Not found' : 'Something went wrong'}</h1><p>${message}</p><p><a href="/">Back to the dashboard</a></p></section></main></body>
</html>
`;
}
