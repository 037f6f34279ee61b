/**
 * What each kind of subscription ends up as after a run: declines scheduled for retry and then past due,
 * cards that need authentication set aside without retry, bad records quarantined while the run goes on,
 * and missed periods caught up one charge per period. Invariant 2 (docs/design.md#invariant-2): nothing
 * due is silently dropped.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { skewedClock, systemClock } from "../../../functions/core/clock";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { StripeEmulator } from "../../../dev/stripe-emulator";
import { monthlySeed, storedMonthly, type SubscriptionSeed } from "../../../dev/seed";
import { checkInvariants } from "../../../dev/invariants";
import { chargeRecords, type TestTables } from "../../support/dynamo";
import { useTablesAndEmulator } from "../../support/emulator";
import { startContender } from "../../support/billing";
import { seedWithTestKey } from "../../support/seeding";
import { retrySchedule } from "../../../functions/core/billing/retry-policy";

const HOUR = 3_600_000;
// The ledger stamps times with the real clock, so the scenario is placed around now.
const NOW = Date.now();
const AS_OF = new Date(NOW).toISOString();
const start = (hoursAgo: number) => new Date(NOW - hoursAgo * HOUR);
const monthly = (id: string, card: SubscriptionSeed["card"], hoursAgo = 1): SubscriptionSeed =>
  monthlySeed(id, start(hoursAgo), { card });

let tables: TestTables;
let emulator: StripeEmulator;
const schedule = retrySchedule([2 * HOUR, 4 * HOUR]); // 3 attempts in all

/** A run at `asOf`, on a clock that reads `asOf` then: later runs are runs in the future, not early ones. */
async function run(asOf: string) {
  const clock = skewedClock(systemClock, Math.max(0, Date.parse(asOf) - Date.now()));
  return startContender(
    tables,
    emulator.url,
    { runId: `run:${asOf}`, asOf },
    { settings: { retrySchedule: schedule }, clock },
  ).report;
}
async function subscription(id: string) {
  return (
    await tables.doc.send(
      new GetCommand({
        TableName: tables.names.subscriptions,
        Key: { subscriptionId: id },
        ConsistentRead: true,
      }),
    )
  ).Item!;
}
const charges = (id: string) => chargeRecords(tables, id);

// Three missed monthly periods: started 3 months (and a bit) ago, anchored on that day.
const threeMonthsAgo = new Date(
  Date.UTC(new Date(NOW).getUTCFullYear(), new Date(NOW).getUTCMonth() - 2, 1, 0, 0, 0),
);

useTablesAndEmulator("outcomes", (started) => ({ tables, emulator } = started));
beforeAll(async () => {
  await seedWithTestKey(
    tables,
    emulator.url,
    [
      monthly("sub_ok", "succeeds"),
      monthly("sub_declines", "declines"),
      monthly("sub_3ds", "needsAuthentication"),
      // Anchored on the 1st, three periods behind.
      monthlySeed("sub_missed", threeMonthsAgo, { amount: 500, currency: "eur" }),
    ],
    [
      { subscriptionId: "sub_bad_amount", shard: 0, item: { ...rawValid(), amount: 12.5 } },
      { subscriptionId: "sub_bad_currency", shard: 0, item: { ...rawValid(), currency: "xyz" } },
      { subscriptionId: "sub_too_big", shard: 0, item: { ...rawValid(), amount: 100_000_000 } },
      { subscriptionId: "sub_too_small", shard: 0, item: { ...rawValid(), amount: 10 } },
      { subscriptionId: "sub_no_card", shard: 0, item: { ...rawValid(), paymentMethodId: undefined } },
    ],
  );
});

function rawValid() {
  return storedMonthly(start(1), { customerId: "cus_missing", paymentMethodId: "pm_missing" });
}

