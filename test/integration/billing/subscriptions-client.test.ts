/**
 * The subscription client (functions/client) on DynamoDB Local, with leaders running the real billing run
 * against the Stripe emulator over HTTP.
 *
 * Each operation on its own, then changes that land while a leader is charging the subscription, the
 * confirmation held at the emulator (its `hold` fault) so the change lands mid-charge. What they protect:
 * invariant 1 (docs/design.md#invariant-1: each period charged at most once) and invariant 2 (nothing due
 * dropped in silence), and the client's promise: a change racing a leader is neither lost nor half
 * applied. A charge in flight keeps the amount and card frozen at its claim; the next period's claim
 * reads the new ones; a status change waits for the charge to settle (a typed conflict, nothing written).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { startStripeEmulator, type StripeEmulator } from "../../../dev/stripe-emulator";
import { stripeClient } from "../../../dev/seed";
import { checkInvariants, fetchProviderRecord } from "../../../dev/invariants";
import { SubscriptionsClient } from "../../../functions/client/subscriptions-client";
import { nextPeriodStart } from "../../../functions/core/billing/calendar";
import { skewedClock, systemClock } from "../../../functions/core/clock";
import type { ChargeLedger } from "../../../functions/core/billing-run/ports";
import { chargeRecords, createTestTables, type TestTables } from "../../support/dynamo";
import { startContender, TEST_API_KEY } from "../../support/billing";
import { intentsOf } from "../../support/stripe-record";

const DAY = 86_400_000;
let tables: TestTables;
let emulator: StripeEmulator;
let client: SubscriptionsClient;
let sequence = 0;

beforeAll(async () => {
  emulator = await startStripeEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});
// Tables of its own for each test: a run on a clock moved to a retry's time leaves a lease that says
// everything due up to then is done, which a run on today's clock must not meet.
beforeEach(async () => {
  tables = await createTestTables("client");
  client = new SubscriptionsClient({ doc: tables.doc, tables: tables.names, shardCount: 1 });
  emulator.setFaults({});
});

/** A customer at the emulator with cards saved on it, by test card id. */
async function customerWith(...cards: string[]): Promise<{ customerId: string; cards: string[] }> {
  const stripe = stripeClient(TEST_API_KEY, emulator.url);
  const customer = await stripe.customers.create({});
  const saved: string[] = [];
  for (const card of cards)
    saved.push((await stripe.paymentMethods.attach(card, { customer: customer.id })).id);
  return { customerId: customer.id, cards: saved };
}

/** A monthly subscription's input, its first period `monthsAgo` months back (to the second), on its day. */
function monthly(customerId: string, paymentMethodId: string, monthsAgo: number, amount = 1200) {
  const now = new Date();
  const start = new Date(
    Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - monthsAgo, Math.min(now.getUTCDate(), 28), 0, 0, 0),
  );
  if (start.getTime() > now.getTime()) start.setUTCMonth(start.getUTCMonth() - 1);
  return {
    subscriptionId: `sub_client_${++sequence}`,
    customerId,
    paymentMethodId,
    amount,
    currency: "usd",
    interval: "month" as const,
    nextPeriodStart: start.toISOString(),
  };
}

async function stored(id: string) {
  const out = await tables.doc.send(
    new GetCommand({
      TableName: tables.names.subscriptions,
      Key: { subscriptionId: id },
      ConsistentRead: true,
    }),
  );
  return out.Item;
}

const charges = (id: string) => chargeRecords(tables, id);

