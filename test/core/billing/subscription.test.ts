import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UnreadableNumber, validateSubscription } from "../../../functions/core/billing/subscription";

const valid = {
  subscriptionId: "sub_1",
  shard: 0,
  customerId: "cus_1",
  paymentMethodId: "pm_card_visa",
  amount: 1200,
  currency: "usd",
  interval: "month",
  anchorDay: 31,
  status: "active",
  nextPeriodStart: "2026-02-28T00:00:00.000Z",
  nextAttemptAt: "2026-02-28T00:00:00.000Z",
  createdAt: "2025-12-31T00:00:00.000Z",
  updatedAt: "2026-01-31T00:00:04.000Z",
};

const yearly = {
  ...valid,
  interval: "year",
  anchorDay: 29,
  anchorMonth: 2,
  nextPeriodStart: "2027-02-28T00:00:00.000Z",
  nextAttemptAt: "2027-02-28T00:00:00.000Z",
};

function without(record: Record<string, unknown>, field: string): Record<string, unknown> {
  const copy = { ...record };
  delete copy[field];
  return copy;
}

describe("validateSubscription accepts", () => {
  it("a well-formed monthly record, and keeps only the subscription's own fields", () => {
    const result = validateSubscription({ ...valid, dueShard: "shard-0", extra: { nested: true } });
    expect(result).toEqual({ ok: true, subscription: valid });
  });

  it("a yearly record anchored on 29 February, billed on the 28th in a common year", () => {
    expect(validateSubscription(yearly)).toEqual({ ok: true, subscription: yearly });
  });

  it("every status, so callers can tell an inactive record from a broken one", () => {
    for (const status of [
      "active",
      "paused",
      "past_due",
      "needs_customer_action",
      "quarantined",
      "canceled",
    ]) {
      expect(validateSubscription({ ...valid, status }).ok, status).toBe(true);
    }
  });

  it("a monthly record with a sensible anchorMonth, which monthly billing ignores", () => {
    expect(validateSubscription({ ...valid, anchorMonth: 1 }).ok).toBe(true);
    expect(validateSubscription({ ...valid, anchorMonth: null }).ok).toBe(true);
  });
});

