// A token bucket: `rate` bytes per second, at most `burst` bytes at once. For the caps a node puts
// on what it carries for others (README "Fair sharing").

export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.lastMs = now;
  }

  /** Takes `bytes` if there are enough tokens now; false (and nothing taken) otherwise. */
  take(bytes: number, now: number): boolean {
    if (now > this.lastMs) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastMs) * this.bytesPerSecond) / 1000);
      this.lastMs = now;
    }
    if (this.tokens < bytes) return false;
    this.tokens -= bytes;
    return true;
  }
}

/** Bytes per second and burst (a tenth of a second, at least 64 KiB) for a cap in Mbit/s. */
export function bucketFor(mbit: number): { rate: number; burst: number } {
  const rate = (mbit * 1_000_000) / 8;
  return { rate, burst: Math.max(65_536, rate / 10) };
}