async function untilHeld(): Promise<void> {
  while (emulator.heldRequests().length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe("each operation", () => {
  it("create computes the index fields; an id taken is a conflict that overwrites nothing", async () => {
    const input = monthly("cus_x", "pm_card_visa", 0);
    const created = await client.create(input);
    expect(created).toMatchObject({ kind: "created", subscription: { status: "active", revision: 1 } });
    expect(await stored(input.subscriptionId)).toMatchObject({
      ...input,
      shard: 0,
      dueShard: "shard-0",
      nextAttemptAt: input.nextPeriodStart,
      anchorDay: Number(input.nextPeriodStart.slice(8, 10)),
      revision: 1,
    });
    const again = await client.create({ ...input, amount: 9900 });
    expect(again).toMatchObject({ kind: "conflict", reason: "exists", current: { amount: 1200 } });
    expect((await stored(input.subscriptionId))?.amount).toBe(1200);
    expect(await client.create({ ...input, subscriptionId: "sub_bad", currency: "xyz", shard: 1 })).toEqual({
      kind: "invalid",
      problems: [
        { field: "shard", reason: "shard 1 is billed by no run: SHARD_COUNT is 1 (shards 0 to 0)" },
        { field: "currency", reason: 'currency "xyz" is not a supported lowercase ISO code' },
      ],
    });
    expect(await stored("sub_bad")).toBeUndefined();
  });

  it("get, change price, card and calendar: each one conditional write, revision by revision", async () => {
    const input = monthly("cus_x", "pm_card_visa", 0);
    await client.create(input);
    expect(await client.get(input.subscriptionId)).toMatchObject({ kind: "found", subscription: input });
    expect(await client.get("sub_nobody")).toEqual({ kind: "not-found", subscriptionId: "sub_nobody" });

    expect(await client.changePlan(input.subscriptionId, { amount: 1500 })).toMatchObject({
      kind: "changed",
      subscription: { amount: 1500, revision: 2 },
    });
    expect(await client.changePlan(input.subscriptionId, { amount: 1500 })).toMatchObject({
      kind: "unchanged",
    });
    expect(await client.changePaymentMethod(input.subscriptionId, "pm_card_mastercard")).toMatchObject({
      kind: "changed",
      subscription: { paymentMethodId: "pm_card_mastercard", revision: 3 },
    });
    expect(await client.changePaymentMethod(input.subscriptionId, "card_1")).toMatchObject({
      kind: "invalid",
      problems: [{ field: "paymentMethodId" }],
    });
    expect(await client.changePlan(input.subscriptionId, { amount: 10 })).toMatchObject({
      kind: "invalid",
      problems: [{ field: "amount", reason: "amount $0.10 is below Stripe's minimum charge of $0.50" }],
    });
    // A yearly calendar on 31 December: the next period starts on the new anchor, not before the old one.
    const yearly = await client.changePlan(input.subscriptionId, {
      interval: "year",
      anchorDay: 31,
      anchorMonth: 12,
    });
    expect(yearly.kind).toBe("changed");
    const after = await stored(input.subscriptionId);
    expect(after).toMatchObject({
      interval: "year",
      anchorDay: 31,
      anchorMonth: 12,
      amount: 1500,
      revision: 4,
    });
    expect(after!.nextPeriodStart >= input.nextPeriodStart).toBe(true);
    expect(after!.nextPeriodStart.slice(5, 10)).toBe("12-31");
    expect(after!.nextAttemptAt).toBe(after!.nextPeriodStart);
  });

  it("pause, resume and cancel move the subscription in and out of the due index", async () => {
    const input = monthly("cus_x", "pm_card_visa", 3);
    await client.create(input);
    expect(await client.pause(input.subscriptionId)).toMatchObject({
      kind: "changed",
      subscription: { status: "paused" },
    });
    expect(await stored(input.subscriptionId)).not.toHaveProperty("dueShard");
    expect(await client.pause(input.subscriptionId)).toMatchObject({ kind: "unchanged" });

    // By default, the periods that started while paused are not billed: the next one is the first ahead.
    const resumed = await client.resume(input.subscriptionId);
    expect(resumed).toMatchObject({
      kind: "changed",
      subscription: { status: "active", dueShard: "shard-0" },
    });
    const start = (await stored(input.subscriptionId))!.nextPeriodStart as string;
    expect(start > new Date().toISOString()).toBe(true);
    expect(Date.parse(start) - Date.now()).toBeLessThanOrEqual(31 * DAY);

    // billMissedPeriods keeps the period it was paused at: catch-up bills them all.
    const other = monthly("cus_x", "pm_card_visa", 3);
    await client.create({ ...other, status: "paused" });
    await client.resume(other.subscriptionId, { billMissedPeriods: true });
    expect((await stored(other.subscriptionId))!.nextPeriodStart).toBe(other.nextPeriodStart);

    expect(await client.cancel(input.subscriptionId)).toMatchObject({
      kind: "changed",
      subscription: { status: "canceled" },
    });
    expect(await client.cancel(input.subscriptionId)).toMatchObject({ kind: "unchanged" });
    expect(await client.resume(input.subscriptionId)).toMatchObject({
      kind: "invalid",
      problems: [
        {
          field: "status",
          reason: expect.stringMatching(
            /^only a paused subscription can be resumed; this one is canceled \(/,
          ),
        },
      ],
    });
    expect(await client.pause(input.subscriptionId)).toEqual({
      kind: "invalid",
      problems: [
        { field: "status", reason: "only an active subscription can be paused; this one is canceled" },
      ],
    });
    expect(await client.pause("sub_nobody")).toEqual({ kind: "not-found", subscriptionId: "sub_nobody" });
  });

  it("a stored record the run would quarantine is shown as such and not changed", async () => {
    const input = monthly("cus_x", "pm_card_visa", 0);
    await client.create(input);
    const broken = { ...(await stored(input.subscriptionId)), amount: "1200" };
    await tables.doc.send(new PutCommand({ TableName: tables.names.subscriptions, Item: broken }));
    const problems = [
      { field: "amount", reason: 'amount must be a number of minor units, got string "1200"' },
    ];
    expect(await client.get(input.subscriptionId)).toMatchObject({ kind: "invalid", problems });
    expect(await client.cancel(input.subscriptionId)).toMatchObject({ kind: "invalid", problems });
    expect(await stored(input.subscriptionId)).toEqual(broken);
  });

  it("two clients changing one subscription at once: both changes land, neither is lost", async () => {
    const input = monthly("cus_x", "pm_card_visa", 0);
    await client.create(input);
    const other = new SubscriptionsClient({
      doc: tables.doc,
      tables: tables.names,
      shardCount: 1,
      attempts: 10,
    });
    const mine = new SubscriptionsClient({
      doc: tables.doc,
      tables: tables.names,
      shardCount: 1,
      attempts: 10,
    });
    const results = await Promise.all([
      mine.changePlan(input.subscriptionId, { amount: 4200 }),
      other.changePaymentMethod(input.subscriptionId, "pm_card_mastercard"),
    ]);
    expect(results.map((r) => r.kind)).toEqual(["changed", "changed"]);
    expect(await stored(input.subscriptionId)).toMatchObject({
      amount: 4200,
      paymentMethodId: "pm_card_mastercard",
      revision: 3,
    });
  });
});

describe("changes that land while a leader is charging the subscription", () => {
  it("price and card: the charge in flight keeps its own, the next period's claim takes the new ones", async () => {
    const { customerId, cards } = await customerWith("pm_card_visa", "pm_card_mastercard");
    const [cardA, cardB] = cards as [string, string];
    // Two periods due (one missed): the leader bills the first, then the second, in one run.
    const input = monthly(customerId, cardA, 1);
    await client.create(input);
    const first = input.nextPeriodStart;
    const second = nextPeriodStart(first, "month", Number(first.slice(8, 10)));

    emulator.injectNext({ kind: "hold", path: "^/v1/payment_intents/[^/]+/confirm$" });
    const asOf = new Date().toISOString();
    const leader = startContender(
      tables,
      emulator.url,
      { runId: "client:mid-charge", asOf },
      { timeoutMs: 10_000 },
    );
    await untilHeld(); // the first period's confirmation has reached Stripe and waits there

    expect(await client.changePlan(input.subscriptionId, { amount: 2500 })).toMatchObject({
      kind: "changed",
    });
    expect(await client.changePaymentMethod(input.subscriptionId, cardB)).toMatchObject({ kind: "changed" });
    // Status and calendar changes wait for the charge: refused, nothing written.
    for (const refused of [
      await client.pause(input.subscriptionId),
      await client.cancel(input.subscriptionId),
      await client.changePlan(input.subscriptionId, { anchorDay: 1 }),
    ]) {
      expect(refused).toMatchObject({
        kind: "conflict",
        reason: "charge-in-flight",
        periodStart: first,
        chargeState: "pending",
      });
    }
    expect(emulator.releaseHeld()).toBe(1);
    const report = await leader.report;
    expect(report.tally).toMatchObject({ succeeded: 2 });

    const [p1, p2] = (await charges(input.subscriptionId)).sort((a, b) =>
      a.periodStart.localeCompare(b.periodStart),
    );
    expect(p1).toMatchObject({
      periodStart: first,
      state: "succeeded",
      amount: 1200,
      paymentMethodId: cardA,
    });
    expect(p2).toMatchObject({
      periodStart: second,
      state: "succeeded",
      amount: 2500,
      paymentMethodId: cardB,
    });
    const intents = intentsOf(emulator, input.subscriptionId);
    expect(intents.map((pi) => [pi.amount, pi.payment_method, pi.status])).toEqual([
      [1200, cardA, "succeeded"],
      [2500, cardB, "succeeded"],
    ]);
    // Neither the client's changes nor the leader's advance was lost.
    expect(await stored(input.subscriptionId)).toMatchObject({
      amount: 2500,
      paymentMethodId: cardB,
      status: "active",
      revision: 3,
      lastPaidPeriod: second,
      nextPeriodStart: nextPeriodStart(second, "month", Number(first.slice(8, 10))),
    });
    const invariants = await checkInvariants(
      tables.doc,
      tables.names,
      await fetchProviderRecord(emulator.url),
      asOf,
    );
    expect(invariants.violations).toEqual([]);

    // Settled: the pause refused a moment ago goes through now.
    expect(await client.pause(input.subscriptionId)).toMatchObject({ kind: "changed" });
  });

  it("a pause that lands before the leader's claim: the leader skips it, nothing is sent to Stripe", async () => {
    const { customerId, cards } = await customerWith("pm_card_visa");
    const input = monthly(customerId, cards[0]!, 0);
    await client.create(input);
    // The leader has read the subscription as due; the pause lands just before its claim is written.
    const pauseBeforeClaim = (ledger: ChargeLedger): ChargeLedger => ({
      getCharge: (id, period) => ledger.getCharge(id, period),
      quarantineSubscription: (...args) => ledger.quarantineSubscription(...args),
      saveCharge: async (token, next, expected, change) => {
        if (expected === null && next.subscriptionId === input.subscriptionId) {
          expect(await client.pause(input.subscriptionId)).toMatchObject({ kind: "changed" });
        }
        return ledger.saveCharge(token, next, expected, change);
      },
    });
    const asOf = new Date().toISOString();
    const report = await startContender(
      tables,
      emulator.url,
      { runId: "client:pause-before-claim", asOf, subscriptionIds: [input.subscriptionId] },
      { wrapLedger: pauseBeforeClaim },
    ).report;
    expect(report.tally).toMatchObject({ succeeded: 0, skipped: 1 });
    expect(await charges(input.subscriptionId)).toEqual([]);
    expect(intentsOf(emulator, input.subscriptionId)).toEqual([]);
    expect(await stored(input.subscriptionId)).toMatchObject({ status: "paused" });
  });

  it("paused during dunning: no retry while paused; resuming keeps the declined period, never skips it", async () => {
    const { customerId, cards } = await customerWith("pm_card_visa");
    const input = monthly(customerId, "pm_card_chargeCustomerFail", 0);
    await client.create(input);
    const asOf = new Date().toISOString();
    expect(
      (await startContender(tables, emulator.url, { runId: "dunning:1", asOf }).report).tally,
    ).toMatchObject({
      declined: 1,
    });
    const [declined] = await charges(input.subscriptionId);
    expect(await client.pause(input.subscriptionId)).toMatchObject({ kind: "changed" });

    // At the retry's time, a paused subscription is not retried.
    const retryAt = declined!.retryAt as string;
    const clock = skewedClock(systemClock, Date.parse(retryAt) - Date.now() + 1000);
    const later = new Date(clock.now()).toISOString();
    const whilePaused = await startContender(
      tables,
      emulator.url,
      { runId: "dunning:2", asOf: later },
      { clock },
    ).report;
    expect(whilePaused.tally).toMatchObject({ succeeded: 0, declined: 0 });
    expect(await charges(input.subscriptionId)).toEqual([declined]);

    // A resume that would skip the declined period is refused; with billMissedPeriods it resumes there.
    const clockClient = new SubscriptionsClient({
      doc: tables.doc,
      tables: tables.names,
      shardCount: 1,
      clock,
    });
    await clockClient.changePaymentMethod(input.subscriptionId, cards[0]!);
    expect(await clockClient.resume(input.subscriptionId)).toMatchObject({
      kind: "conflict",
      reason: "period-has-charge",
      periodStart: input.nextPeriodStart,
      chargeState: "declined",
    });
    expect(await clockClient.resume(input.subscriptionId, { billMissedPeriods: true })).toMatchObject({
      kind: "changed",
      subscription: { status: "active", nextPeriodStart: input.nextPeriodStart },
    });
    const resumedAsOf = new Date(clock.now()).toISOString();
    const resumed = await startContender(
      tables,
      emulator.url,
      { runId: "dunning:3", asOf: resumedAsOf },
      { clock },
    ).report;
    expect(resumed.tally).toMatchObject({ succeeded: 1 });
    const [settled] = await charges(input.subscriptionId);
    expect(settled).toMatchObject({ state: "succeeded", paymentMethodId: cards[0], amount: 1200 });
  });

  it("a card changed during dunning: the retry is a new PaymentIntent on the new card, same amount", async () => {
    const { customerId, cards } = await customerWith("pm_card_visa");
    const input = monthly(customerId, "pm_card_chargeCustomerFail", 0);
    await client.create(input);
    const asOf = new Date().toISOString();
    const declined = await startContender(tables, emulator.url, { runId: "client:decline", asOf }).report;
    expect(declined.tally).toMatchObject({ declined: 1 });
    const [record] = await charges(input.subscriptionId);
    expect(record).toMatchObject({ state: "declined", retryAt: expect.any(String) });

    expect(await client.changePaymentMethod(input.subscriptionId, cards[0]!)).toMatchObject({
      kind: "changed",
    });
    expect(await client.changePlan(input.subscriptionId, { amount: 9900 })).toMatchObject({
      kind: "changed",
    });

    // The retry's run, at its retry time (a clock that reads that time).
    const retryAt = record!.retryAt as string;
    const clock = skewedClock(systemClock, Date.parse(retryAt) - Date.now() + 1000);
    const retry = await startContender(
      tables,
      emulator.url,
      { runId: "client:retry", asOf: new Date(clock.now()).toISOString() },
      { clock },
    ).report;
    expect(retry.tally).toMatchObject({ succeeded: 1 });
    const [settled] = await charges(input.subscriptionId);
    expect(settled).toMatchObject({
      state: "succeeded",
      paymentMethodId: cards[0],
      amount: 1200,
      attempts: 2,
    });
    const intents = intentsOf(emulator, input.subscriptionId);
    expect(intents.map((pi) => [pi.status, pi.amount])).toEqual([
      ["canceled", 1200],
      ["succeeded", 1200],
    ]);
  });
});