/** Each bad record, the field that must be named, and words the reason must contain. */
const cases: [string, unknown, string, RegExp][] = [
  [
    "a next attempt before its period starts",
    { ...valid, nextAttemptAt: "2026-01-31T00:00:00.000Z" },
    "nextAttemptAt",
    /before nextPeriodStart/,
  ],
  [
    "an unreadable number",
    { ...valid, amount: new UnreadableNumber("1e400") },
    "amount",
    /unreadable number/,
  ],
  ["not an object", "sub_1", "record", /not an object/],
  ["an array", [valid], "record", /not an object/],
  ["null", null, "record", /not an object/],
  ["no subscription id", without(valid, "subscriptionId"), "subscriptionId", /subscriptionId is missing/],
  ["a negative shard", { ...valid, shard: -1 }, "shard", /shard must be a whole number/],
  ["a shard as a string", { ...valid, shard: "0" }, "shard", /shard must be a whole number/],
  ["an unknown status", { ...valid, status: "suspended" }, "status", /status must be one of/],
  ["no customer", without(valid, "customerId"), "customerId", /customerId is missing/],
  ["a blank customer", { ...valid, customerId: "  " }, "customerId", /customerId is missing/],
  ["no payment method", without(valid, "paymentMethodId"), "paymentMethodId", /paymentMethodId is missing/],
  ["a payment method that is not pm_", { ...valid, paymentMethodId: "card_123" }, "paymentMethodId", /pm_/],
  ["an amount with cents after the point", { ...valid, amount: 12.5 }, "amount", /whole number/],
  ["a zero amount", { ...valid, amount: 0 }, "amount", /positive/],
  ["a negative amount", { ...valid, amount: -1200 }, "amount", /positive/],
  ["a NaN amount", { ...valid, amount: Number.NaN }, "amount", /whole number/],
  ["an amount stored as a string", { ...valid, amount: "1200" }, "amount", /must be a number/],
  ["no amount", without(valid, "amount"), "amount", /must be a number/],
  ["an unknown currency", { ...valid, currency: "xyz" }, "currency", /not a supported/],
  ["an upper-case currency", { ...valid, currency: "USD" }, "currency", /lowercase/],
  [
    "an amount below the minimum",
    { ...valid, currency: "gbp", amount: 29 },
    "amount",
    /below Stripe's minimum/,
  ],
  ["an amount above the maximum", { ...valid, amount: 100_000_000 }, "amount", /above Stripe's maximum/],
  ["a bad interval", { ...valid, interval: "week" }, "interval", /interval must be/],
  [
    "an anchor day of 0",
    { ...valid, anchorDay: 0 },
    "anchorDay",
    /anchorDay must be a whole number from 1 to 31/,
  ],
  [
    "an anchor day of 32",
    { ...valid, anchorDay: 32 },
    "anchorDay",
    /anchorDay must be a whole number from 1 to 31/,
  ],
  [
    "an anchor day as a string",
    { ...valid, anchorDay: "31" },
    "anchorDay",
    /anchorDay must be a whole number/,
  ],
  [
    "a yearly record without anchorMonth",
    without(yearly, "anchorMonth"),
    "anchorMonth",
    /anchorMonth must be/,
  ],
  ["a yearly anchorMonth of 13", { ...yearly, anchorMonth: 13 }, "anchorMonth", /from 1 to 12/],
  ["a yearly anchorMonth of 0", { ...yearly, anchorMonth: 0 }, "anchorMonth", /from 1 to 12/],
  ["a monthly anchorMonth of 13", { ...valid, anchorMonth: 13 }, "anchorMonth", /from 1 to 12/],
  ["30 February as a yearly anchor", { ...yearly, anchorDay: 30 }, "anchorDay", /does not exist in month 2/],
  [
    "an unparseable period start",
    { ...valid, nextPeriodStart: "next tuesday" },
    "nextPeriodStart",
    /UTC timestamp/,
  ],
  [
    "a period start without milliseconds",
    { ...valid, nextPeriodStart: "2026-02-28T00:00:00Z" },
    "nextPeriodStart",
    /UTC timestamp/,
  ],
  [
    "a period start off the anchor",
    { ...valid, nextPeriodStart: "2026-03-28T00:00:00.000Z" },
    "nextPeriodStart",
    /not on the anchor/,
  ],
  [
    "a yearly period start in the wrong month",
    { ...yearly, nextPeriodStart: "2027-03-28T00:00:00.000Z" },
    "nextPeriodStart",
    /not on the anchor/,
  ],
  [
    "an unparseable next attempt",
    { ...valid, nextAttemptAt: 1772236800000 },
    "nextAttemptAt",
    /UTC timestamp/,
  ],
  [
    "an impossible createdAt",
    { ...valid, createdAt: "2026-02-30T00:00:00.000Z" },
    "createdAt",
    /UTC timestamp/,
  ],
  ["no updatedAt", without(valid, "updatedAt"), "updatedAt", /UTC timestamp/],
];

describe("validateSubscription quarantines", () => {
  it.each(cases)("%s", (_name, raw, field, reason) => {
    const result = validateSubscription(raw);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.field).toBe(field);
    expect(result.reason).toMatch(reason);
    // Reasons are sentences for people: they name the field (a non-object record has none to name).
    if (field !== "record") expect(result.reason).toContain(field);
  });
});

describe("validateSubscription, on anything the table may hold", () => {
  it("never throws, and either names a field or returns a record that validates again unchanged", () => {
    const field = fc.constantFrom(...Object.keys(yearly));
    const damaged = fc
      .tuple(
        fc.constantFrom(valid, yearly),
        fc.array(fc.tuple(field, fc.anything({ withBigInt: true })), { maxLength: 3 }),
      )
      .map(([base, edits]) => Object.assign({ ...base }, Object.fromEntries(edits)));
    fc.assert(
      fc.property(fc.oneof(damaged, fc.anything({ withBigInt: true })), (raw) => {
        const result = validateSubscription(raw);
        if (result.ok) expect(validateSubscription(result.subscription)).toEqual(result);
        else expect(result.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 2_000 },
    );
  });
});
