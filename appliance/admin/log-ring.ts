// The daemon's recent log lines, kept for the admin's Diagnostics page and the support bundle:
// a fixed ring, so a chatty appliance holds at most `capacity` lines of at most MAX_LINE_CHARS.

export const DEFAULT_LOG_LINES = 500;
/** Longer lines are cut: one runaway message must not hold the memory of hundreds. */
export const MAX_LINE_CHARS = 2000;

export class LogRing {
  private readonly ring: string[] = [];
  /** Where the next line goes once the ring is full (then also the oldest line). */
  private next = 0;

  constructor(readonly capacity = DEFAULT_LOG_LINES) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`log ring capacity must be a positive integer, got ${capacity}`);
  }

  /** Adds one line; a text with newlines adds one line each. */
  push(text: string): void {
    for (const raw of text.split('\n')) {
      if (raw === '') continue;
      const line = raw.length > MAX_LINE_CHARS ? `${raw.slice(0, MAX_LINE_CHARS)}…` : raw;
      if (this.ring.length < this.capacity) this.ring.push(line);
      else {
        this.ring[this.next] = line;
        this.next = (this.next + 1) % this.capacity;
      }
    }
  }

  /** The most recent `limit` lines (all when omitted), oldest first. */
  lines(limit = this.capacity): string[] {
    const n = Number.isNaN(limit) ? 0 : Math.max(0, Math.min(Math.floor(limit), this.ring.length));
    const ordered = this.ring.length < this.capacity ? this.ring : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    return ordered.slice(ordered.length - n);
  }

  get size(): number {
    return this.ring.length;
  }
}
