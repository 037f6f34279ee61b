import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_RETRY_SCHEDULE,
  afterDecline,
  isAuthenticationRequired,
  maxAttempts,
  nextRetry,
  retrySchedule,
} from "../../../functions/core/billing/retry-policy";

const DAY_MS = 86_400_000;
const declinedAt = "2026-01-31T09:15:00.000Z";

describe("the default schedule", () => {
  it("retries 1, 3 and 5 days after each decline, then gives up: 4 attempts in all", () => {
    expect(nextRetry(1, declinedAt, DEFAULT_RETRY_SCHEDULE)).toBe("2026-02-01T09:15:00.000Z");
    expect(nextRetry(2, "2026-02-01T09:15:00.000Z", DEFAULT_RETRY_SCHEDULE)).toBe("2026-02-04T09:15:00.000Z");
    expect(nextRetry(3, "2026-02-04T09:15:00.000Z", DEFAULT_RETRY_SCHEDULE)).toBe("2026-02-09T09:15:00.000Z");
    expect(nextRetry(4, "2026-02-09T09:15:00.000Z", DEFAULT_RETRY_SCHEDULE)).toBeNull();
    expect(maxAttempts(DEFAULT_RETRY_SCHEDULE)).toBe(4);
  });
});

describe("a configured schedule", () => {
  it("uses its own delays and length", () => {
    const schedule = retrySchedule([3_600_000, 2 * DAY_MS]);
    expect(nextRetry(1, declinedAt, schedule)).toBe("2026-01-31T10:15:00.000Z");
    expect(nextRetry(2, declinedAt, schedule)).toBe("2026-02-02T09:15:00.000Z");
    expect(nextRetry(3, declinedAt, schedule)).toBeNull();
  });

  it("may have no retries at all", () => {
    expect(nextRetry(1, declinedAt, retrySchedule([]))).toBeNull();
  });

  it("refuses delays that are not whole milliseconds of at least a second", () => {
    for (const bad of [0, -1, 999, 1.5, Number.NaN])
      expect(() => retrySchedule([DAY_MS, bad])).toThrow(RangeError);
  });

  it("gives each period exactly its number of attempts, each retry later than the decline before", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1_000, max: 30 * DAY_MS }), { maxLength: 8 }), (delays) => {
        const schedule = retrySchedule(delays);
        let at = declinedAt;
        let attempt = 1;
        for (let retryAt = nextRetry(attempt, at, schedule); retryAt !== null;) {
          expect(retryAt > at).toBe(true);
          at = retryAt;
          attempt += 1;
          retryAt = nextRetry(attempt, at, schedule);
        }
        expect(attempt).toBe(maxAttempts(schedule));
      }),
    );
  });
});

describe("inputs", () => {
  it("refuse attempt numbers below 1 and non-canonical times", () => {
    expect(() => nextRetry(0, declinedAt, DEFAULT_RETRY_SCHEDULE)).toThrow(RangeError);
    expect(() => nextRetry(1.5, declinedAt, DEFAULT_RETRY_SCHEDULE)).toThrow(RangeError);
    expect(() => nextRetry(1, "2026-01-31", DEFAULT_RETRY_SCHEDULE)).toThrow(RangeError);
  });
});

describe("after a decline", () => {
  it("schedules a retry while the schedule lasts, then past_due", () => {
    const decline = { code: "card_declined", declineCode: "insufficient_funds" };
    expect(afterDecline(decline, 1, declinedAt, DEFAULT_RETRY_SCHEDULE)).toEqual({
      kind: "retry",
      retryAt: "2026-02-01T09:15:00.000Z",
    });
    expect(afterDecline(decline, 4, declinedAt, DEFAULT_RETRY_SCHEDULE)).toEqual({ kind: "past_due" });
  });

  it("never retries off-session when the customer must authenticate, in either of Stripe's forms", () => {
    for (const decline of [
      { code: "authentication_required", declineCode: null },
      { code: "card_declined", declineCode: "authentication_required" },
    ]) {
      expect(isAuthenticationRequired(decline.code, decline.declineCode)).toBe(true);
      expect(afterDecline(decline, 1, declinedAt, DEFAULT_RETRY_SCHEDULE)).toEqual({
        kind: "needs_customer_action",
      });
    }
    expect(isAuthenticationRequired("card_declined", "generic_decline")).toBe(false);
  });
});
