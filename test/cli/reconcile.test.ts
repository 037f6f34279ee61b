/**
 * `ops reconcile` against the Stripe emulator: a clean book reconciles (exit 0); a charge missing on
 * either side, a charge that never succeeded, a refund and an amount that differs are each reported
 * (exit 1); and records whose times fall on either side of the window edges are not false alarms.
 */
import { beforeEach, afterEach, describe, expect, it } from "vitest";
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { startStripeEmulator, type StripeEmulator } from "../../dev/stripe-emulator";
import { monthlySeed, seedSubscriptions, stripeClient, type SubscriptionSeed } from "../../dev/seed";
import type { ReconcileReport } from "../../cli/commands/reconcile";
import { createTestTables, type TestTables } from "../support/dynamo";
import { startContender, TEST_API_KEY } from "../support/billing";
import { json, localFlags, ops } from "./ops-harness";

const HOUR = 3_600_000;
const ENV = { STRIPE_SECRET_KEY: TEST_API_KEY };
let tables: TestTables;
let emulator: StripeEmulator;
let now: number;

const monthly = (id: string, amount: number): SubscriptionSeed =>
  monthlySeed(id, new Date(now - 2 * HOUR), { amount });

beforeEach(async () => {
  now = Date.now();
  [tables, emulator] = await Promise.all([createTestTables("cli-reconcile"), startStripeEmulator()]);
  await seedSubscriptions(tables.doc, tables.names, stripeClient(TEST_API_KEY, emulator.url), [
    monthly("sub_a", 1000),
    monthly("sub_b", 2000),
    monthly("sub_c", 3000),
  ]);
  const report = await startContender(tables, emulator.url, {
    runId: "paid",
    asOf: new Date(now).toISOString(),
  }).report;
  expect(report.tally.succeeded).toBe(3);
});
afterEach(async () => {
  await emulator?.stop();
});

function window(): string[] {
  return ["--from", new Date(now - HOUR).toISOString(), "--to", new Date(now + HOUR).toISOString()];
}

async function reconcile(extra: string[] = []) {
  return ops(["reconcile", ...window(), ...localFlags(tables, emulator.url), ...extra], ENV);
}

async function charge(subscriptionId: string): Promise<Record<string, unknown>> {
  const sub = await subscription(subscriptionId);
  const out = await tables.doc.send(
    new GetCommand({
      TableName: tables.names.charges,
      Key: { subscriptionId, periodStart: String(sub.lastPaidPeriod) },
      ConsistentRead: true,
    }),
  );
  return out.Item!;
}

async function subscription(subscriptionId: string): Promise<Record<string, unknown>> {
  const out = await tables.doc.send(
    new GetCommand({ TableName: tables.names.subscriptions, Key: { subscriptionId }, ConsistentRead: true }),
  );
  return out.Item!;
}

