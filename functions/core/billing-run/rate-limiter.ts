/**
 * Keeps provider requests under a rate: a token bucket, so bursts are allowed up to `burst` and the
 * long-run rate never exceeds `requestsPerSecond`. Discovering the limit by 429s wastes requests and
 * time; staying under it does not.
 */
import type { Clock } from "../clock";

export class RateLimiter {
  private tokens: number;
  private updatedAt: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly clock: Clock,
    readonly requestsPerSecond: number,
    private readonly burst = Math.max(1, Math.ceil(requestsPerSecond / 10)),
  ) {
    if (!(requestsPerSecond > 0)) throw new Error("requestsPerSecond must be positive");
    this.tokens = this.burst;
    this.updatedAt = clock.now();
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
      this.tokens = Math.min(
        this.burst,
        this.tokens + ((now - this.updatedAt) * this.requestsPerSecond) / 1000,
      );
      this.updatedAt = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.clock.sleep(Math.ceil(((1 - this.tokens) * 1000) / this.requestsPerSecond));
    }
  }
}
