import { describe, expect, it } from "vitest";
import {
  anchorOf,
  daysInMonth,
  duePeriods,
  firstPeriodStart,
  isCanonicalTimestamp,
  isOnAnchor,
  nextPeriodStart,
  periodKey,
  type BillingInterval,
} from "../../../functions/core/billing/calendar";

/** `count` period starts from `start`, each the next of the one before. */
function periods(
  start: string,
  interval: BillingInterval,
  anchorDay: number,
  count: number,
  anchorMonth?: number,
): string[] {
  const out = [start];
  while (out.length < count) out.push(nextPeriodStart(out.at(-1)!, interval, anchorDay, anchorMonth));
  return out;
}

const dates = (xs: string[]) => xs.map((x) => x.slice(0, 10));

describe("monthly periods", () => {
  it("anchored on the 31st clamp to short months and return to the 31st, through a common year", () => {
    expect(dates(periods("2026-01-31T00:00:00.000Z", "month", 31, 13))).toEqual([
      "2026-01-31",
      "2026-02-28",
      "2026-03-31",
      "2026-04-30",
      "2026-05-31",
      "2026-06-30",
      "2026-07-31",
      "2026-08-31",
      "2026-09-30",
      "2026-10-31",
      "2026-11-30",
      "2026-12-31",
      "2027-01-31",
    ]);
  });

  it("anchored on the 31st bill 29 February in the leap year 2028", () => {
    expect(dates(periods("2027-12-31T00:00:00.000Z", "month", 31, 14))).toEqual([
      "2027-12-31",
      "2028-01-31",
      "2028-02-29",
      "2028-03-31",
      "2028-04-30",
      "2028-05-31",
      "2028-06-30",
      "2028-07-31",
      "2028-08-31",
      "2028-09-30",
      "2028-10-31",
      "2028-11-30",
      "2028-12-31",
      "2029-01-31",
    ]);
  });

  it("anchored on the 30th clamp only in February", () => {
    expect(dates(periods("2026-01-30T00:00:00.000Z", "month", 30, 4))).toEqual([
      "2026-01-30",
      "2026-02-28",
      "2026-03-30",
      "2026-04-30",
    ]);
    expect(dates(periods("2028-01-30T00:00:00.000Z", "month", 30, 3))).toEqual([
      "2028-01-30",
      "2028-02-29",
      "2028-03-30",
    ]);
  });

  it("anchored on the 29th clamp in common-year Februaries only", () => {
    expect(dates(periods("2026-01-29T00:00:00.000Z", "month", 29, 3))).toEqual([
      "2026-01-29",
      "2026-02-28",
      "2026-03-29",
    ]);
    expect(dates(periods("2028-01-29T00:00:00.000Z", "month", 29, 3))).toEqual([
      "2028-01-29",
      "2028-02-29",
      "2028-03-29",
    ]);
  });

  it("anchored early in the month never move", () => {
    expect(dates(periods("2026-11-15T00:00:00.000Z", "month", 15, 4))).toEqual([
      "2026-11-15",
      "2026-12-15",
      "2027-01-15",
      "2027-02-15",
    ]);
  });

  it("keeps the time of day of the period start", () => {
    expect(nextPeriodStart("2026-01-31T23:59:59.999Z", "month", 31)).toBe("2026-02-28T23:59:59.999Z");
    expect(nextPeriodStart("2026-02-28T07:30:00.000Z", "month", 31)).toBe("2026-03-31T07:30:00.000Z");
    expect(nextPeriodStart("2028-02-29T12:00:00.000Z", "year", 29, 2)).toBe("2029-02-28T12:00:00.000Z");
  });
});

describe("yearly periods", () => {
  it("anchored on 29 February bill 28 February in common years and 29 February in leap years", () => {
    expect(dates(periods("2027-02-28T00:00:00.000Z", "year", 29, 4, 2))).toEqual([
      "2027-02-28",
      "2028-02-29",
      "2029-02-28",
      "2030-02-28",
    ]);
    expect(dates(periods("2028-02-29T00:00:00.000Z", "year", 29, 5, 2))).toEqual([
      "2028-02-29",
      "2029-02-28",
      "2030-02-28",
      "2031-02-28",
      "2032-02-29",
    ]);
  });

  it("land on the anchor month and day", () => {
    expect(nextPeriodStart("2026-03-15T00:00:00.000Z", "year", 15, 3)).toBe("2027-03-15T00:00:00.000Z");
    expect(nextPeriodStart("2026-12-31T00:00:00.000Z", "year", 31, 12)).toBe("2027-12-31T00:00:00.000Z");
  });

  it("need an anchor month", () => {
    expect(() => nextPeriodStart("2026-03-15T00:00:00.000Z", "year", 15)).toThrow(/anchorMonth/);
    expect(() => nextPeriodStart("2026-03-15T00:00:00.000Z", "year", 15, 13)).toThrow(/anchorMonth/);
  });
});

