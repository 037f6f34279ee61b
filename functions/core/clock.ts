/**
 * Time, injected. Pure logic never reads the wall clock itself, so tests drive it without sleeping.
 * Safety never depends on these readings being right (see docs/lease-protocol.md); liveness does.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or early (without error) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      }
    }),
};

/** A clock that moves only when told to; `sleep` advances it instantly. For tests and simulations. */
export class ManualClock implements Clock {
  constructor(private current = 0) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(ms: number): void {
    this.current = ms;
  }
  async sleep(ms: number): Promise<void> {
    this.current += ms;
  }
}

/** A clock `offsetMs` ahead of (or behind) another: models a contender whose clock is skewed. */
export function skewedClock(base: Clock, offsetMs: number): Clock {
  return { now: () => base.now() + offsetMs, sleep: (ms, signal) => base.sleep(ms, signal) };
}

/**
 * How far ahead of this process's clock a requested instant (`asOf`, a scheduled event's `time`) may be
 * and still be accepted: EventBridge's and Lambda's clocks disagree by a little. Billing itself never
 * uses an instant later than its own clock's now (see docs/billing-run.md, "Which instant a run bills").
 */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
