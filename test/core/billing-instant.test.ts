/**
 * The instant a run bills as of: a requested instant up to MAX_CLOCK_SKEW_MS ahead of now is accepted
 * and billed as of no later than now; anything further ahead is refused.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { billingInstant } from "../../functions/core/billing-instant";
import { MAX_CLOCK_SKEW_MS } from "../../functions/core/clock";

const instants = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(9999, 11, 31) });

describe("billingInstant", () => {
  it("bills as of min(requested, now), and refuses only what is further ahead than clock skew", () => {
    fc.assert(
      fc.property(instants, instants, (requested, now) => {
        const result = billingInstant(requested, now);
        if (requested - now > MAX_CLOCK_SKEW_MS) {
          expect(result).toEqual({ accepted: false, aheadMs: requested - now });
        } else {
          expect(result).toEqual({ accepted: true, asOfMs: Math.min(requested, now) });
        }
      }),
    );
  });

  it("never bills a period that starts after now, even within the skew", () => {
    fc.assert(
      fc.property(instants, fc.integer({ min: 1, max: MAX_CLOCK_SKEW_MS }), (now, ahead) => {
        const result = billingInstant(now + ahead, now);
        expect(result.accepted && result.asOfMs).toBe(now);
      }),
    );
  });

  it("draws the line at exactly the skew", () => {
    const now = Date.UTC(2026, 10, 23, 12);
    expect(billingInstant(now + MAX_CLOCK_SKEW_MS, now)).toEqual({ accepted: true, asOfMs: now });
    expect(billingInstant(now + MAX_CLOCK_SKEW_MS + 1, now).accepted).toBe(false);
    expect(billingInstant(now - 1, now)).toEqual({ accepted: true, asOfMs: now - 1 });
  });
});
