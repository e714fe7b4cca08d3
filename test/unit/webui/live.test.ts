// The dashboard's live parts: the throughput sampler's rates, the SVG graph, and the SSE stream
// (named events carrying escaped HTML, ended when the session ends).

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { AdminApi, AdminStatus } from '../../../webui/api.ts';
import { FakeAdminApi } from '../../../webui/fake-api.ts';
import { niceCeiling, throughputGraph } from '../../../webui/fragments/throughput.ts';
import { sseMessage } from '../../../webui/routes/dashboard.ts';
import { html } from '../../../webui/html.ts';
import { ThroughputSampler } from '../../../webui/throughput.ts';
import { Client, startAdmin, type Harness } from './harness.ts';

function statusWith(rxBytes: number, txBytes: number): AdminStatus {
  return { interfaceName: 'warren0', publicKey: 'k', uptimeSeconds: 1, rxBytes, txBytes, peersOnline: 0, peersTotal: 0, exit: null, health: { tunnel: true, dns: true, killSwitch: true } };
}

describe('ThroughputSampler', () => {
  test('rates are counter differences over time; a counter reset is no traffic; only `keep` points stay', async () => {
    const counters = [
      [0, 0],
      [1_000_000, 500_000],
      [3_000_000, 600_000],
      [100, 100],
      [200, 200],
    ];
    let i = 0;
    const clock = { now: 0 };
    const api = { status: async () => statusWith(...(counters[i++] as [number, number])) } as unknown as AdminApi;
    const sampler = new ThroughputSampler(api, () => clock.now, { intervalMs: 1000, keep: 3 });
    const seen: number[] = [];
    sampler.subscribe((_s, points) => seen.push(points.length));
    for (let n = 0; n < counters.length; n++) {
      await sampler.sample();
      clock.now += 2000;
    }
    expect(sampler.history().map((p) => [p.rxPerSecond, p.txPerSecond])).toEqual([
      [1_000_000, 50_000],
      [0, 0],
      [50, 50],
    ]);
    expect(seen).toEqual([0, 1, 2, 3, 3]);
  });

  test('a failing status() leaves a gap, not a crash', async () => {
    const api = { status: async () => Promise.reject(new Error('daemon gone')) } as unknown as AdminApi;
    const sampler = new ThroughputSampler(api, () => 0);
    await sampler.sample();
    expect(sampler.latest()).toBeNull();
  });
});

describe('graph', () => {
  test('the y axis ends on 1, 2 or 5 × 10^n', () => {
    expect([0, 1, 120_000, 300_000, 999_999, 1_000_001].map(niceCeiling)).toEqual([125_000, 1, 200_000, 500_000, 1_000_000, 2_000_000]);
  });

  test('the SVG has a line per direction, the newest point on the right edge, colours from classes', () => {
    const svg = throughputGraph(
      [
        { at: 0, rxPerSecond: 100, txPerSecond: 50 },
        { at: 1, rxPerSecond: 200, txPerSecond: 0 },
      ],
      60,
    ).text;
    expect(svg).toContain('<polyline class="rx" points="');
    expect(svg).toContain('<polyline class="tx" points="');
    expect(svg).toMatch(/points="[\d.]+,[\d.]+ 600\.0,6\.0"/); // rx peak at the top right
    expect(svg).not.toMatch(/style=|<script/);
  });
});

describe('SSE', () => {
  let h: Harness;
  let owner: Client;
  beforeAll(async () => {
    h = await startAdmin({ extra: { sampler: { intervalMs: 50, keep: 60 }, now: Date.now } }); // a real clock: rates need time to pass
    owner = new Client(h.admin.url);
    await owner.setup();
  });
  afterAll(() => h.stop());

  test('a message puts each line of the HTML in its own data field', () => {
    expect(sseMessage('status', html`<p>\n${'a<b'}</p>`)).toBe('event: status\ndata: <p>\ndata: a&lt;b</p>\n\n');
  });

  async function readUntil(res: Response, want: (text: string) => boolean, ms = 5000): Promise<{ text: string; ended: boolean }> {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const deadline = Date.now() + ms;
    while (!want(text) && Date.now() < deadline) {
      const chunk = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => null)]);
      if (!chunk) break;
      if (chunk.done) return { text, ended: true };
      text += decoder.decode(chunk.value, { stream: true });
    }
    await reader.cancel().catch(() => {});
    return { text, ended: false };
  }

  test('/events streams status and throughput as escaped HTML', async () => {
    const res = await owner.get('/events');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const { text } = await readUntil(res, (t) => (t.match(/event: throughput/g) ?? []).length >= 3);
    expect(text).toContain('event: status\ndata: <div class="tiles">');
    expect(text).toContain('event: throughput\ndata: <div class="figures">');
    expect(text).toContain('<polyline class="rx"');
    expect(text).toContain('data: <ul class="health"');
  });

  test('without a session /events is refused with 401', async () => {
    expect((await new Client(h.admin.url).get('/events', { accept: 'text/event-stream', 'hx-request': 'true' })).status).toBe(401);
  });

  test('the stream ends when its session ends', async () => {
    const c = new Client(h.admin.url);
    await c.login();
    const res = await c.get('/events');
    const logout = c.post('/logout', { _csrf: c.csrf });
    const { ended } = await readUntil(res, () => false, 3000);
    await logout;
    expect(ended).toBe(true);
  });

  test('the fake API’s counters move on each status call', async () => {
    const api = new FakeAdminApi();
    const a = await api.status();
    const b = await api.status();
    expect(b.rxBytes).toBeGreaterThan(a.rxBytes);
    expect(b.txBytes).toBeGreaterThan(a.txBytes);
  });
});
