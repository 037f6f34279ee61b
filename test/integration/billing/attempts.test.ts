/**
 * Invariant 7 (docs/design.md): every card attempt Stripe executes was decided by the period's leader at
 * the time it was sent, and at the end every PaymentIntent of the job is the ledger's for its period or
 * canceled. On DynamoDB Local and the emulator over HTTP, counting attempts from the emulator's own log.
 */
import { describe, expect, it, vi } from "vitest";
import type { StripeEmulator } from "../../../dev/stripe-emulator";
import { monthlySeed, stripeClient, type SubscriptionSeed, type TestCard } from "../../../dev/seed";
import { createBillingJob } from "../../../functions/handler/billing-job";
import { renewalMetadata, type PaymentGateway } from "../../../functions/core/payments/payment-gateway";
import type { TestTables } from "../../support/dynamo";
import { useTablesAndEmulator } from "../../support/emulator";
import { cardAttempts, intentsOf } from "../../support/stripe-record";
import { seedWithTestKey } from "../../support/seeding";
import { delegate, FAST_LEASE, startContender, testConfig, TEST_API_KEY } from "../../support/billing";
import { systemClock, type Clock } from "../../../functions/core/clock";

const DAY = 86_400_000;
let tables: TestTables;
let emulator: StripeEmulator;

useTablesAndEmulator("attempts", (started) => ({ tables, emulator } = started));

function due(subscriptionId: string, card: TestCard): SubscriptionSeed {
  return monthlySeed(subscriptionId, new Date(Date.now() - DAY), { card, amount: 2500 });
}

/** A create of the period's first generation arriving late (its key pruned): a second PaymentIntent. */
function lateCreate(subscriptionId: string) {
  const [paid] = intentsOf(emulator, subscriptionId);
  return stripeClient(TEST_API_KEY, emulator.url).paymentIntents.create({
    amount: paid!.amount,
    currency: paid!.currency,
    customer: String(paid!.customer),
    payment_method: String(paid!.payment_method),
    metadata: renewalMetadata(subscriptionId, String(paid!.metadata.period_start), 0),
  });
}

describe("a leader whose lease is taken while its confirmation waits to be sent", () => {
  it("sends nothing when it wakes: the successor's decision is the only attempt on the card", async () => {
    await seedWithTestKey(tables, emulator.url, [due("paused_decline", "declines")]);
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

    const [intent, ...others] = intentsOf(emulator, "paused_decline");
    expect(others).toEqual([]);
    expect(intent!.status).toBe("canceled"); // canceled before the decline was recorded
    expect(cardAttempts(emulator, intent!.id)).toBe(1);
    const confirms = emulator
      .requestLog()
      .entries.filter((e) => e.paymentIntent === intent!.id && e.route.endsWith("/confirm"));
    expect(confirms).toHaveLength(1);
  });
});

describe("a confirmation sent in time that Stripe runs only after its sender gave up and released the lease", () => {
  it("is the leader's one attempt: the next leader settles it from Stripe and tries the card no more", async () => {
    await seedWithTestKey(tables, emulator.url, [due("slow_decline", "declines")]);
    // Stripe is slow only while the first confirmation is on its way: longer than the sender's timeout
    // and than the rest of its run, as a request the client stopped waiting for can still run at Stripe.
    const slowConfirm = (inner: PaymentGateway): PaymentGateway => ({
      ...delegate(inner),
      confirmPaymentIntent: async (...args) => {
        emulator.setFaults({ latencyMs: 8_000 });
        try {
          return await inner.confirmPaymentIntent(...args);
        } finally {
          emulator.setFaults({});
        }
      },
    });
    const asOf = new Date().toISOString();
    const first = await startContender(
      tables,
      emulator.url,
      { runId: "scheduled:slow", asOf },
      { wrapGateway: slowConfirm, timeoutMs: 300 },
    ).report;
    const released = Date.now();
    expect(first.tally.in_doubt).toBe(1);

    const [intent, ...others] = intentsOf(emulator, "slow_decline");
    expect(others).toEqual([]);
    const executed = () =>
      emulator.requestLog().entries.find((e) => e.paymentIntent === intent!.id && e.cardAttempt);
    await vi.waitFor(() => expect(executed()).toBeDefined(), { timeout: 15_000, interval: 100 });
    // Sent while the first contender led; run by Stripe after that contender had released the shard.
    expect(executed()!.sentAt).toBeLessThan(released);
    expect(executed()!.at).toBeGreaterThan(released);

    const next = await startContender(tables, emulator.url, {
      runId: "scheduled:after",
      asOf: new Date().toISOString(),
    }).report;
    expect(next.tally.declined).toBe(1);
    expect(intentsOf(emulator, "slow_decline").map((pi) => [pi.id, pi.status])).toEqual([
      [intent!.id, "canceled"],
    ]);
    expect(cardAttempts(emulator, intent!.id)).toBe(1);
  });
});

