/**
 * Billing periods, all in UTC. A subscription is anchored on a day of the month (and, if yearly, a month);
 * each period starts on the anchor, clamped to the month's last day when the month is shorter, and the
 * next period returns to the anchor when the month allows it. The time of day of a period start is kept.
 * See docs/billing-policy.md for the rules and a worked table.
 *
 * Timestamps are canonical ISO-8601 strings as `Date.prototype.toISOString` writes them
 * (`2026-01-31T00:00:00.000Z`). They are compared as strings (the due index does), so only that one form
 * is accepted: anything else is a RangeError here and a quarantine reason in subscription validation.
 */

export type BillingInterval = "month" | "year";

export const BILLING_INTERVALS: readonly BillingInterval[] = ["month", "year"];

export function isBillingInterval(value: unknown): value is BillingInterval {
  return value === "month" || value === "year";
}

/** The shape of a canonical timestamp; `isCanonicalTimestamp` also checks that the date exists. */
export const CANONICAL_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** True for exactly the strings `toISOString` produces (a real date, four-digit year, ms, Z). */
export function isCanonicalTimestamp(value: unknown): value is string {
  if (typeof value !== "string" || !CANONICAL_TIMESTAMP.test(value)) return false;
  const ms = Date.parse(value);
  // The round trip rejects dates that do not exist (2026-02-30 would parse as 2 March).
  return Number.isFinite(ms) && new Date(ms).toISOString() === value;
}

/** Milliseconds since the epoch of a canonical timestamp; RangeError otherwise. */
export function parseTimestamp(value: string, what = "timestamp"): number {
  if (!isCanonicalTimestamp(value)) {
    throw new RangeError(
      `${what} must be a UTC timestamp like 2026-01-31T00:00:00.000Z, got ${JSON.stringify(value)}`,
    );
  }
  return Date.parse(value);
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Days in a month; `month` is 1..12. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The day a period starts on in a given month: the anchor, or the month's last day if shorter. */
export function anchoredDay(year: number, month: number, anchorDay: number): number {
  return Math.min(anchorDay, daysInMonth(year, month));
}

function checkAnchor(
  interval: BillingInterval,
  anchorDay: number,
  anchorMonth: number | undefined,
): number | null {
  if (!Number.isInteger(anchorDay) || anchorDay < 1 || anchorDay > 31) {
    throw new RangeError(`anchorDay must be a whole number from 1 to 31, got ${anchorDay}`);
  }
  if (interval === "month") return null;
  if (anchorMonth === undefined || !Number.isInteger(anchorMonth) || anchorMonth < 1 || anchorMonth > 12) {
    throw new RangeError(
      `anchorMonth must be a whole number from 1 to 12 for yearly billing, got ${anchorMonth}`,
    );
  }
  return anchorMonth;
}

interface Parts {
  readonly year: number;
  readonly month: number; // 1..12
  readonly day: number;
  readonly timeOfDayMs: number;
}

const DAY_MS = 86_400_000;

function partsOf(ms: number): Parts {
  const d = new Date(ms);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    timeOfDayMs: ((ms % DAY_MS) + DAY_MS) % DAY_MS,
  };
}

function instant(year: number, month: number, day: number, timeOfDayMs: number): string {
  // setUTCFullYear, not Date.UTC: the latter reads years 0..99 as 1900..1999.
  const midnight = new Date(0);
  midnight.setUTCFullYear(year, month - 1, day);
  return new Date(midnight.getTime() + timeOfDayMs).toISOString();
}

/**
 * The start of the period after `periodStart`: the next month (or year) on the anchor, clamped to the
 * month's length, at the same time of day. Months are counted from `periodStart`'s own month, never by
 * adding days, so a clamped February start (28th) still leads back to 31 March.
 */
