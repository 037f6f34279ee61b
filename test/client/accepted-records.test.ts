/**
 * Whatever the subscription client accepts, the billing run bills or leaves alone on purpose: for any
 * input the client takes and any sequence of changes it makes, the record it would write is, by the
 * run's own classification (`classify`, due.ts, and the reachability sweep's `unreachable`), due or not
 * due, never invalid, and never out of reach of the shards that are billed. So nothing the client writes
 * is ever quarantined by the run.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classify } from "../../functions/core/billing-run/due";
import { unreachable } from "../../functions/core/billing-run/sweeps";
import {
  newSubscriptionRecord,
  planChange,
  type StoredSubscription,
  type SubscriptionChange,
} from "../../functions/core/billing/subscription-changes";
import { CURRENCIES } from "../../functions/core/billing/money";

const YEAR_MS = 365.25 * 86_400_000;
const instant = (from: number, to: number) =>
  fc.integer({ min: from, max: to }).map((ms) => new Date(ms).toISOString());
const anyInstant = instant(Date.UTC(1999, 0, 1), Date.UTC(2101, 0, 1));
/** Often a real anchor's time of day: midnight, or a whole hour. */
const periodStart = fc.oneof(
  anyInstant,
  fc
    .tuple(
      fc.integer({ min: 1998, max: 2101 }),
      fc.integer({ min: 0, max: 11 }),
      fc.integer({ min: 1, max: 31 }),
    )
    .map(([y, m, d]) => new Date(Date.UTC(y, m, d)).toISOString()),
);

const token = fc.stringMatching(/^[A-Za-z0-9_~.-]{1,12}$/);
const currency = fc.constantFrom(...Object.keys(CURRENCIES), "USD", "xyz");
/** Mostly well-formed (so that many are accepted), with every kind of mistake mixed in. */
const input = fc
  .record({
    subscriptionId: fc.oneof({ weight: 6, arbitrary: token }, fc.string({ maxLength: 3 })),
    customerId: fc.oneof({ weight: 6, arbitrary: token.map((t) => `cus_${t}`) }, fc.constant("cust")),
    paymentMethodId: fc.oneof({ weight: 6, arbitrary: token.map((t) => `pm_${t}`) }, fc.constant("card_1")),
    amount: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 400, max: 99_999_999 }) },
      fc.integer({ min: -10, max: 100_000_001 }),
      fc.double(),
    ),
    currency,
    interval: fc.oneof({ weight: 5, arbitrary: fc.constantFrom("month", "year") }, fc.constant("week")),
    nextPeriodStart: periodStart,
    anchor: fc.constantFrom("own", "own", "omitted", "last", "random"),
    anchorDay: fc.integer({ min: 0, max: 32 }),
    anchorMonth: fc.integer({ min: 0, max: 13 }),
    status: fc.option(fc.constantFrom("active", "active", "paused", "canceled", "past_due"), {
      nil: undefined,
    }),
    shard: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
  })
  .map(({ anchor, anchorDay, anchorMonth, status, shard, ...rest }) => {
    const day = Number(rest.nextPeriodStart.slice(8, 10));
    const month = Number(rest.nextPeriodStart.slice(5, 7));
    const anchors =
      anchor === "own"
        ? { anchorDay: day, ...(rest.interval === "year" && { anchorMonth: month }) }
        : anchor === "last"
          ? { anchorDay: 31 }
          : anchor === "random"
            ? { anchorDay, anchorMonth }
            : {};
    return {
      ...rest,
      ...anchors,
      ...(status !== undefined && { status }),
      ...(shard !== undefined && { shard }),
    };
  });

const change: fc.Arbitrary<SubscriptionChange> = fc.oneof(
  fc.record(
    {
      kind: fc.constant("plan" as const),
      amount: fc.integer({ min: -5, max: 100_000_001 }),
      currency: fc.constantFrom(...Object.keys(CURRENCIES), "xyz"),
      interval: fc.constantFrom("month" as const, "year" as const),
      anchorDay: fc.integer({ min: 0, max: 32 }),
      anchorMonth: fc.integer({ min: 0, max: 13 }),
    },
    { requiredKeys: ["kind"] },
  ),
  fc.record({
    kind: fc.constant("payment-method" as const),
    paymentMethodId: fc.constantFrom("pm_new", "card_x", "pm_"),
  }),
  fc.constant({ kind: "pause" as const }),
  fc.record({ kind: fc.constant("resume" as const), billMissedPeriods: fc.boolean() }),
  fc.constant({ kind: "cancel" as const }),
);

/** The run's verdict on a stored record, on its shard and on every billed shard, at `asOf`. */
function expectNeverQuarantined(record: StoredSubscription, shardCount: number, asOf: string): void {
  const raw = record as unknown as Record<string, unknown>;
  const billed = new Set(Array.from({ length: shardCount }, (_, i) => i));
  for (let shard = 0; shard < shardCount; shard++) {
    expect(classify(raw, shard, asOf).kind).not.toBe("invalid");
  }
  expect(unreachable(raw, billed)).toBeNull();
  if (record.status === "active" && record.nextAttemptAt <= asOf) {
    expect(classify(raw, record.shard, asOf).kind).toBe("due");
  }
}

describe("a record the client accepts", () => {
  it("is billed or not due, never quarantined, and so is every change the client makes to it", () => {
    let accepted = 0;
    let changed = 0;
    fc.assert(
      fc.property(
        input,
        fc.integer({ min: 1, max: 4 }),
        anyInstant,
        fc.array(fc.tuple(change, fc.integer({ min: 0, max: 3 * YEAR_MS })), { maxLength: 6 }),
        fc.array(anyInstant, { minLength: 1, maxLength: 3 }),
        (raw, shardCount, createdAt, changes, asOfs) => {
          const built = newSubscriptionRecord(raw, createdAt, shardCount);
          if (!built.ok) return;
          accepted += 1;
          let record = built.record;
          for (const asOf of asOfs) expectNeverQuarantined(record, shardCount, asOf);
          let at = Date.parse(createdAt);
          for (const [next, laterMs] of changes) {
            at += laterMs;
            const plan = planChange(record, next, new Date(at).toISOString());
            if (plan.kind !== "update") continue;
            changed += 1;
            record = plan.next;
            for (const asOf of asOfs) expectNeverQuarantined(record, shardCount, asOf);
          }
        },
      ),
      { numRuns: 6_000 },
    );
    // The generators must reach what they are about: accepted records and changes applied to them.
    expect(accepted).toBeGreaterThan(300);
    expect(changed).toBeGreaterThan(200);
  });
});
