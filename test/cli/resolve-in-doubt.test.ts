/**
 * `ops resolve-in-doubt`: a confirm charges the card and the connection drops (every retry too), so the
 * run records the charge in doubt. The command looks the PaymentIntent up and settles the record, under
 * the shard's lease: it takes the lease (the fence moves), never charges again, and while a live leader
 * holds the lease it stands by and writes nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { startStripeEmulator, type StripeEmulator } from "../../dev/stripe-emulator";
import { seedSubscriptions, stripeClient, type SubscriptionSeed } from "../../dev/seed";
import { checkInvariants } from "../../dev/invariants";
import { systemClock } from "../../functions/core/clock";
import { LeaseClient } from "../../functions/core/lease/lease-client";
import { shardLeaseKey } from "../../functions/core/lease/lease";
import { DynamoLeaseStore } from "../../functions/aws/dynamo-lease-store";
import type { ResolveReport } from "../../cli/commands/resolve-in-doubt";
import { createTestTables, type TestTables } from "../support/dynamo";
import { startContender, TEST_API_KEY } from "../support/billing";
import { json, localFlags, ops } from "./ops-harness";

const HOUR = 3_600_000;
const ENV = { STRIPE_SECRET_KEY: TEST_API_KEY };
let tables: TestTables;
let emulator: StripeEmulator;
let lease: LeaseClient;
let periodStart: string;

beforeEach(async () => {
  const now = Date.now();
  periodStart = new Date(now - 2 * HOUR).toISOString();
  [tables, emulator] = await Promise.all([createTestTables("cli-doubt"), startStripeEmulator()]);
  const seed = (id: string): SubscriptionSeed => ({
    subscriptionId: id,
    shard: 0,
    card: "succeeds",
    amount: 4200,
    currency: "eur",
    interval: "month",
    anchorDay: new Date(periodStart).getUTCDate(),
    nextPeriodStart: periodStart,
  });
  await seedSubscriptions(tables.doc, tables.names, stripeClient(TEST_API_KEY, emulator.url), [
    seed("sub_doubt"),
    seed("sub_fine"),
  ]);
  lease = new LeaseClient(new DynamoLeaseStore(tables.doc, tables.names.leases), systemClock);
  // The card is charged, then the connection drops: on the first confirm and both SDK retries.
  emulator.injectNext({ kind: "drop-after-charge", path: "^/v1/payment_intents/[^/]+/confirm$", count: 3 });
  await startContender(tables, emulator.url, {
    runId: "faulty",
    asOf: new Date(now).toISOString(),
    subscriptionIds: ["sub_doubt"],
  }).report;
  expect(await record("sub_doubt")).toMatchObject({ state: "in_doubt", attention: "in_doubt" });
});
afterEach(async () => {
  await emulator?.stop();
});

async function record(subscriptionId: string) {
  const out = await tables.doc.send(
    new GetCommand({
      TableName: tables.names.charges,
      Key: { subscriptionId, periodStart },
      ConsistentRead: true,
    }),
  );
  return out.Item;
}

function succeededAtStripe(subscriptionId: string) {
  return emulator
    .snapshot()
    .paymentIntents.filter(
      (pi) => pi.metadata.subscription_id === subscriptionId && pi.status === "succeeded",
    );
}

describe("ops resolve-in-doubt", () => {
  it("--dry-run says what Stripe reports and writes nothing", async () => {
    const before = await record("sub_doubt");
    const fenceBefore = (await lease.inspect(shardLeaseKey(0))).fenceRecord;
    const result = await ops(["resolve-in-doubt", "--dry-run", ...localFlags(tables, emulator.url)], ENV);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Dry run: what Stripe says (nothing was written)");
    expect(result.stdout).toMatch(/sub_doubt\s.*\ssucceeded\s+Stripe status succeeded/);
    expect(await record("sub_doubt")).toEqual(before);
    expect((await lease.inspect(shardLeaseKey(0))).fenceRecord).toBe(fenceBefore);
  });

  it("settles the in-doubt charge as succeeded, under a fresh lease, without charging again", async () => {
    const before = await record("sub_doubt");
    const paymentIntentId = String(before!.paymentIntentId);
    expect(succeededAtStripe("sub_doubt").map((pi) => pi.id)).toEqual([paymentIntentId]);
    const fenceBefore = (await lease.inspect(shardLeaseKey(0))).fenceRecord;

    const result = await ops(["resolve-in-doubt", "--json", ...localFlags(tables, emulator.url)], ENV);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const report = json<ResolveReport>(result);
    expect(report).toMatchObject({ found: 1, resolved: 1, stillInDoubt: 0, stoodBy: [] });
    expect(report.resolutions).toEqual([
      expect.objectContaining({
        subscriptionId: "sub_doubt",
        periodStart,
        paymentIntentId,
        after: "succeeded",
        detail: expect.stringContaining(`paid: ${paymentIntentId}`),
      }),
    ]);

    // Settled by a fenced write under a lease this command took, like any contender.
    const after = await record("sub_doubt");
    expect(after).toMatchObject({ state: "succeeded", paymentIntentId });
    expect(after!.attention).toBeUndefined();
    expect(after!.fence).toBe(fenceBefore + 1);
    const snapshot = await lease.inspect(shardLeaseKey(0));
    expect(snapshot.fenceRecord).toBe(fenceBefore + 1);
    expect(snapshot.lease?.owner).toBeNull();
    expect(snapshot.lease?.lastRun?.runId).toBe(report.runId);
    expect(report.runId).toMatch(/^ops-resolve-in-doubt:/);

    // Only what was in doubt: the other due subscription was not billed, and nothing was charged twice.
    expect(await record("sub_fine")).toBeUndefined();
    expect(succeededAtStripe("sub_doubt").map((pi) => pi.id)).toEqual([paymentIntentId]);
    const sub = await tables.doc.send(
      new GetCommand({
        TableName: tables.names.subscriptions,
        Key: { subscriptionId: "sub_doubt" },
        ConsistentRead: true,
      }),
    );
    expect(sub.Item).toMatchObject({ lastPaidPeriod: periodStart });
    expect(String(sub.Item!.nextPeriodStart) > periodStart).toBe(true);

    // Nothing left in doubt; the ledger and Stripe agree on the paid period.
    const again = await ops(["resolve-in-doubt", ...localFlags(tables, emulator.url)], ENV);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("Nothing in doubt.");
    const invariants = await checkInvariants(tables.doc, tables.names, emulator.snapshot(), periodStart);
    expect(
      invariants.violations.filter((v) => v.startsWith("invariant 5") || v.startsWith("invariant 1")),
    ).toEqual([]);
  });

  it("does not bypass the lease: while a live leader holds it, it stands by and writes nothing", async () => {
    const held = await lease.acquire(shardLeaseKey(0), "live-leader");
    expect(held.kind).toBe("acquired");
    const before = await record("sub_doubt");

    const result = await ops(["resolve-in-doubt", "--wait", "2", ...localFlags(tables, emulator.url)], ENV);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("shard 0: lease held by live-leader");
    expect(result.stdout).toMatch(/sub_doubt\s.*\sin_doubt\s/);
    expect(result.stdout).toContain("shard 0: time budget ran out while standing by");
    expect(await record("sub_doubt")).toEqual(before);
    expect((await lease.inspect(shardLeaseKey(0))).lease?.owner).toBe("live-leader");
  });

  it("--subscription restricts it, and names ids that are not in doubt", async () => {
    const result = await ops(
      ["resolve-in-doubt", "--subscription", "sub_fine", ...localFlags(tables, emulator.url)],
      ENV,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("None of the given subscriptions has a charge in doubt.");
    expect(result.stdout).toContain("Not in doubt (left alone): sub_fine");
    expect(await record("sub_doubt")).toMatchObject({ state: "in_doubt" });
  });
});
