// A peer's measured quality: round trip and loss from light probes in its session (native wire:
// a probe is a padded 0x13 control plaintext the peer echoes as 0x14, like any data packet on the
// wire), throughput from its byte counters, and how long it has been up. Path and exit choices
// weigh peers by these figures (gateway/exit-choice.ts, discovery/paths.ts); status shows them.
//
// Pure: the device calls it with its clock.

/** Probes remembered for the loss figure (one every PROBE_INTERVAL_MS: the last ~40 s). */
export const PROBE_WINDOW = 20;
/** A probe unanswered this long is lost. */
export const PROBE_TIMEOUT_MS = 2_000;
/** How often a live peer is probed (the daemon's tick decides; the device only measures); the
 * exit in use every second, so its failure is seen within ~3 s. */
export const PROBE_INTERVAL_MS = 2_000;
/** Weight of a new round trip in the smoothed figure (RFC 6298's alpha). */
const RTT_ALPHA = 0.125;
/** Weight of a new one-second sample in the smoothed rates. */
const RATE_ALPHA = 0.3;
/** Silent this long (no authenticated packet), a peer is down and its uptime restarts. */
export const DOWN_AFTER_MS = 15_000;

interface Probe {
  id: number;
  sentMs: number;
  answeredMs: number; // 0 = not yet
}

export interface QualityFigures {
  /** Smoothed round trip, ms; null before the first answer. */
  rttMs: number | null;
  minRttMs: number | null;
  /** Probes lost of those old enough to judge, in the window; null before any. */
  lossPercent: number | null;
  /** Smoothed receive and send rates, bytes per second. */
  rxBytesPerSecond: number;
  txBytesPerSecond: number;
  /** Seconds since the peer came up (authenticated traffic without a 15 s gap); null while down. */
  upSeconds: number | null;
  probesSent: number;
  probesAnswered: number;
}

export class PeerQuality {
  private readonly probes: Probe[] = [];
  private nextId = 1;
  private srtt: number | null = null;
  private minRtt: number | null = null;
  private sent = 0;
  private answered = 0;
  private rateAt = 0;
  private lastRx = 0;
  private lastTx = 0;
  private rxRate = 0;
  private txRate = 0;
  private upSinceMs = 0;
  private lastHeardMs = 0;

  /** A probe is going out: its id, to put in the message. */
  probeSent(now: number): number {
    const id = this.nextId;
    this.nextId = (this.nextId % 0xffff_fffe) + 1;
    this.probes.push({ id, sentMs: now, answeredMs: 0 });
    if (this.probes.length > PROBE_WINDOW) this.probes.shift();
    this.sent++;
    return id;
  }

  /** An echo came back; false when it matches no probe in the window (late, forged or repeated). */
  probeAnswered(id: number, now: number): boolean {
    const p = this.probes.find((x) => x.id === id);
    if (!p || p.answeredMs !== 0 || now < p.sentMs) return false;
    p.answeredMs = now;
    this.answered++;
    const rtt = now - p.sentMs;
    this.srtt = this.srtt === null ? rtt : this.srtt + RTT_ALPHA * (rtt - this.srtt);
    this.minRtt = this.minRtt === null ? rtt : Math.min(this.minRtt, rtt);
    return true;
  }

  /** An authenticated packet arrived (any kind): for uptime. */
  heard(now: number): void {
    if (this.upSinceMs === 0 || now - this.lastHeardMs > DOWN_AFTER_MS) this.upSinceMs = now;
    this.lastHeardMs = now;
  }

  /** Once a second or so: the byte counters, for the rates. */
  sampleBytes(rxBytes: number, txBytes: number, now: number): void {
    if (this.rateAt > 0 && now > this.rateAt) {
      const s = (now - this.rateAt) / 1000;
      this.rxRate += RATE_ALPHA * ((rxBytes - this.lastRx) / s - this.rxRate);
      this.txRate += RATE_ALPHA * ((txBytes - this.lastTx) / s - this.txRate);
    }
    this.rateAt = now;
    this.lastRx = rxBytes;
    this.lastTx = txBytes;
  }

  figures(now: number): QualityFigures {
    const judged = this.probes.filter((p) => p.answeredMs !== 0 || now - p.sentMs >= PROBE_TIMEOUT_MS);
    const lost = judged.filter((p) => p.answeredMs === 0 || p.answeredMs - p.sentMs > PROBE_TIMEOUT_MS).length;
    const up = this.upSinceMs !== 0 && now - this.lastHeardMs <= DOWN_AFTER_MS;
    return {
      rttMs: this.srtt === null ? null : round1(this.srtt),
      minRttMs: this.minRtt === null ? null : round1(this.minRtt),
      lossPercent: judged.length === 0 ? null : round1((lost / judged.length) * 100),
      rxBytesPerSecond: Math.max(0, Math.round(this.rxRate)),
      txBytesPerSecond: Math.max(0, Math.round(this.txRate)),
      upSeconds: up ? Math.floor((now - this.upSinceMs) / 1000) : null,
      probesSent: this.sent,
      probesAnswered: this.answered,
    };
  }

  /**
   * The peer stopped answering: nothing authenticated for PROBE_TIMEOUT_MS and the newest probe
   * old enough to judge went unanswered. Probed every second (the exit in use), a dead peer is
   * failing within ~3 s; every 2 s, within ~4 s (path and exit choices replace it then).
   */
  failing(now: number): boolean {
    if (this.lastHeardMs === 0 || now - this.lastHeardMs < PROBE_TIMEOUT_MS) return false;
    for (let i = this.probes.length - 1; i >= 0; i--) {
      const p = this.probes[i]!;
      if (now - p.sentMs < PROBE_TIMEOUT_MS) continue; // too young to judge
      return p.answeredMs === 0 && p.sentMs > this.lastHeardMs - PROBE_TIMEOUT_MS;
    }
    return false;
  }

  /**
   * A cost for choosing among peers (lower is better): the round trip inflated by loss, so a
   * peer losing 10 % of probes costs about twice one that loses none. Unmeasured peers get
   * `unknownMs` (callers pick a middling guess so new peers are tried).
   */
  cost(now: number, unknownMs = 100): number {
    const f = this.figures(now);
    const rtt = f.rttMs ?? unknownMs;
    const loss = (f.lossPercent ?? 0) / 100;
    return rtt * (1 + 10 * loss);
  }
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

/**
 * Picks one of `items` at random, weighted by 1 / cost²: the best are chosen most often, a
 * slower one rarely, none always (so no single peer takes all traffic and choices are not
 * predictable). `random` in [0, 1).
 */
export function weightedChoice<T>(items: readonly T[], cost: (item: T) => number, random: () => number = Math.random): T | null {
  if (items.length === 0) return null;
  const weights = items.map((i) => 1 / Math.max(0.1, cost(i)) ** 2);
  const total = weights.reduce((a, b) => a + b, 0);
  let r = random() * total;
  for (let i = 0; i < items.length; i++) {
    r -= weights[i]!;
    if (r < 0) return items[i]!;
  }
  return items[items.length - 1]!;
}
