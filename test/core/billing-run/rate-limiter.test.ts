/**
 * The token bucket in front of Stripe (functions/core/billing-run/rate-limiter.ts), on a ManualClock: its
 * sleep moves the clock at once, so each grant's instant is exact and a whole window runs in microseconds.
 * A grant's instant is the clock's reading when its `take()` resolves.
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../functions/core/clock";
import { RateLimiter } from "../../../functions/core/billing-run/rate-limiter";
import { InvalidInputError } from "../../../functions/core/input-error";

const T0 = 1_000_000;

/** Asks for `count` requests at once; the clock reading at which each was granted, in the order granted. */
async function grants(limiter: RateLimiter, clock: ManualClock, count: number): Promise<number[]> {
  const granted: { index: number; at: number }[] = [];
  await Promise.all(
    Array.from({ length: count }, (_, index) =>
      limiter.take().then(() => granted.push({ index, at: clock.now() })),
    ),
  );
  expect(granted.map((g) => g.index)).toEqual(Array.from({ length: count }, (_, i) => i));
  return granted.map((g) => g.at);
}

/** The most grants in any closed window of `windowMs` (each window starting at a grant). */
function busiestWindow(times: number[], windowMs: number): number {
  return Math.max(...times.map((start) => times.filter((t) => t >= start && t <= start + windowMs).length));
}

describe("RateLimiter", () => {
  it("grants the first request at once, with no wait", async () => {
    for (const rate of [1, 3, 20, 100]) {
      const clock = new ManualClock(T0);
      await new RateLimiter(clock, rate).take();
      expect(clock.now()).toBe(T0);
    }
  });

  it("grants a burst of ceil(rate / 10) at once, then one request every 1000 / rate ms, in the order asked", async () => {
    const clock = new ManualClock(T0);
    const times = await grants(new RateLimiter(clock, 20), clock, 10);
    // Burst 2 at T0, then one token every 50 ms.
    expect(times.map((t) => t - T0)).toEqual([0, 0, 50, 100, 150, 200, 250, 300, 350, 400]);
  });

  it("holds 20 requests/second over a long window, and no window holds more than the rate plus the burst", async () => {
    const clock = new ManualClock(T0);
    const times = await grants(new RateLimiter(clock, 20), clock, 402);
    const last = times.at(-1)! - T0;
    expect(last).toBe(20_000); // 2 from the burst, then 400 at 50 ms apart: 20 s
    expect((times.length - 2) / (last / 1000)).toBe(20);
    // Every second after the burst sees exactly 20 grants.
    for (let second = 1; second < 20; second++) {
      const from = T0 + second * 1000;
      expect(times.filter((t) => t >= from && t < from + 1000)).toHaveLength(20);
    }
    expect(busiestWindow(times, 1000)).toBe(22); // a token bucket's bound: burst + rate x window
    expect(busiestWindow(times, 5000)).toBe(102);
  });

  it("keeps a rate that does not divide a second: never over rate x window + burst, and not far under it", async () => {
    const clock = new ManualClock(T0);
    const times = await grants(new RateLimiter(clock, 3), clock, 61); // burst 1
    const elapsedS = (times.at(-1)! - T0) / 1000;
    expect(60 / elapsedS).toBeLessThanOrEqual(3);
    expect(60 / elapsedS).toBeGreaterThan(2.99);
    for (const windowMs of [1000, 2000, 10_000]) {
      expect(busiestWindow(times, windowMs)).toBeLessThanOrEqual(1 + (3 * windowMs) / 1000);
    }
  });

  it("makes the first request past the burst wait exactly one token's time", async () => {
    const clock = new ManualClock(T0);
    const limiter = new RateLimiter(clock, 4); // burst 1
    await limiter.take();
    expect(clock.now()).toBe(T0);
    await limiter.take();
    expect(clock.now()).toBe(T0 + 250);
  });

  it("takes an explicit burst", async () => {
    const clock = new ManualClock(T0);
    const times = await grants(new RateLimiter(clock, 10, 5), clock, 8);
    expect(times.map((t) => t - T0)).toEqual([0, 0, 0, 0, 0, 100, 200, 300]);
  });

  it("refills while idle, but never banks more than the burst", async () => {
    const clock = new ManualClock(T0);
    const limiter = new RateLimiter(clock, 20);
    await grants(limiter, clock, 2); // the bucket is empty
    clock.advance(60_000); // a quiet minute would be 1200 tokens without the cap
    const start = clock.now();
    const times = await grants(limiter, clock, 5);
    expect(times.map((t) => t - start)).toEqual([0, 0, 50, 100, 150]);
  });

  it("credits time that passed between requests: a request half a token late waits only the other half", async () => {
    const clock = new ManualClock(T0);
    const limiter = new RateLimiter(clock, 10); // burst 1, a token every 100 ms
    await limiter.take();
    clock.advance(60);
    await limiter.take();
    expect(clock.now()).toBe(T0 + 100);
  });

  it("refuses a rate that is not positive", () => {
    const clock = new ManualClock(T0);
    for (const rate of [0, -1, Number.NaN]) {
      expect(() => new RateLimiter(clock, rate)).toThrow(InvalidInputError);
      expect(() => new RateLimiter(clock, rate)).toThrow("requestsPerSecond: must be positive");
    }
  });
});
