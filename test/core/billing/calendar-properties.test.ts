/**
 * Properties of the calendar over random anchors, start dates and times of day: periods strictly increase,
 * monthly periods advance exactly one calendar month (never skipping or repeating one), every period lies
 * on its anchor (clamped), and the catch-up list is exactly the periods due.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  anchoredDay,
  daysInMonth,
  duePeriods,
  isOnAnchor,
  nextPeriodStart,
} from "../../../functions/core/billing/calendar";

const DAY_MS = 86_400_000;

const timeOfDay = fc.integer({ min: 0, max: DAY_MS - 1 });

/** A monthly subscription: anchor, and a first period start on it. */
const monthly = fc
  .record({
    anchorDay: fc.integer({ min: 1, max: 31 }),
    year: fc.integer({ min: 1990, max: 2300 }),
    month: fc.integer({ min: 1, max: 12 }),
    timeOfDayMs: timeOfDay,
  })
  .map(({ anchorDay, year, month, timeOfDayMs }) => ({
    anchorDay,
    start: new Date(
      Date.UTC(year, month - 1, anchoredDay(year, month, anchorDay)) + timeOfDayMs,
    ).toISOString(),
  }));

const monthIndex = (iso: string) => {
  const d = new Date(iso);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
};

describe("monthly periods, for any anchor and start", () => {
  it("strictly increase, advance exactly one calendar month, keep the time of day and sit on the anchor", () => {
    fc.assert(
      fc.property(monthly, fc.integer({ min: 1, max: 60 }), ({ anchorDay, start }, steps) => {
        let period = start;
        for (let i = 0; i < steps; i++) {
          const next = nextPeriodStart(period, "month", anchorDay);
          expect(next > period).toBe(true);
          expect(monthIndex(next)).toBe(monthIndex(period) + 1);
          expect(Date.parse(next) % DAY_MS).toBe(Date.parse(start) % DAY_MS);
          expect(isOnAnchor(next, "month", anchorDay)).toBe(true);
          const gapDays = (Date.parse(next) - Date.parse(period)) / DAY_MS;
          // A month apart: from 28 days (31 Jan → 28 Feb) to 31 (28 Feb → 31 Mar).
          expect(gapDays).toBeGreaterThanOrEqual(28);
          expect(gapDays).toBeLessThanOrEqual(31);
          period = next;
        }
      }),
    );
  });

  it("return to the anchor day in every month long enough for it", () => {
    fc.assert(
      fc.property(monthly, fc.integer({ min: 1, max: 36 }), ({ anchorDay, start }, steps) => {
        let period = start;
        for (let i = 0; i < steps; i++) {
          period = nextPeriodStart(period, "month", anchorDay);
          const d = new Date(period);
          if (daysInMonth(d.getUTCFullYear(), d.getUTCMonth() + 1) >= anchorDay) {
            expect(d.getUTCDate()).toBe(anchorDay);
          }
        }
      }),
    );
  });
});

describe("yearly periods, for any anchor", () => {
  it("advance exactly one year, on the anchor month and the clamped anchor day", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: 1990, max: 2300 }),
        timeOfDay,
        (anchorMonth, day, year, timeOfDayMs) => {
          const anchorDay = Math.min(day, anchorMonth === 2 ? 29 : daysInMonth(2028, anchorMonth));
          const start = new Date(
            Date.UTC(year, anchorMonth - 1, anchoredDay(year, anchorMonth, anchorDay)) + timeOfDayMs,
          ).toISOString();
          const next = new Date(nextPeriodStart(start, "year", anchorDay, anchorMonth));
          expect(next.getUTCFullYear()).toBe(year + 1);
          expect(next.getUTCMonth() + 1).toBe(anchorMonth);
          expect(next.getUTCDate()).toBe(anchoredDay(year + 1, anchorMonth, anchorDay));
          expect(next.getTime() % DAY_MS).toBe(timeOfDayMs);
        },
      ),
    );
  });
});

describe("catch-up", () => {
  it("lists exactly the due periods, oldest first, one per period, capped at max", () => {
    fc.assert(
      fc.property(
        monthly,
        fc.integer({ min: 0, max: 800 * DAY_MS }),
        fc.integer({ min: 0, max: 30 }),
        ({ anchorDay, start }, lateByMs, max) => {
          const asOf = new Date(Date.parse(start) + lateByMs).toISOString();
          const due = duePeriods(start, "month", anchorDay, undefined, asOf, max);
          expect(due.length).toBeLessThanOrEqual(max);
          if (max > 0) expect(due[0]).toBe(start);
          due.forEach((period, i) => {
            expect(period <= asOf).toBe(true);
            if (i > 0) expect(period).toBe(nextPeriodStart(due[i - 1]!, "month", anchorDay));
          });
          // Not capped: the period after the last one listed is not yet due.
          if (due.length < max) {
            const after = due.length === 0 ? start : nextPeriodStart(due.at(-1)!, "month", anchorDay);
            expect(after > asOf).toBe(true);
          }
        },
      ),
    );
  });
});
