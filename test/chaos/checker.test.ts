/**
 * A deliberately broken build is caught: the chaos suite's verdict is only as good as the invariant
 * checker (dev/invariants.ts), so this file hands it the state a double-charging build would leave (two
 * succeeded PaymentIntents for one subscription and period, created directly at the emulator) and
 * expects invariant 1 to be reported, after checking that the same state minus the rogue charge passes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type Stripe from "stripe";
import { renewalMetadata } from "../../functions/core/payments/payment-gateway";
import { checkInvariants, fetchProviderRecord, scanAll } from "../../dev/invariants";
import { seedSubscriptions, stripeClient } from "../../dev/seed";
import { startStripeEmulator, type StripeEmulator } from "../../dev/stripe-emulator";
import { createTestTables, type TestTables } from "../support/dynamo";

const KEY = "sk_test_chaos_checker";
const AS_OF = "2026-11-23T12:00:00.000Z";
const PERIOD = "2026-11-23T08:00:00.000Z";
const NEXT_PERIOD = "2026-12-23T08:00:00.000Z";

let tables: TestTables;
let emulator: StripeEmulator;
let stripe: Stripe;
let customer: string;
let paymentMethod: string;

beforeAll(async () => {
  [tables, emulator] = await Promise.all([
    createTestTables("chaos-checker"),
    startStripeEmulator({ seed: 3 }),
  ]);
  stripe = stripeClient(KEY, emulator.url);
  await seedSubscriptions(tables.doc, tables.names, stripe, [
    {
      subscriptionId: "sub_double",
      shard: 0,
      card: "succeeds",
      amount: 1500,
      currency: "usd",
      interval: "month",
      anchorDay: 23,
      nextPeriodStart: PERIOD,
    },
  ]);
  const [sub] = await scanAll(tables.doc, tables.names.subscriptions);
  customer = String(sub!.customerId);
  paymentMethod = String(sub!.paymentMethodId);
});
afterAll(async () => {
  await emulator?.stop();
  tables?.doc.destroy();
});

/** Charges the period the way the billing run does: create unconfirmed, then confirm off-session. */
async function chargePeriod(key: string): Promise<string> {
  const pi = await stripe.paymentIntents.create(
    {
      amount: 1500,
      currency: "usd",
      customer,
      payment_method: paymentMethod,
      metadata: renewalMetadata("sub_double", PERIOD, 0),
      automatic_payment_methods: { enabled: true, allow_redirects: "never" },
      confirm: false,
    },
    { idempotencyKey: `${key}:create` },
  );
  const confirmed = await stripe.paymentIntents.confirm(
    pi.id,
    { off_session: true, payment_method: paymentMethod },
    { idempotencyKey: `${key}:confirm` },
  );
  expect(confirmed.status).toBe("succeeded");
  return pi.id;
}

const check = async () =>
  checkInvariants(tables.doc, tables.names, await fetchProviderRecord(emulator.url), AS_OF);

describe("the invariant checker against a broken build", () => {
  it("passes the state a correct run leaves: one charge, recorded, the subscription advanced", async () => {
    const id = await chargePeriod("good");
    await tables.doc.send(
      new PutCommand({
        TableName: tables.names.charges,
        Item: {
          subscriptionId: "sub_double",
          periodStart: PERIOD,
          state: "succeeded",
          paymentIntentId: id,
          amount: 1500,
          currency: "usd",
          fence: 1,
        },
      }),
    );
    // The fence the charge was written under, as the lease table issued it.
    await tables.doc.send(
      new PutCommand({
        TableName: tables.names.leases,
        Item: { leaseKey: "billing/shard-0", record: "fence", fence: 1 },
      }),
    );
    await tables.doc.send(
      new UpdateCommand({
        TableName: tables.names.subscriptions,
        Key: { subscriptionId: "sub_double" },
        UpdateExpression: "SET nextPeriodStart = :next, nextAttemptAt = :next",
        ExpressionAttributeValues: { ":next": NEXT_PERIOD },
      }),
    );
    const report = await check();
    expect(report.violations).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it("reports invariant 1 when a second PaymentIntent for the same period succeeded (a double charge)", async () => {
    const rogue = await chargePeriod("rogue");
    const report = await check();
    expect(report.ok).toBe(false);
    const doubles = report.violations.filter((v) => v.startsWith("invariant 1"));
    expect(doubles).toHaveLength(1);
    expect(doubles[0]).toContain(`sub_double@${PERIOD} charged 2 times`);
    expect(doubles[0]).toContain(rogue);
    // And the provider's extra charge has no ledger record: invariant 5 sees it too.
    expect(report.violations.some((v) => v.startsWith("invariant 5") && v.includes(rogue))).toBe(true);
  });
});