describe("the sweep of stray PaymentIntents", () => {
  it.each([
    ["at once", "swept_paid", 0],
    ["after Stripe's clock moved a day on (past the key window)", "swept_late", 28 * 3_600_000],
  ])(
    "cancels the job's PaymentIntent that is not the ledger's for its period, and nothing else: a late create %s",
    async (_when, subscriptionId, clockJumpMs) => {
      await seedWithTestKey(tables, emulator.url, [due(subscriptionId, "succeeds")]);
      await startContender(tables, emulator.url, {
        runId: "scheduled:first",
        asOf: new Date().toISOString(),
      }).report;
      const [paid] = intentsOf(emulator, subscriptionId);
      expect(paid?.status).toBe("succeeded");

      emulator.advanceClock(clockJumpMs);
      // A late create from a paused process whose key Stripe had pruned: a second PaymentIntent.
      const late = await lateCreate(subscriptionId);
      expect(late.status).toBe("requires_confirmation");

      const next = startContender(tables, emulator.url, {
        runId: "scheduled:next",
        asOf: new Date().toISOString(),
      });
      await next.report;
      expect(next.events.find((e) => e.type === "sweep")).toMatchObject({ strayPaymentIntentsCanceled: 1 });
      const statuses = Object.fromEntries(
        intentsOf(emulator, subscriptionId).map((pi) => [pi.id, pi.status]),
      );
      expect(statuses).toEqual({ [paid!.id]: "succeeded", [late.id]: "canceled" });
      expect(cardAttempts(emulator, late.id)).toBe(0);
    },
  );

  it("leaves a stray made after the last sweep to the next run with a later asOf: one at the same instant has nothing to do", async () => {
    const subscriptionId = "swept_next";
    await seedWithTestKey(tables, emulator.url, [due(subscriptionId, "succeeds")]);
    const asOf = new Date().toISOString();
    await startContender(tables, emulator.url, { runId: "scheduled:a", asOf }).report;
    const late = await lateCreate(subscriptionId);

    // A tick at the same instant (EventBridge's time has whole seconds): the lease's last run finished
    // everything due then, so it stands by and leaves, and no sweep runs.
    const same = startContender(tables, emulator.url, { runId: "scheduled:b", asOf });
    await same.report;
    expect(same.events.map((e) => e.type)).not.toContain("sweep");
    expect(same.events.filter((e) => e.type === "standby-exit")).not.toHaveLength(0);
    expect(intentsOf(emulator, subscriptionId).find((pi) => pi.id === late.id)?.status).toBe(
      "requires_confirmation",
    );

    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(Date.parse(asOf)));
    const next = startContender(tables, emulator.url, {
      runId: "scheduled:c",
      asOf: new Date().toISOString(),
    });
    await next.report;
    expect(next.events.find((e) => e.type === "sweep")).toMatchObject({ strayPaymentIntentsCanceled: 1 });
    expect(intentsOf(emulator, subscriptionId).find((pi) => pi.id === late.id)?.status).toBe("canceled");
  });
});
