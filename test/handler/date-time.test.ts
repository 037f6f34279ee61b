/**
 * Date-times in events: every possible one is read as Date.parse reads it, and an impossible one (a day
 * February does not have, month 13, 24:00, second 60, a year outside 2000..9999, an offset beyond
 * ±14:00) is refused rather than rolled over to another instant.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseDateTime } from "../../functions/handler/date-time";
import { impossibleDateTime } from "./event-arbitraries";

const two = (n: number) => String(n).padStart(2, "0");

describe("parseDateTime", () => {
  it("reads every instant of years 2000..9999 written as toISOString writes it", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }),
        (ms) => {
          expect(parseDateTime(new Date(ms).toISOString())).toBe(ms);
        },
      ),
    );
  });

  it("agrees with Date.parse on every possible date-time with an offset, and refuses the impossible", () => {
    const parts = fc.record({
      year: fc.integer({ min: 2000, max: 9999 }),
      month: fc.integer({ min: 0, max: 14 }),
      day: fc.integer({ min: 0, max: 32 }),
      hour: fc.integer({ min: 0, max: 25 }),
      minute: fc.integer({ min: 0, max: 61 }),
      second: fc.integer({ min: 0, max: 61 }),
      offsetHours: fc.integer({ min: 0, max: 16 }),
      negative: fc.boolean(),
    });
    fc.assert(
      fc.property(parts, (p) => {
        const zone = `${p.negative ? "-" : "+"}${two(p.offsetHours)}:00`;
        const text = `${p.year}-${two(p.month)}-${two(p.day)}T${two(p.hour)}:${two(p.minute)}:${two(p.second)}${zone}`;
        const daysInMonth = new Date(Date.UTC(p.year, p.month, 0)).getUTCDate();
        const possible =
          p.month >= 1 &&
          p.month <= 12 &&
          p.day >= 1 &&
          p.day <= daysInMonth &&
          p.hour <= 23 &&
          p.minute <= 59 &&
          p.second <= 59 &&
          p.offsetHours <= 14;
        expect(parseDateTime(text)).toBe(possible ? Date.parse(text) : null);
      }),
    );
  });

  it("refuses every impossible date-time the event properties use", () => {
    fc.assert(
      fc.property(impossibleDateTime, (text) => {
        expect(parseDateTime(text)).toBeNull();
      }),
    );
  });

  it.each([
    ["2026-02-30T00:00:00Z", null],
    ["2026-13-01T00:00:00Z", null],
    ["2026-11-23T24:00:00Z", null],
    ["2026-11-23T23:59:60Z", null],
    ["1999-12-31T23:59:59Z", null],
    ["10000-01-01T00:00:00Z", null],
    ["2026-11-23T12:00:00", null],
    ["2026-11-23 12:00:00Z", null],
    ["2026-11-23t12:00:00z", null],
    ["2026-11-23T12:00:00+14:01", null],
    ["2024-02-29T00:00:00Z", Date.UTC(2024, 1, 29)],
    ["2026-11-23T12:00Z", Date.UTC(2026, 10, 23, 12)],
    ["2026-11-23T13:00:00.5+01:00", Date.UTC(2026, 10, 23, 12, 0, 0, 500)],
    ["2026-11-23T00:30:00-12:00", Date.UTC(2026, 10, 23, 12, 30)],
  ])("reads %s as %s", (text, expected) => {
    expect(parseDateTime(text)).toBe(expected);
  });
});