export function nextPeriodStart(
  periodStart: string,
  interval: BillingInterval,
  anchorDay: number,
  anchorMonth?: number,
): string {
  const month = checkAnchor(interval, anchorDay, anchorMonth);
  const p = partsOf(parseTimestamp(periodStart, "periodStart"));
  if (month === null) {
    const nextYear = p.month === 12 ? p.year + 1 : p.year;
    const nextMonth = p.month === 12 ? 1 : p.month + 1;
    return instant(nextYear, nextMonth, anchoredDay(nextYear, nextMonth, anchorDay), p.timeOfDayMs);
  }
  const nextYear = p.year + 1;
  return instant(nextYear, month, anchoredDay(nextYear, month, anchorDay), p.timeOfDayMs);
}

/**
 * The first period start at or after `onOrAfter`, on the anchor, at `onOrAfter`'s time of day. For
 * seeding: `firstPeriodStart(signup, "month", signupDay)` is the signup instant itself.
 */
export function firstPeriodStart(
  onOrAfter: string,
  interval: BillingInterval,
  anchorDay: number,
  anchorMonth?: number,
): string {
  const month = checkAnchor(interval, anchorDay, anchorMonth);
  const from = parseTimestamp(onOrAfter, "onOrAfter");
  const p = partsOf(from);
  const candidateMonth = month ?? p.month;
  const candidate = instant(
    p.year,
    candidateMonth,
    anchoredDay(p.year, candidateMonth, anchorDay),
    p.timeOfDayMs,
  );
  return Date.parse(candidate) >= from
    ? candidate
    : nextPeriodStart(candidate, interval, anchorDay, anchorMonth);
}

/** The anchor of a subscription that starts at `startAt`: its day (and month, if yearly). */
export function anchorOf(
  startAt: string,
  interval: BillingInterval,
): { readonly anchorDay: number; readonly anchorMonth?: number } {
  const p = partsOf(parseTimestamp(startAt, "startAt"));
  return interval === "month" ? { anchorDay: p.day } : { anchorDay: p.day, anchorMonth: p.month };
}

/**
 * Whether `periodStart` lies on the anchor (clamped). A stored period start that does not would make the
 * calendar drift, so subscription validation quarantines it.
 */
export function isOnAnchor(
  periodStart: string,
  interval: BillingInterval,
  anchorDay: number,
  anchorMonth?: number,
): boolean {
  const month = checkAnchor(interval, anchorDay, anchorMonth);
  const p = partsOf(parseTimestamp(periodStart, "periodStart"));
  if (month !== null && p.month !== month) return false;
  return p.day === anchoredDay(p.year, p.month, anchorDay);
}

/**
 * The period starts due at `asOf`, oldest first, at most `max` of them, beginning with `start` (the
 * subscription's stored `nextPeriodStart`).
 * Catch-up policy: every missed period is billed, one period per charge, oldest first; none is skipped
 * or merged (docs/billing-policy.md).
 */
export function duePeriods(
  start: string,
  interval: BillingInterval,
  anchorDay: number,
  anchorMonth: number | undefined,
  asOf: string,
  max: number,
): string[] {
  if (!Number.isInteger(max) || max < 0)
    throw new RangeError(`max must be a whole number, 0 or more, got ${max}`);
  checkAnchor(interval, anchorDay, anchorMonth);
  const limit = parseTimestamp(asOf, "asOf");
  const due: string[] = [];
  let period = start;
  while (due.length < max && parseTimestamp(period, "nextPeriodStart") <= limit) {
    due.push(period);
    period = nextPeriodStart(period, interval, anchorDay, anchorMonth);
  }
  return due;
}

/**
 * The stable id of a period in idempotency keys (and anywhere a short period id is wanted): the UTC
 * calendar date of its start, `YYYY-MM-DD`. Periods of one subscription are at least 28 days apart, so
 * the date is unique per subscription; leaving out the time of day means an edit of the time cannot give
 * the same period a second key.
 */
export function periodKey(periodStart: string): string {
  parseTimestamp(periodStart, "periodStart");
  return periodStart.slice(0, 10);
}
