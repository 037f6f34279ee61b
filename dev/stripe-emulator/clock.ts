/**
 * The emulator's clock. It runs in real time from `startTime` (or stands still when frozen, for tests
 * that need exact boundaries), and tests or the admin API move it forward to make idempotency keys
 * expire or search indexing catch up. It never goes back, so "24 hours after the first request" stays a
 * meaningful question.
 */
export class EmulatorClock {
  private readonly realStart = performance.now();
  private offsetMs = 0;

  constructor(
    private readonly startTime: number,
    private readonly frozen = false,
  ) {}

  /** Epoch milliseconds on the emulator's clock. */
  now(): number {
    const elapsed = this.frozen ? 0 : performance.now() - this.realStart;
    return Math.floor(this.startTime + elapsed + this.offsetMs);
  }

  /** Epoch seconds, as Stripe's `created` fields. */
  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`advanceClock needs a finite ms >= 0, got ${ms}`);
    this.offsetMs += ms;
  }

  /** For persistence: how far the clock has been moved by hand. */
  get advancedMs(): number {
    return this.offsetMs;
  }
}
