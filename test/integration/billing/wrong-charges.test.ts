/**
 * Charging the right things when an operator or the data makes a mistake, on DynamoDB Local and the
 * emulator over HTTP. Invariant 6 (docs/design.md): no period is charged before it starts; invariant 2:
 * nothing due is skipped in silence; invariant 8: a mistake confines itself. Each case is a finding of
 * an audit that tried the job as an operator would.
 */
import { describe, expect, it } from "vitest";
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { StripeEmulator } from "../../../dev/stripe-emulator";
import { monthlySeed, type SubscriptionSeed } from "../../../dev/seed";
import { checkInvariants } from "../../../dev/invariants";
import { localDynamoClient } from "../../../dev/dynamodb-local";
import { leaseRecordKey } from "../../../functions/aws/dynamo-lease-store";
import { createBillingJob } from "../../../functions/handler/billing-job";
import { dryRun } from "../../../functions/core/billing-run/dry-run";
import type { TestTables } from "../../support/dynamo";
import { useTablesAndEmulator } from "../../support/emulator";
import { startContender, testConfig } from "../../support/billing";
import { seedWithTestKey } from "../../support/seeding";

const NOW = Date.now();
const DAY = 86_400_000;

let tables: TestTables;
let emulator: StripeEmulator;

useTablesAndEmulator("wrong", (started) => ({ tables, emulator } = started));

/** A monthly subscription on `shard` whose period began `daysAgo` days ago, anchored on that day. */
function due(subscriptionId: string, shard = 0, daysAgo = 1): SubscriptionSeed {
  return monthlySeed(subscriptionId, new Date(NOW - daysAgo * DAY), { shard, amount: 1200 });
}

async function seed(...seeds: SubscriptionSeed[]) {
  await seedWithTestKey(tables, emulator.url, seeds);
}

async function subscription(id: string): Promise<Record<string, unknown>> {
  const read = await tables.doc.send(
    new GetCommand({
      TableName: tables.names.subscriptions,
      Key: { subscriptionId: id },
      ConsistentRead: true,
    }),
  );
  return read.Item ?? {};
}

function paidAtStripe(id: string): number {
  return emulator
    .snapshot()
    .paymentIntents.filter((pi) => pi.metadata.subscription_id === id && pi.status === "succeeded").length;
}

async function run(
  runId: string,
  request: { subscriptionIds?: string[]; maxCharges?: number } = {},
  shardCount = 1,
) {
  // Each run bills as of its own now: a complete run at an instant satisfies later runs at that instant.
  const asOf = new Date().toISOString();
  return startContender(tables, emulator.url, { runId, asOf, ...request }, { settings: { shardCount } })
    .report;
}

describe("a last run that covered nothing", () => {
  it("cannot wedge a shard: a stored future asOf is ignored, and release --force clears it", async () => {
    await seed(due("wedge_a"));
    // What a run at a far-future instant left before such events were refused.
    await tables.doc.send(
      new UpdateCommand({
        TableName: tables.names.leases,
        Key: leaseRecordKey("billing/shard-0"),
        UpdateExpression: "SET #lastRun = :last, #expiresAt = :zero, #fence = :fence",
        ExpressionAttributeNames: { "#lastRun": "lastRun", "#expiresAt": "expiresAt", "#fence": "fence" },
        ExpressionAttributeValues: {
          ":last": {
            runId: "bad",
            asOf: "2099-01-01T00:00:00.000Z",
            outcome: "complete",
            finishedAt: NOW - DAY,
          },
          ":zero": 0,
          ":fence": 0,
        },
      }),
    );
    const report = await run("after-bad-run");
    expect(report.led).toHaveLength(1);
    expect(paidAtStripe("wedge_a")).toBe(1);

    const job = createBillingJob(testConfig(tables, emulator.url));
    await job.lease.forceRelease("billing/shard-0", "operator");
    expect((await job.lease.inspect("billing/shard-0")).lease?.lastRun).toBeUndefined();
  });
});

