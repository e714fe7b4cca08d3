// HTML output, escaped by default: the one helper through which every value becomes markup.
// `html\`…${value}…\`` escapes each interpolated string and number; only values already wrapped
// as Html (fragments built the same way, or `trusted()` markup we generated ourselves, such as
// the SVG graph) pass through as they are. Attributes are always written double-quoted, so
// escaping & < > " ' is enough in both text and attribute positions. URLs built from data use
// `encodeURIComponent` on the part that varies.

const BRAND = Symbol('html');

export interface Html {
  readonly [BRAND]: true;
  readonly text: string;
}

export type Renderable = Html | string | number | boolean | null | undefined | readonly Renderable[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => ENTITIES[c] ?? c);
}

function isHtml(v: unknown): v is Html {
  return typeof v === 'object' && v !== null && BRAND in v;
}

function renderValue(v: Renderable): string {
  if (v === null || v === undefined || v === false || v === true) return '';
  if (typeof v === 'string') return escapeHtml(v);
  if (typeof v === 'number') return escapeHtml(String(v));
  if (isHtml(v)) return v.text;
  return v.map(renderValue).join('');
}

/** Markup that is trusted as it is: only for text this program generated, never for data. */
export function trusted(text: string): Html {
  return { [BRAND]: true, text };
}

export function html(strings: TemplateStringsArray, ...values: Renderable[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += renderValue(values[i]) + (strings[i + 1] ?? '');
  return trusted(out);
}

/** An HTML response (pages and fragments alike are never cached: they show live state). */
export function htmlResponse(body: Html, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body.text, { status, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers } });
}

/** 303 See Other: after a form post, the browser asks for `location` with GET. */
export function seeOther(location: string, headers: Record<string, string> = {}): Response {
  return new Response(null, { status: 303, headers: { location, 'cache-control': 'no-store', ...headers } });
}