describe("one run over a mixed book", () => {
  it("charges, declines, sets aside, quarantines and catches up, each as documented", async () => {
    const report = await run(AS_OF);
    expect(report.led).toHaveLength(1);

    // Success: one charge, subscription moved to its next period.
    expect((await charges("sub_ok")).map((c) => c.state)).toEqual(["succeeded"]);
    expect((await subscription("sub_ok")).nextPeriodStart > AS_OF).toBe(true);

    // Decline: recorded with the card's codes and a retry time; the subscription waits for it.
    const [declined] = await charges("sub_declines");
    expect(declined).toMatchObject({
      state: "declined",
      code: "card_declined",
      declineCode: "generic_decline",
      attempt: 1,
    });
    expect((await subscription("sub_declines")).nextAttemptAt).toBe(declined!.retryAt);

    // Authentication required: needs the customer, out of automatic billing, never retried.
    expect(await charges("sub_3ds")).toMatchObject([
      { state: "needs_customer_action", code: "authentication_required" },
    ]);
    expect(await subscription("sub_3ds")).toMatchObject({ status: "needs_customer_action" });
    expect((await subscription("sub_3ds")).dueShard).toBeUndefined();

    // Bad records: quarantined with a reason naming the field; the run went on.
    for (const [id, field] of [
      ["sub_bad_amount", "amount"],
      ["sub_bad_currency", "currency"],
      ["sub_too_big", "amount"],
      ["sub_too_small", "amount"],
      ["sub_no_card", "paymentMethodId"],
    ] as const) {
      expect(await charges(id), id).toMatchObject([{ state: "quarantined", field }]);
      expect(await subscription(id)).toMatchObject({ status: "quarantined" });
    }

    // Missed periods: each billed once, oldest first, up to the current one.
    const missed = await charges("sub_missed");
    expect(missed.map((c) => c.state)).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(new Set(missed.map((c) => c.periodStart)).size).toBe(3);
    expect((await subscription("sub_missed")).nextPeriodStart > AS_OF).toBe(true);

    const invariants = await checkInvariants(tables.doc, tables.names, emulator.snapshot(), AS_OF);
    expect(invariants.violations).toEqual([]);
  });

  it("retries a decline when due with a new PaymentIntent, cancels each declined one, and goes past due after the last attempt", async () => {
    const [first] = await charges("sub_declines");
    const firstIntent = first!.paymentIntentId;
    expect(first).toMatchObject({ state: "declined", attempt: 1, canceledPaymentIntentIds: [firstIntent] });
    await run(new Date(NOW + 2 * HOUR + 60_000).toISOString()); // second attempt
    const [second] = await charges("sub_declines");
    expect(second).toMatchObject({ state: "declined", attempt: 2, createGeneration: 1 });
    expect(second!.paymentIntentId).not.toBe(firstIntent);
    await run(new Date(NOW + 7 * HOUR).toISOString()); // third and last attempt
    const [third] = await charges("sub_declines");
    expect(third).toMatchObject({ state: "declined", attempt: 3, retryAt: null, createGeneration: 2 });
    expect(await subscription("sub_declines")).toMatchObject({ status: "past_due" });
    // One PaymentIntent per attempt, each confirmed once and canceled once its decline was recorded:
    // Stripe refuses any late confirmation of any of them (invariant 7).
    const pis = emulator
      .snapshot()
      .paymentIntents.filter((pi) => pi.metadata.subscription_id === "sub_declines");
    expect(pis).toHaveLength(3);
    expect(pis.map((pi) => pi.status)).toEqual(["canceled", "canceled", "canceled"]);
    expect(new Set(third!.canceledPaymentIntentIds)).toEqual(new Set(pis.map((pi) => pi.id)));
  });

  it("a rerun over the same book charges nothing more", async () => {
    const before = emulator.snapshot().paymentIntents.filter((pi) => pi.status === "succeeded").length;
    await run(AS_OF);
    await run(AS_OF);
    expect(emulator.snapshot().paymentIntents.filter((pi) => pi.status === "succeeded").length).toBe(before);
  });
});