describe("a targeted rerun", () => {
  it("never ends the scheduled run: the other due subscriptions are billed by the contenders after it", async () => {
    await seed(due("target_1"), due("target_2"), due("target_3"));
    const targeted = await run("rerun:one", { subscriptionIds: ["target_1"] });
    expect(targeted.led[0]).toMatchObject({ outcome: "targeted" });
    const job = createBillingJob(testConfig(tables, emulator.url));
    expect((await job.lease.inspect("billing/shard-0")).lease?.lastRun?.outcome).toBe("targeted");

    const scheduled = await run("scheduled:same-instant");
    expect(scheduled.stoodBy).toEqual([]);
    expect(["target_1", "target_2", "target_3"].map(paidAtStripe)).toEqual([1, 1, 1]);
  });

  it("with maxCharges releases as targeted too, and leaves the rest to the next contender", async () => {
    await seed(due("capped_1"), due("capped_2"));
    const capped = await run("rerun:capped", { maxCharges: 1 });
    expect(capped.led[0]?.outcome).not.toBe("complete");
    await run("scheduled:after-capped");
    expect(["capped_1", "capped_2"].map(paidAtStripe)).toEqual([1, 1]);
  });
});

describe("records that cannot be read or billed as they stand", () => {
  it("an unreadable number is quarantined with its field named, and the run bills the rest", async () => {
    await seed(due("readable_1"));
    const start = new Date(NOW - DAY).toISOString();
    const raw = localDynamoClient(tables.endpoint);
    await raw.send(
      new PutItemCommand({
        TableName: tables.names.subscriptions,
        Item: {
          subscriptionId: { S: "unreadable_1" },
          shard: { N: "0" },
          dueShard: { S: "shard-0" },
          status: { S: "active" },
          customerId: { S: "cus_x" },
          paymentMethodId: { S: "pm_card_visa" },
          amount: { N: "123456789012345678901.5" },
          currency: { S: "usd" },
          interval: { S: "month" },
          anchorDay: { N: String(new Date(start).getUTCDate()) },
          nextPeriodStart: { S: start },
          nextAttemptAt: { S: start },
          createdAt: { S: start },
          updatedAt: { S: start },
        },
      }),
    );
    raw.destroy();
    const report = await run("scheduled:unreadable");
    expect(report.led[0]?.outcome).toBe("complete");
    expect(paidAtStripe("readable_1")).toBe(1);
    expect(paidAtStripe("unreadable_1")).toBe(0);
    expect(await subscription("unreadable_1")).toMatchObject({
      status: "quarantined",
      statusReason: expect.stringMatching(/amount.*unreadable number/),
    });
  });

  it("a charge record of no known shape quarantines its subscription and charges nothing", async () => {
    await seed(due("broken_ledger"));
    const period = String((await subscription("broken_ledger")).nextPeriodStart);
    await tables.doc.send(
      new PutCommand({
        TableName: tables.names.charges,
        Item: {
          subscriptionId: "broken_ledger",
          periodStart: period,
          state: "charged-maybe",
          version: "two",
        },
      }),
    );
    await run("scheduled:broken-ledger");
    expect(paidAtStripe("broken_ledger")).toBe(0);
    expect(await subscription("broken_ledger")).toMatchObject({
      status: "quarantined",
      statusReason: expect.stringMatching(/charge record .* cannot be read/),
    });
  });

  it("a period is never charged before it starts, whatever nextAttemptAt says", async () => {
    await seed(due("early_1"));
    const future = new Date(NOW + 60 * DAY);
    await tables.doc.send(
      new UpdateCommand({
        TableName: tables.names.subscriptions,
        Key: { subscriptionId: "early_1" },
        UpdateExpression: "SET nextPeriodStart = :p, anchorDay = :d",
        ExpressionAttributeValues: { ":p": future.toISOString(), ":d": future.getUTCDate() },
      }),
    );
    await run("scheduled:early");
    expect(
      emulator.snapshot().paymentIntents.filter((pi) => pi.metadata.subscription_id === "early_1"),
    ).toEqual([]);
    expect(await subscription("early_1")).toMatchObject({
      status: "quarantined",
      statusReason: expect.stringMatching(/before nextPeriodStart/),
    });
  });
});

