/**
 * Lease timings and run settings: whatever is accepted leaves the holder a working window, and a refusal
 * names the setting the way the caller calls it (a field, or the Lambda's environment variable).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MIN_WORKING_WINDOW_MS, validateTimings } from "../../../functions/core/lease/lease-timings";
import { InvalidInputError } from "../../../functions/core/input-error";
import { RUN_SETTING_LIMITS, runSettings } from "../../../functions/core/billing-run/run-config";

describe("validateTimings", () => {
  it("accepts only timings that leave at least the minimum working window", () => {
    const ms = fc.integer({ min: -5, max: 20_000 });
    fc.assert(
      fc.property(ms, ms, ms, (leaseDurationMs, renewIntervalMs, safetyMarginMs) => {
        const partial = { leaseDurationMs, renewIntervalMs, safetyMarginMs };
        let accepted = true;
        try {
          validateTimings(partial);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidInputError);
          accepted = false;
        }
        const positive = leaseDurationMs > 0 && renewIntervalMs > 0 && safetyMarginMs > 0;
        const window = leaseDurationMs - renewIntervalMs - safetyMarginMs;
        expect(accepted).toBe(positive && window >= MIN_WORKING_WINDOW_MS);
      }),
    );
  });

  it("names the setting as the caller names it", () => {
    const names = { safetyMarginMs: "LEASE_SAFETY_MARGIN_MS", leaseDurationMs: "LEASE_DURATION_MS" };
    const nearlyAll = { leaseDurationMs: 10_000, renewIntervalMs: 2_000, safetyMarginMs: 7_900 };
    expect(() => validateTimings(nearlyAll)).toThrow(/^safetyMarginMs: /);
    expect(() => validateTimings(nearlyAll, names)).toThrow(
      expect.objectContaining({ field: "LEASE_SAFETY_MARGIN_MS" }),
    );
  });
});

describe("runSettings", () => {
  it.each(
    RUN_SETTING_LIMITS.flatMap(([field, min, max]) => [[field, min - 1] as const, [field, max + 1] as const]),
  )("refuses %s = %s, naming it as the caller does", (field, value) => {
    expect(() => runSettings({ [field]: value })).toThrow(
      new RegExp(`^${field}: must be a whole number from`),
    );
    expect(() => runSettings({ [field]: value }, { [field]: "THE_VARIABLE" })).toThrow(/^THE_VARIABLE: /);
  });
});
