// What the admin sends to browsers: every value escaped (the fake API's hostile names show up
// as text), the CSP header on every answer, and no inline script, event-handler attribute,
// style attribute or <style> element in any page or fragment — checked with Bun's HTML parser.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { HOSTILE_NAME, sampleKey } from '../../../webui/fake-api.ts';
import { escapeHtml, html, trusted } from '../../../webui/html.ts';
import { CSP } from '../../../webui/plugins/security-headers.ts';
import { Client, startAdmin, type Harness } from './harness.ts';

let h: Harness;
let owner: Client;
/** Everything rendered during the tests: [what, status, content-security-policy, body]. */
const seen: { what: string; status: number; csp: string | null; body: string }[] = [];

async function record(what: string, res: Response): Promise<string> {
  const body = await res.text();
  seen.push({ what, status: res.status, csp: res.headers.get('content-security-policy'), body });
  return body;
}

/** Problems the HTML parser finds in a document or fragment. */
async function inlineCode(markup: string): Promise<string[]> {
  const found: string[] = [];
  let inScript = false;
  await new HTMLRewriter()
    .on('*', {
      element(el) {
        for (const [name, value] of el.attributes) {
          if (name.startsWith('on') || name.startsWith('hx-on') || name === 'style') found.push(`<${el.tagName} ${name}="${value}">`);
          if (/^\s*javascript:/i.test(value)) found.push(`<${el.tagName} ${name}="${value}">`);
        }
        if (el.tagName === 'style') found.push('<style> element');
        if (el.tagName === 'script') {
          if (!el.getAttribute('src')) found.push('<script> without src');
          inScript = true;
          el.onEndTag(() => {
            inScript = false;
          });
        }
      },
      text(t) {
        if (inScript && t.text.trim() !== '') found.push(`inline script body: ${t.text.slice(0, 40)}`);
      },
    })
    .transform(new Response(markup))
    .text();
  return found;
}

beforeAll(async () => {
  h = await startAdmin({ withNetwork: true });
  owner = new Client(h.admin.url);
  await record('GET /setup', await owner.get('/setup'));
  await owner.setup();
  await h.admin.deps.sampler.sample();
  h.clock.now += 2000;
  await h.admin.deps.sampler.sample();
});
afterAll(() => h.stop());

describe('escaping', () => {
  test('escapeHtml covers text and double- or single-quoted attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&\``)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#96;');
  });

  test('html`` escapes every interpolated value, nested fragments and lists pass once', () => {
    const inner = html`<b>${HOSTILE_NAME}</b>`;
    const out = html`<p title="${'"><x'}">${inner}${[HOSTILE_NAME, 1, null, undefined, false]}</p>`.text;
    expect(out).toBe('<p title="&quot;&gt;&lt;x"><b>&lt;script&gt;alert(1)&lt;/script&gt;</b>&lt;script&gt;alert(1)&lt;/script&gt;1</p>');
    expect(html`${trusted('<svg/>')}`.text).toBe('<svg/>');
  });

  test('hostile device, peer and member names appear as text on every page that shows them', async () => {
    for (const path of ['/', '/peers', '/devices', '/network', '/privacy', '/peers/table']) {
      const body = await record(`GET ${path}`, await owner.get(path));
      expect(`${path}: ${body.includes('&lt;script&gt;alert(1)&lt;/script&gt;')}`).toBe(`${path}: true`);
      expect(body).not.toContain(HOSTILE_NAME);
      expect(body).not.toContain('<img src=x');
    }
  });

  test('the dashboard has the leak test; its answer lists each check with a verdict', async () => {
    expect(await (await owner.get('/')).text()).toContain('hx-post="/leak-test"');
    const body = await record('POST /leak-test', await owner.hx('/leak-test', { run: '1' }));
    expect(body).toContain('No leak found.');
    expect(body).toContain('data-check="Public address"');
    expect(body).toContain('✓ ok');
    expect(await inlineCode(body)).toEqual([]);
  });

  test('a device\'s own hop count is set in place and shown selected', async () => {
    const body = await (await owner.hx('/devices/02:00:00:00:00:01', { policy: 'overlay', exit: 'best', hops: '3' })).text();
    expect(body).toContain('<option value="3" selected>');
    expect(body).toContain('Saved.');
    const back = await (await owner.hx('/devices/02:00:00:00:00:01', { policy: 'overlay', exit: 'best', hops: 'default' })).text();
    expect(back).toContain('<option value="default" selected>');
    expect((await owner.hx('/devices/02:00:00:00:00:01', { policy: 'overlay', exit: 'best', hops: '7' })).status).toBe(422);
  });

  test('the devices page lists the inbound ports devices hold (public port, device, lease)', async () => {
    const body = await (await owner.get('/devices')).text();
    expect(body).toContain('Inbound ports');
    expect(body).toContain('<code>203.0.113.20:51413</code>');
    expect(body).toMatch(/Lease ends in/);
  });

  test('the log shows hostile lines as text', async () => {
    const body = await record('GET /diagnostics', await owner.get('/diagnostics'));
    expect(body).toContain('peer &lt;script&gt;alert(1)&lt;/script&gt; handshake timed out');
  });
});