describe("the dry run", () => {
  it("reports what the real run then charges, catch-up included", async () => {
    const behind = due("catch_up", 0, 70); // three periods due
    await seed(behind, due("dry_1"), due("dry_2"));
    const job = createBillingJob(testConfig(tables, emulator.url));
    const asOf = new Date().toISOString();
    const report = await dryRun(job.store, job.store, [0], asOf, { maxPeriods: 12 });
    const before = emulator.snapshot().paymentIntents.filter((pi) => pi.status === "succeeded").length;
    const real = await startContender(tables, emulator.url, { runId: "scheduled:after-dry-run", asOf })
      .report;
    const after = emulator.snapshot().paymentIntents.filter((pi) => pi.status === "succeeded").length;
    expect(report.periodsToCharge).toBe(after - before);
    expect(real.tally.succeeded).toBe(after - before);
    expect(paidAtStripe("catch_up")).toBeGreaterThanOrEqual(2);

    const invariants = await checkInvariants(tables.doc, tables.names, emulator.snapshot(), asOf);
    expect(invariants.violations).toEqual([]);
  });
});

describe("nothing meant for billing is skipped in silence", () => {
  it("records no due index finds are quarantined by the sweep, with the reason, and counted", async () => {
    await seed(due("stray_shard", 7), due("shouting"), due("no_attempt"));
    await tables.doc.send(
      new UpdateCommand({
        TableName: tables.names.subscriptions,
        Key: { subscriptionId: "shouting" },
        UpdateExpression: "SET #s = :s",
        ExpressionAttributeNames: { "#s": "status" },
        ExpressionAttributeValues: { ":s": "ACTIVE" },
      }),
    );
    await tables.doc.send(
      new UpdateCommand({
        TableName: tables.names.subscriptions,
        Key: { subscriptionId: "no_attempt" },
        UpdateExpression: "REMOVE nextAttemptAt",
      }),
    );
    const asOf = new Date().toISOString();
    const contender = startContender(tables, emulator.url, { runId: "scheduled:sweep", asOf });
    const report = await contender.report;
    // "ACTIVE" is in the due index: its leader quarantines it. The other two no index finds: the sweep does.
    expect(report.tally.quarantined).toBe(1);
    expect(contender.events.find((e) => e.type === "sweep")).toMatchObject({ unreachable: 2 });
    expect(await subscription("stray_shard")).toMatchObject({
      status: "quarantined",
      statusReason: expect.stringMatching(/shard 7 is billed by no run/),
    });
    expect(await subscription("shouting")).toMatchObject({ status: "quarantined", statusReason: /status/ });
    expect(await subscription("no_attempt")).toMatchObject({
      status: "quarantined",
      statusReason: /nextAttemptAt/,
    });
    expect(["stray_shard", "shouting", "no_attempt"].map(paidAtStripe)).toEqual([0, 0, 0]);
  });

  it("lowering SHARD_COUNT strands nothing: shards that had a lease are still billed", async () => {
    await seed(due("spread_0", 0), due("spread_1", 1), due("spread_2", 2));
    await run("scheduled:three-shards", {}, 3);
    expect(["spread_0", "spread_1", "spread_2"].map(paidAtStripe)).toEqual([1, 1, 1]);

    // Next month's renewals, and an operator who lowered SHARD_COUNT to 1 meanwhile.
    const later = new Date(NOW + 40 * DAY).toISOString();
    const lowered = startContender(
      tables,
      emulator.url,
      { runId: "scheduled:one-shard", asOf: later },
      {
        settings: { shardCount: 1 },
        clock: { now: () => Date.parse(later), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
      },
    );
    const report = await lowered.report;
    expect(report.led.map((l) => l.shard).sort()).toEqual([0, 1, 2]);
    expect(["spread_0", "spread_1", "spread_2"].map(paidAtStripe)).toEqual([2, 2, 2]);
  });
});
