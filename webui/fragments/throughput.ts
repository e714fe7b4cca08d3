// The live throughput panel: current rates and totals, and a graph of the last samples drawn
// as server-rendered SVG (two polylines; colours come from app.css classes, no style
// attributes). Sent whole on every SSE "throughput" event and inside the dashboard page.

import { formatBytes, formatRate } from '../format.ts';
import { html, trusted, type Html } from '../html.ts';
import type { AdminStatus } from '../api.ts';
import type { RatePoint } from '../throughput.ts';

const W = 600;
const H = 160;
const PAD_LEFT = 4;
const PAD_TOP = 6;

/** A "nice" ceiling for the y axis: 1, 2 or 5 × 10^n bytes per second. */
export function niceCeiling(max: number): number {
  if (max <= 0) return 125_000; // 1 Mbit/s: an empty graph still has a scale
  const exp = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * exp >= max) return m * exp;
  return 10 * exp;
}

function polyline(points: readonly RatePoint[], pick: (p: RatePoint) => number, ceiling: number, slots: number): string {
  const step = (W - PAD_LEFT) / Math.max(1, slots - 1);
  const offset = slots - points.length; // the newest point sits at the right edge
  return points
    .map((p, i) => {
      const x = PAD_LEFT + (offset + i) * step;
      const y = PAD_TOP + (H - PAD_TOP) * (1 - Math.min(1, pick(p) / ceiling));
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

function ceilingOf(points: readonly RatePoint[]): number {
  return niceCeiling(Math.max(0, ...points.map((p) => Math.max(p.rxPerSecond, p.txPerSecond))));
}

export function throughputGraph(points: readonly RatePoint[], slots: number): Html {
  const ceiling = ceilingOf(points);
  const grid = [0.25, 0.5, 0.75].map((f) => {
    const y = (PAD_TOP + (H - PAD_TOP) * f).toFixed(1);
    return `<line class="grid" x1="0" x2="${W}" y1="${y}" y2="${y}"/>`;
  });
  const rx = points.length > 1 ? `<polyline class="rx" points="${polyline(points, (p) => p.rxPerSecond, ceiling, slots)}"/>` : '';
  const tx = points.length > 1 ? `<polyline class="tx" points="${polyline(points, (p) => p.txPerSecond, ceiling, slots)}"/>` : '';
  const label = formatRate(ceiling);
  // Everything in the trusted() parts is a number formatted here. The scale is written next to
  // the graph in HTML, not inside it: SVG text shrinks with the graph on a phone.
  return html`<svg class="graph" viewBox="0 0 ${W} ${H}" role="img" aria-label="Throughput over the last ${slots} samples; scale ${label}">
<title>Throughput, received and sent</title>
${trusted(grid.join(''))}<line class="axis" x1="0" x2="${W}" y1="${H}" y2="${H}"/>
${trusted(rx)}${trusted(tx)}
</svg>`;
}

export function throughputPanel(status: AdminStatus | null, points: readonly RatePoint[], slots: number): Html {
  const last = points[points.length - 1];
  return html`<div class="figures">
  <div><span class="key rx">Down</span> <strong>${last ? formatRate(last.rxPerSecond) : '—'}</strong> <small>${status ? formatBytes(status.rxBytes) : ''} total</small></div>
  <div><span class="key tx">Up</span> <strong>${last ? formatRate(last.txPerSecond) : '—'}</strong> <small>${status ? formatBytes(status.txBytes) : ''} total</small></div>
  <div class="scale"><small>top of the graph: ${formatRate(ceilingOf(points))}</small></div>
</div>
${throughputGraph(points, slots)}`;
}
