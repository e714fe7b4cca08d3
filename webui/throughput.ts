// Live throughput for the dashboard: one timer asks the API for the status every interval, keeps
// the last samples' rates (bytes per second, from the counters' differences), and tells every
// subscriber (each open dashboard's SSE stream) about the new status. One sampler serves all
// browsers, so ten open dashboards cost the daemon one status() call per interval, not ten.

import type { AdminApi, AdminStatus } from './api.ts';

export interface RatePoint {
  /** ms since the epoch */
  at: number;
  rxPerSecond: number;
  txPerSecond: number;
}

export type Listener = (status: AdminStatus, history: readonly RatePoint[]) => void;

export interface SamplerOptions {
  intervalMs: number;
  /** Points kept for the graph. */
  keep: number;
}

export const DEFAULT_SAMPLER: SamplerOptions = { intervalMs: 2000, keep: 60 };

export class ThroughputSampler {
  private readonly points: RatePoint[] = [];
  private readonly listeners = new Set<Listener>();
  private last: { at: number; status: AdminStatus } | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private busy = false;

  constructor(
    private readonly api: AdminApi,
    private readonly now: () => number,
    readonly options: SamplerOptions = DEFAULT_SAMPLER,
  ) {}

  start(): void {
    if (this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.options.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  history(): readonly RatePoint[] {
    return this.points;
  }

  latest(): AdminStatus | null {
    return this.last?.status ?? null;
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** One sample; exported for tests. A slow status() is not stacked: the next tick is skipped. */
  async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const status = await this.api.status();
      const at = this.now();
      const prev = this.last;
      this.last = { at, status };
      if (prev && at > prev.at) {
        const dt = (at - prev.at) / 1000;
        // A daemon restart resets the counters: a negative difference is no traffic, not a spike.
        this.points.push({ at, rxPerSecond: Math.max(0, status.rxBytes - prev.status.rxBytes) / dt, txPerSecond: Math.max(0, status.txBytes - prev.status.txBytes) / dt });
        if (this.points.length > this.options.keep) this.points.splice(0, this.points.length - this.options.keep);
      }
      for (const fn of this.listeners) fn(status, this.points);
    } catch {
      // The daemon did not answer this time; the graph shows a gap rather than stopping.
    } finally {
      this.busy = false;
    }
  }
}
