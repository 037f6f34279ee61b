/**
 * The run's subscription validator now stands on the zod definition the client and the import share
 * (functions/core/billing/subscription-schema.ts). What the run bills must not change with it: for any
 * record, well-formed or broken in one or several fields, the rewrite accepts, refuses and explains
 * (first field at fault, same sentence) exactly as the validator before it did. The one deliberate
 * difference is the new `paused` status, which behaves as the other inactive statuses do.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UnreadableNumber, validateSubscription } from "../../../functions/core/billing/subscription";
import {
  checkSubscriptionInput,
  subscriptionRecordSchema,
} from "../../../functions/core/billing/subscription-schema";
import { validateSubscriptionBeforeZod } from "./support/validator-before-zod";

const monthly = {
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
  ...monthly,
  interval: "year",
  anchorDay: 29,
  anchorMonth: 2,
  nextPeriodStart: "2027-02-28T00:00:00.000Z",
  nextAttemptAt: "2028-02-29T00:00:00.000Z",
};

const FIELDS = [...Object.keys(yearly), "dueShard", "fence"];

/** Values that break each check somewhere, and values that pass some. */
const anyValue = fc.oneof(
  fc.constantFrom<unknown>(
    undefined,
    null,
    "",
    "  ",
    0,
    -0,
    -1,
    1,
    12,
    13,
    29,
    30,
    31,
    32,
    49,
    50,
    299,
    300,
    99_999_999,
    100_000_000,
    12.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    "1200",
    "usd",
    "USD",
    "jpy",
    "sek",
    "xyz",
    "month",
    "year",
    "week",
    "active",
    "ACTIVE",
    "paused",
    "past_due",
    "canceled",
    "quarantined",
    "pm_card_visa",
    "card_1",
    "cus_1",
    "2026-02-28T00:00:00.000Z",
    "2026-03-31T00:00:00.000Z",
    "2026-02-30T00:00:00.000Z",
    "2026-02-28T00:00:00Z",
    "2027-02-28T00:00:00.000Z",
    "2028-02-29T00:00:00.000Z",
    "2025-01-01T00:00:00.000Z",
    true,
    [],
    {},
  ),
  fc.constant(new UnreadableNumber("123456789012345678901234567890")),
  fc.integer({ min: -5, max: 40 }),
  fc.string({ maxLength: 6 }),
  fc.double(),
);

/** A base record with some of its fields replaced or removed. */
const record = fc
  .tuple(
    fc.constantFrom<Record<string, unknown>>(monthly, yearly),
    fc.array(fc.tuple(fc.constantFrom(...FIELDS), anyValue, fc.boolean()), { maxLength: 4 }),
  )
  .map(([base, edits]) => {
    const copy: Record<string, unknown> = { ...base };
    for (const [field, value, remove] of edits) {
      if (remove) delete copy[field];
      else copy[field] = value;
    }
    return copy;
  });

/**
 * What the validator before zod said. It did not know `paused`, which must act as `canceled` did, and
 * its list of statuses in a reason lacks it.
 */
function before(raw: unknown) {
  const paused = typeof raw === "object" && raw !== null && (raw as { status?: unknown }).status === "paused";
  const result = validateSubscriptionBeforeZod(paused ? { ...(raw as object), status: "canceled" } : raw);
  if (result.ok)
    return paused ? { ok: true, subscription: { ...result.subscription, status: "paused" } } : result;
  return {
    ...result,
    reason: result.reason.replace("one of active, past_due", "one of active, paused, past_due"),
  };
}

describe("the run's validator on the zod definition", () => {
  it("accepts, refuses and explains every record exactly as the validator before it", () => {
    fc.assert(
      fc.property(record, (raw) => {
        expect(validateSubscription(raw)).toEqual(before(raw));
      }),
      { numRuns: 20_000 },
    );
  });

  it("agrees on records that are not objects at all", () => {
    for (const raw of [null, undefined, "sub_1", 12, [monthly], true]) {
      expect(validateSubscription(raw)).toEqual(validateSubscriptionBeforeZod(raw));
    }
  });

  it("treats a paused record as billable data that is simply not active", () => {
    expect(validateSubscription({ ...monthly, status: "paused" })).toMatchObject({
      ok: true,
      subscription: { status: "paused" },
    });
  });
});

describe("what a user writes is a strict subset of what the run accepts", () => {
  const input = {
    subscriptionId: "sub_1",
    customerId: "cus_1",
    paymentMethodId: "pm_card_visa",
    amount: 1200,
    currency: "usd",
    interval: "month",
    nextPeriodStart: "2026-01-31T00:00:00.000Z",
  };

  it("refuses the fields only the job writes, naming each", () => {
    const check = checkSubscriptionInput({
      ...input,
      dueShard: "shard-0",
      nextAttemptAt: input.nextPeriodStart,
      colour: "red",
    });
    expect(check).toEqual({
      ok: false,
      problems: [
        {
          field: "dueShard",
          reason: "dueShard is computed (by the client or the billing run), never written",
        },
        {
          field: "nextAttemptAt",
          reason: "nextAttemptAt is computed (by the client or the billing run), never written",
        },
        { field: "colour", reason: "colour is not a field of a subscription" },
      ],
    });
  });

  it("lists every field at fault in one go, in the order the run checks them", () => {
    const check = checkSubscriptionInput({
      subscriptionId: "has space",
      paymentMethodId: "card_1",
      amount: -5,
      currency: "usd",
      interval: "week",
      nextPeriodStart: "2026-02-30T00:00:00.000Z",
      status: "past_due",
    });
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.problems.map((p) => p.field)).toEqual([
      "subscriptionId",
      "status",
      "customerId",
      "paymentMethodId",
      "amount",
      "interval",
      "nextPeriodStart",
    ]);
    expect(check.problems.find((p) => p.field === "customerId")?.reason).toBe("customerId is missing");
    expect(check.problems.find((p) => p.field === "amount")?.reason).toMatch(/positive, got -5/);
  });

  it("refuses an anchor that does not exist, and a start that is not on the anchor given", () => {
    const yearlyInput = { ...input, interval: "year", nextPeriodStart: "2027-02-28T00:00:00.000Z" };
    expect(checkSubscriptionInput({ ...yearlyInput, anchorDay: 30 })).toMatchObject({
      ok: false,
      problems: [{ field: "anchorDay", reason: "anchorDay 30 does not exist in month 2" }],
    });
    expect(checkSubscriptionInput({ ...input, anchorDay: 15 })).toMatchObject({
      ok: false,
      problems: [{ field: "nextPeriodStart", reason: /not on the anchor \(day 15\)/ }],
    });
    expect(checkSubscriptionInput({ ...yearlyInput, anchorDay: 29 }).ok).toBe(true);
  });

  it("is checked with the same zod types as the stored record (a JSON Schema for both is generated)", () => {
    expect(subscriptionRecordSchema.safeParse({ ...monthly, fence: 3, dueShard: "shard-0" }).success).toBe(
      true,
    );
  });
});
