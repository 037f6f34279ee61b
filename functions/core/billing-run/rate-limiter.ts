/**
 * Keeps provider requests under a rate: a token bucket, so bursts are allowed up to `burst` and the
 * long-run rate never exceeds `requestsPerSecond`. Discovering the limit by 429s wastes requests and
 * time; staying under it does not. The rate may move while requests wait (a function, read at every
 * refill): the account budget's pacer (budget-pacer.ts) gives each leader its share of the moment.
 */
import type { Clock } from "../clock";
import { InvalidInputError } from "../input-error";

export class RateLimiter {
  private tokens: number;
  private updatedAt: number;
  private queue: Promise<void> = Promise.resolve();
  private readonly rate: () => number;

  /** `burst` defaults to a tenth of a second's requests (at least one), at the rate of the moment. */
  constructor(
    private readonly clock: Clock,
    requestsPerSecond: number | (() => number),
    private readonly fixedBurst?: number,
  ) {
    this.rate = typeof requestsPerSecond === "number" ? () => requestsPerSecond : requestsPerSecond;
    if (!(this.rate() > 0)) throw new InvalidInputError("requestsPerSecond", "must be positive");
    this.tokens = this.burst;
    this.updatedAt = clock.now();
  }

  get requestsPerSecond(): number {
    return this.rate();
  }

  private get burst(): number {
    return this.fixedBurst ?? Math.max(1, Math.ceil(this.rate() / 10));
  }

  /** Resolves when one request may be sent. Callers are served in order. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.waitForToken());
    this.queue = turn;
    return turn;
  }

  private async waitForToken(): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      const rate = this.rate();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * rate) / 1000);
      this.updatedAt = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.clock.sleep(Math.ceil(((1 - this.tokens) * 1000) / rate));
    }
  }
}
