/**
 * Invariant 7 (docs/design.md): every card attempt Stripe executes was decided by the period's leader at
 * the time it was sent, and at the end every PaymentIntent of the job is the ledger's for its period or
 * canceled. On DynamoDB Local and the emulator over HTTP, counting attempts from the emulator's own log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStripeEmulator, type StripeEmulator } from "../../dev/stripe-emulator";
import { seedSubscriptions, stripeClient, type SubscriptionSeed, type TestCard } from "../../dev/seed";
import { createBillingJob } from "../../functions/handler/billing-job";
import { renewalMetadata, type PaymentGateway } from "../../functions/core/payments/payment-gateway";
import { createTestTables, type TestTables } from "../support/dynamo";
import { delegate, FAST_LEASE, startContender, testConfig, TEST_API_KEY } from "../support/billing";
import { systemClock, type Clock } from "../../functions/core/clock";

const DAY = 86_400_000;
let tables: TestTables;
let emulator: StripeEmulator;

beforeAll(async () => {
  [tables, emulator] = await Promise.all([createTestTables("attempts"), startStripeEmulator()]);
});
afterAll(async () => {
  await emulator?.stop();
});

function due(subscriptionId: string, card: TestCard): SubscriptionSeed {
  const start = new Date(Date.now() - DAY);
  return {
    subscriptionId,
    shard: 0,
    card,
    amount: 2500,
    currency: "usd",
    interval: "month",
    anchorDay: start.getUTCDate(),
    nextPeriodStart: start.toISOString(),
  };
}

function cardAttempts(paymentIntent: string): number {
  return emulator.requestLog().entries.filter((e) => e.paymentIntent === paymentIntent && e.cardAttempt)
    .length;
}

function intentsOf(subscriptionId: string) {
  return emulator.snapshot().paymentIntents.filter((pi) => pi.metadata.subscription_id === subscriptionId);
}

describe("a leader whose lease is taken while its confirmation waits to be sent", () => {
  it("sends nothing when it wakes: the successor's decision is the only attempt on the card", async () => {
    await seedSubscriptions(tables.doc, tables.names, stripeClient(TEST_API_KEY, emulator.url), [
      due("paused_decline", "declines"),
    ]);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reachedConfirm!: () => void;
    const atConfirm = new Promise<void>((resolve) => (reachedConfirm = resolve));
    // The zombie's confirmation is held as if its process were frozen just before sending it.
    const frozenBeforeConfirm = (inner: PaymentGateway): PaymentGateway => ({
      ...delegate(inner),
      confirmPaymentIntent: async (...args) => {
        reachedConfirm();
        await held;
        return inner.confirmPaymentIntent(...args);
      },
    });
    const asOf = new Date().toISOString();
    // A frozen process wakes to a wall clock that moved on: its lease ran out while it slept.
    let slept = 0;
    const zombieClock: Clock = {
      now: () => Date.now() + slept,
      sleep: (ms, signal) => systemClock.sleep(ms, signal),
    };
    const zombie = startContender(
      tables,
      emulator.url,
      { runId: "scheduled:paused", asOf },
      { wrapGateway: frozenBeforeConfirm, clock: zombieClock },
    );
    await atConfirm;
    // An operator (or the lease running out while frozen) gives the shard to someone else.
    await createBillingJob(testConfig(tables, emulator.url)).lease.forceRelease(
      "billing/shard-0",
      "operator",
    );
    const successor = await startContender(tables, emulator.url, { runId: "scheduled:paused", asOf }).report;
    expect(successor.tally.declined).toBe(1);
    slept = FAST_LEASE.leaseDurationMs! + 1;
    release();
    await zombie.report;

    const [intent, ...others] = intentsOf("paused_decline");
    expect(others).toEqual([]);
    expect(intent!.status).toBe("canceled"); // canceled before the decline was recorded
    expect(cardAttempts(intent!.id)).toBe(1);
    const confirms = emulator
      .requestLog()
      .entries.filter((e) => e.paymentIntent === intent!.id && e.route.endsWith("/confirm"));
    expect(confirms).toHaveLength(1);
  });
});

describe("the sweep of stray PaymentIntents", () => {
  it("cancels the job's PaymentIntent that is not the ledger's for its period, and nothing else", async () => {
    await seedSubscriptions(tables.doc, tables.names, stripeClient(TEST_API_KEY, emulator.url), [
      due("swept_paid", "succeeds"),
    ]);
    await startContender(tables, emulator.url, { runId: "scheduled:first", asOf: new Date().toISOString() })
      .report;
    const [paid] = intentsOf("swept_paid");
    expect(paid?.status).toBe("succeeded");

    // A late create from a paused process whose key Stripe had pruned: a second PaymentIntent.
    const stripe = stripeClient(TEST_API_KEY, emulator.url);
    const late = await stripe.paymentIntents.create({
      amount: paid!.amount,
      currency: paid!.currency,
      customer: String(paid!.customer),
      payment_method: String(paid!.payment_method),
      metadata: renewalMetadata("swept_paid", String(paid!.metadata.period_start), 0),
    });
    expect(late.status).toBe("requires_confirmation");

    const next = startContender(tables, emulator.url, {
      runId: "scheduled:next",
      asOf: new Date().toISOString(),
    });
    await next.report;
    expect(next.events.find((e) => e.type === "sweep")).toMatchObject({ strayPaymentIntentsCanceled: 1 });
    const statuses = Object.fromEntries(intentsOf("swept_paid").map((pi) => [pi.id, pi.status]));
    expect(statuses).toEqual({ [paid!.id]: "succeeded", [late.id]: "canceled" });
    expect(cardAttempts(late.id)).toBe(0);
  });
});