describe("ops reconcile", () => {
  it("a clean book: every ledger charge matches one Stripe charge; exit 0", async () => {
    const result = await reconcile();
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("ledger 3 succeeded, Stripe 3 succeeded (ours), 3 matched");
    expect(result.stdout).toContain("No mismatches");
    const report = json<ReconcileReport>(await reconcile(["--json"]));
    expect(report).toMatchObject({ ledgerSucceeded: 3, stripeSucceeded: 3, matched: 3, mismatches: [] });
  });

  it("a ledger record deleted: the Stripe charge is missing in the ledger; exit 1", async () => {
    const record = await charge("sub_a");
    await tables.doc.send(
      new DeleteCommand({
        TableName: tables.names.charges,
        Key: { subscriptionId: "sub_a", periodStart: record.periodStart },
      }),
    );
    const result = await reconcile(["--json"]);
    expect(result.code).toBe(1);
    expect(json<ReconcileReport>(result).mismatches).toEqual([
      expect.objectContaining({
        kind: "missing-in-ledger",
        subscriptionId: "sub_a",
        periodStart: record.periodStart,
        paymentIntentId: record.paymentIntentId,
        ledger: "no record",
      }),
    ]);
    const text = await reconcile();
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/missing-in-ledger\s+sub_a\s/);
  });

  it("a PaymentIntent created and confirmed at Stripe behind the ledger's back is reported", async () => {
    const sub = await subscription("sub_b");
    const stripe = stripeClient(TEST_API_KEY, emulator.url);
    const chargeDirectly = async (amount: number, metadata: Record<string, string>) => {
      const created = await stripe.paymentIntents.create({
        amount,
        currency: "usd",
        customer: String(sub.customerId),
        payment_method: String(sub.paymentMethodId),
        automatic_payment_methods: { enabled: true, allow_redirects: "never" },
        metadata,
      });
      return stripe.paymentIntents.confirm(created.id, { off_session: true });
    };
    const pi = await chargeDirectly(2000, {
      subscription_id: "sub_b",
      period_start: String(sub.nextPeriodStart),
      source: "lease-billing",
    });
    expect(pi.status).toBe("succeeded");
    // And one that is no renewal of ours (no metadata): ignored, not a mismatch.
    expect((await chargeDirectly(500, {})).status).toBe("succeeded");
    const result = await reconcile(["--json"]);
    expect(result.code).toBe(1);
    const report = json<ReconcileReport>(result);
    expect(report.stripeIgnored).toBe(1);
    expect(report.mismatches).toEqual([
      expect.objectContaining({
        kind: "missing-in-ledger",
        subscriptionId: "sub_b",
        periodStart: sub.nextPeriodStart,
        paymentIntentId: pi.id,
      }),
    ]);
  });

  it("ledger charges Stripe does not have, or that never succeeded there, are missing at Stripe", async () => {
    const base = await charge("sub_c");
    const forged = (subscriptionId: string, paymentIntentId: string) =>
      tables.doc.send(
        new PutCommand({
          TableName: tables.names.charges,
          Item: {
            ...base,
            subscriptionId,
            paymentIntentId,
            settledAt: new Date(now).toISOString(),
          },
        }),
      );
    await forged("sub_ghost", "pi_does_not_exist");
    const sub = await subscription("sub_c");
    const unconfirmed = await stripeClient(TEST_API_KEY, emulator.url).paymentIntents.create({
      amount: 3000,
      currency: "usd",
      customer: String(sub.customerId),
      payment_method: String(sub.paymentMethodId),
      automatic_payment_methods: { enabled: true, allow_redirects: "never" },
      metadata: { subscription_id: "sub_unconfirmed", period_start: String(base.periodStart) },
    });
    await forged("sub_unconfirmed", unconfirmed.id);

    const result = await reconcile(["--json"]);
    expect(result.code).toBe(1);
    const kinds = json<ReconcileReport>(result).mismatches.map((m) => [m.kind, m.subscriptionId]);
    expect(kinds).toEqual(
      expect.arrayContaining([
        ["missing-at-stripe", "sub_ghost"],
        ["not-succeeded-at-stripe", "sub_unconfirmed"],
      ]),
    );
    expect(kinds).toHaveLength(2);
  });

  it("a refund and an amount that differs are mismatches too", async () => {
    const refunded = await charge("sub_a");
    await stripeClient(TEST_API_KEY, emulator.url).refunds.create({
      payment_intent: String(refunded.paymentIntentId),
      amount: 400,
    });
    const changed = await charge("sub_b");
    await tables.doc.send(
      new UpdateCommand({
        TableName: tables.names.charges,
        Key: { subscriptionId: "sub_b", periodStart: changed.periodStart },
        UpdateExpression: "SET amount = :a",
        ExpressionAttributeValues: { ":a": 2500 },
      }),
    );
    const result = await reconcile(["--json"]);
    expect(result.code).toBe(1);
    const mismatches = json<ReconcileReport>(result).mismatches;
    expect(mismatches).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: "refunded",
          subscriptionId: "sub_a",
          detail: expect.stringContaining("partly refunded"),
        }),
        expect.objectContaining({
          kind: "amount-differs",
          subscriptionId: "sub_b",
          detail: "ledger 2500, Stripe 2000",
        }),
      ]),
    );
    expect(mismatches).toHaveLength(2);
  });

  it("times on either side of the window's edges are looked up, not reported", async () => {
    // Settled (by the ledger's clock) long before the window, its PaymentIntent created inside it.
    const early = await charge("sub_a");
    await tables.doc.send(
      new UpdateCommand({
        TableName: tables.names.charges,
        Key: { subscriptionId: "sub_a", periodStart: early.periodStart },
        UpdateExpression: "SET settledAt = :t",
        ExpressionAttributeValues: { ":t": new Date(now - 3 * 24 * HOUR).toISOString() },
      }),
    );
    const result = await reconcile(["--json"]);
    expect(result.code).toBe(0);
    expect(json<ReconcileReport>(result)).toMatchObject({
      ledgerSucceeded: 2,
      stripeSucceeded: 3,
      matched: 3,
    });

    // A window after every PaymentIntent was created, holding one ledger record settled late.
    const late = await charge("sub_b");
    await tables.doc.send(
      new UpdateCommand({
        TableName: tables.names.charges,
        Key: { subscriptionId: "sub_b", periodStart: late.periodStart },
        UpdateExpression: "SET settledAt = :t",
        ExpressionAttributeValues: { ":t": new Date(now + 2 * HOUR).toISOString() },
      }),
    );
    const after = await ops(
      [
        "reconcile",
        "--from",
        new Date(now + HOUR).toISOString(),
        "--to",
        new Date(now + 3 * HOUR).toISOString(),
        "--json",
        ...localFlags(tables, emulator.url),
      ],
      ENV,
    );
    expect(after.code).toBe(0);
    expect(json<ReconcileReport>(after)).toMatchObject({
      ledgerSucceeded: 1,
      stripeSucceeded: 0,
      matched: 1,
    });
  });
});