describe("inputs", () => {
  it("accept only toISOString's own form", () => {
    expect(isCanonicalTimestamp("2026-01-31T00:00:00.000Z")).toBe(true);
    for (const bad of [
      "2026-01-31T00:00:00Z",
      "2026-01-31",
      "2026-01-31T00:00:00.000+00:00",
      "2026-02-30T00:00:00.000Z",
      "2026-1-31T00:00:00.000Z",
      " 2026-01-31T00:00:00.000Z",
      "",
      1769817600000,
      null,
    ]) {
      expect(isCanonicalTimestamp(bad), String(bad)).toBe(false);
    }
  });

  it("refuse malformed period starts and anchors", () => {
    expect(() => nextPeriodStart("2026-01-31T00:00:00Z", "month", 31)).toThrow(RangeError);
    expect(() => nextPeriodStart("2026-01-31T00:00:00.000Z", "month", 0)).toThrow(/anchorDay/);
    expect(() => nextPeriodStart("2026-01-31T00:00:00.000Z", "month", 32)).toThrow(/anchorDay/);
    expect(() => nextPeriodStart("2026-01-31T00:00:00.000Z", "month", 1.5)).toThrow(/anchorDay/);
  });

  it("count days per month, leap years included", () => {
    expect([2025, 2026, 2027, 2028, 1900, 2000, 2100].map((y) => daysInMonth(y, 2))).toEqual([
      28, 28, 28, 29, 28, 29, 28,
    ]);
    expect([1, 3, 4, 6, 9, 11, 12].map((m) => daysInMonth(2026, m))).toEqual([31, 31, 30, 30, 30, 30, 31]);
  });
});

describe("catch-up after missed runs", () => {
  it("lists every missed period, oldest first, up to and including the one due at asOf", () => {
    expect(
      dates(duePeriods("2026-01-31T00:00:00.000Z", "month", 31, undefined, "2026-04-30T00:00:00.000Z", 12)),
    ).toEqual(["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]);
  });

  it("leaves out a period that starts after asOf, even by a millisecond", () => {
    expect(
      duePeriods("2026-01-31T00:00:00.000Z", "month", 31, undefined, "2026-04-29T23:59:59.999Z", 12),
    ).toHaveLength(3);
  });

  it("is empty when nothing is due yet", () => {
    expect(
      duePeriods("2026-05-31T00:00:00.000Z", "month", 31, undefined, "2026-05-30T00:00:00.000Z", 12),
    ).toEqual([]);
  });

  it("stops at max, keeping the oldest", () => {
    expect(
      dates(duePeriods("2026-01-15T00:00:00.000Z", "month", 15, undefined, "2027-01-15T00:00:00.000Z", 3)),
    ).toEqual(["2026-01-15", "2026-02-15", "2026-03-15"]);
    expect(
      duePeriods("2026-01-15T00:00:00.000Z", "month", 15, undefined, "2027-01-15T00:00:00.000Z", 0),
    ).toEqual([]);
  });

  it("catches up yearly periods across leap days", () => {
    expect(
      dates(duePeriods("2027-02-28T00:00:00.000Z", "year", 29, 2, "2029-03-01T00:00:00.000Z", 12)),
    ).toEqual(["2027-02-28", "2028-02-29", "2029-02-28"]);
  });
});

describe("seeding", () => {
  it("starts on the anchor at or after the given instant, at its time of day", () => {
    expect(firstPeriodStart("2026-01-31T10:00:00.000Z", "month", 31)).toBe("2026-01-31T10:00:00.000Z");
    expect(firstPeriodStart("2026-02-01T10:00:00.000Z", "month", 31)).toBe("2026-02-28T10:00:00.000Z");
    expect(firstPeriodStart("2026-03-01T00:00:00.000Z", "year", 29, 2)).toBe("2027-02-28T00:00:00.000Z");
    expect(firstPeriodStart("2027-06-01T00:00:00.000Z", "year", 29, 2)).toBe("2028-02-29T00:00:00.000Z");
  });

  it("anchors on the start date", () => {
    expect(anchorOf("2028-02-29T09:00:00.000Z", "year")).toEqual({ anchorDay: 29, anchorMonth: 2 });
    expect(anchorOf("2026-01-31T09:00:00.000Z", "month")).toEqual({ anchorDay: 31 });
  });

  it("knows whether a period start lies on its anchor", () => {
    expect(isOnAnchor("2026-02-28T00:00:00.000Z", "month", 31)).toBe(true);
    expect(isOnAnchor("2026-03-28T00:00:00.000Z", "month", 31)).toBe(false);
    expect(isOnAnchor("2026-03-15T00:00:00.000Z", "year", 15, 4)).toBe(false);
    expect(isOnAnchor("2029-02-28T00:00:00.000Z", "year", 29, 2)).toBe(true);
  });
});

describe("period keys", () => {
  it("are the UTC date of the period start", () => {
    expect(periodKey("2026-01-31T00:00:00.000Z")).toBe("2026-01-31");
    expect(periodKey("2026-01-31T23:59:59.999Z")).toBe("2026-01-31");
  });

  it("refuse a non-canonical period start", () => {
    expect(() => periodKey("2026-01-31")).toThrow(RangeError);
  });
});
