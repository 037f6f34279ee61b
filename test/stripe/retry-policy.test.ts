/** The backoff between the gateway's retries: exponential, capped, with full jitter. */
import { describe, expect, it } from "vitest";
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffMs } from "../../functions/stripe/retry-policy";

describe("backoff", () => {
  it("doubles its ceiling with each retry, up to the cap", () => {
    const highest = () => 1 - Number.EPSILON;
    expect([0, 1, 2, 3, 4, 5, 10].map((retry) => backoffMs(retry, highest))).toEqual([
      BACKOFF_BASE_MS,
      BACKOFF_BASE_MS * 2,
      BACKOFF_BASE_MS * 4,
      BACKOFF_BASE_MS * 8,
      BACKOFF_CAP_MS,
      BACKOFF_CAP_MS,
      BACKOFF_CAP_MS,
    ]);
  });

  it("is fully jittered: anywhere from 0 to the ceiling, as the random source says", () => {
    expect(backoffMs(3, () => 0)).toBe(0);
    expect(backoffMs(3, () => 0.25)).toBe(1_000);
    expect(backoffMs(3, () => 0.5)).toBe(2_000);
  });

  it("stays within [0, cap] whatever the retry count and the draw", () => {
    for (let retry = 0; retry < 40; retry++) {
      const ms = backoffMs(retry);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThanOrEqual(BACKOFF_CAP_MS);
    }
  });
});