describe('no inline code anywhere, the CSP on every answer', () => {
  test('the checker itself finds inline code', async () => {
    expect(await inlineCode('<div onclick="x" style="y"><script>alert(1)</script><style>a{}</style><a href="javascript:x">')).toEqual([
      '<div onclick="x">',
      '<div style="y">',
      '<script> without src',
      'inline script body: alert(1)',
      '<style> element',
      '<a href="javascript:x">',
    ]);
  });

  test('pages, fragments, form answers and errors', async () => {
    for (const path of ['/', '/peers', '/devices', '/network', '/privacy', '/settings', '/diagnostics', '/network/invite', '/network/invite/hide', '/diagnostics/log?lines=5', '/settings?changed=password', '/no/such/page', '/diagnostics/log?lines=zero']) {
      await record(`GET ${path}`, await owner.get(path));
    }
    await record('POST device', await owner.hx('/devices/02:00:00:00:00:03', { policy: 'overlay', exit: 'best' }));
    await record('POST approve', await owner.hx('/network/approve', { key: sampleKey(6) }));
    await record('POST approve unknown', await owner.hx('/network/approve', { key: sampleKey(99) }));
    await record('POST rotate', await owner.hx('/network/rotate', { graceHours: '24' }));
    await record('POST privacy', await owner.hx('/privacy', { hops: '3', exit: 'best', killSwitch: 'always', dns: 'off', padding: 'off' }));
    await record('POST exit offer', await owner.hx('/settings/exit-offer', { enabled: 'on' }));
    await record('POST password wrong', await owner.hx('/settings/password', { current: 'nope', password: 'x', confirm: 'x' }));
    await record('POST forged', await owner.post('/privacy', {}));
    await record('GET /login (signed out)', await new Client(h.admin.url).get('/login'));
    const anonLogin = new Client(h.admin.url);
    await anonLogin.csrfFrom('/login');
    await record('POST /login wrong', await anonLogin.post('/login', { _csrf: anonLogin.csrf, password: 'wrong' }));

    expect(seen.length).toBeGreaterThan(20);
    for (const r of seen) {
      expect(`${r.what}: ${r.csp}`).toBe(`${r.what}: ${CSP}`);
      expect(`${r.what}: ${(await inlineCode(r.body)).join(', ')}`).toBe(`${r.what}: `);
    }
  });

  test('the layout turns off htmx’s inline indicator style and eval', async () => {
    const body = await (await owner.get('/')).text();
    expect(body).toContain('<meta name="htmx-config" content="{&quot;includeIndicatorStyles&quot;:false,&quot;allowEval&quot;:false');
  });

  test('static files carry the CSP and nosniff too', async () => {
    for (const path of ['/static/app.css', '/static/app.js', '/static/htmx.js', '/static/sse.js', '/static/favicon.svg']) {
      const res = await owner.get(path);
      expect(`${path} ${res.status}`).toBe(`${path} 200`);
      expect(res.headers.get('content-security-policy')).toBe(CSP);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect(await (await owner.get('/static/htmx.js')).text()).toContain('htmx');
  });

  test('the stylesheet and the glue script hold no inline style or eval-like code', async () => {
    const js = await (await owner.get('/static/app.js')).text();
    expect(js).not.toMatch(/\beval\(|new Function|innerHTML|\.style\./);
  });
});
