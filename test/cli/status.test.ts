/**
 * `ops status` on a mixed book, made by real runs against the Stripe emulator: paid, declined with a retry
 * ahead, declined with none left, needs authentication, quarantined, in doubt (the connection dropped
 * after the charge), plus a claim left pending and subscriptions nobody has billed yet. Every count comes
 * from the indexes; every lease shows its holder, fence, expiry, last run and checkpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { startStripeEmulator, type StripeEmulator } from "../../dev/stripe-emulator";
import { monthlySeed, storedMonthly, type SubscriptionSeed } from "../../dev/seed";
import { retrySchedule } from "../../functions/core/billing/retry-policy";
import { systemClock } from "../../functions/core/clock";
import { LeaseClient } from "../../functions/core/lease/lease-client";
import { DynamoLeaseStore } from "../../functions/aws/dynamo-lease-store";
import { createTestTables, type TestTables } from "../support/dynamo";
import { startContender } from "../support/billing";
import { seedWithTestKey } from "../support/seeding";
import { json, ops, tableFlags } from "./ops-harness";
import type { StatusReport } from "../../cli/commands/status";

const HOUR = 3_600_000;
const NOW = Date.now();
const AS_OF = new Date(NOW).toISOString();
const monthly = (id: string, card: SubscriptionSeed["card"], hoursAgo = 2): SubscriptionSeed =>
  monthlySeed(id, new Date(NOW - hoursAgo * HOUR), { card });

let tables: TestTables;
let emulator: StripeEmulator;

beforeAll(async () => {
  [tables, emulator] = await Promise.all([createTestTables("cli-status"), startStripeEmulator()]);
  const start = new Date(NOW - 2 * HOUR);
  await seedWithTestKey(
    tables,
    emulator.url,
    [
      monthly("sub_ok", "succeeds"),
      monthly("sub_declines", "declines"),
      monthly("sub_declines_final", "declines"),
      monthly("sub_3ds", "needsAuthentication"),
      monthly("sub_doubt", "succeeds"),
      monthly("sub_pending", "succeeds"),
    ],
    [
      {
        subscriptionId: "sub_bad_amount",
        shard: 0,
        item: storedMonthly(start, { customerId: "cus_x", paymentMethodId: "pm_x", amount: 12.5 }),
      },
    ],
  );
  // Each run a moment later than the last: a standby leaves when a finished run already covered its asOf.
  let runs = 0;
  const run = (runId: string, subscriptionIds: string[], options = {}) => {
    const asOf = new Date(NOW - 10_000 + 1_000 * ++runs).toISOString();
    return startContender(tables, emulator.url, { runId, asOf, subscriptionIds }, options).report;
  };

  // A decline with no retries left: the schedule is empty.
  await run("status-1", ["sub_declines_final"], { settings: { retrySchedule: retrySchedule([]) } });
  // In doubt: the confirm charges the card, then the connection drops, on every retry too.
  emulator.injectNext({ kind: "drop-after-charge", path: "^/v1/payment_intents/[^/]+/confirm$", count: 3 });
  await run("status-2", ["sub_doubt"]);
  await run("status-3", ["sub_ok", "sub_declines", "sub_3ds", "sub_bad_amount"]);

  // A claim a crashed run left pending, on a subscription that is still due.
  await tables.doc.send(
    new PutCommand({
      TableName: tables.names.charges,
      Item: {
        state: "pending",
        attention: "pending",
        subscriptionId: "sub_pending",
        periodStart: start.toISOString(),
        customerId: "cus_x",
        paymentMethodId: "pm_x",
        amount: 1999,
        currency: "usd",
        idempotencyKey: "k",
        createGeneration: 0,
        confirmAttempt: 1,
        attempts: 1,
        fence: 3,
        version: 1,
        createdAt: AS_OF,
        updatedAt: AS_OF,
      },
    }),
  );
  // Two more due that no run has looked at yet.
  await seedWithTestKey(tables, emulator.url, [
    monthly("sub_new_1", "succeeds", 1),
    monthly("sub_new_2", "succeeds", 1),
  ]);
  // A second shard whose lease is held right now.
  const lease = new LeaseClient(new DynamoLeaseStore(tables.doc, tables.names.leases), systemClock, {
    leaseDurationMs: 120_000,
    renewIntervalMs: 10_000,
    safetyMarginMs: 5_000,
  });
  const held = await lease.acquire("billing/shard-1", "busy-leader");
  if (held.kind !== "acquired") throw new Error("could not hold shard-1");
  await lease.saveCheckpoint(held.lease, { runId: "busy-run", asOf: AS_OF, progress: { attempted: 7 } });
});
afterAll(async () => {
  await emulator?.stop();
});

describe("ops status", () => {
  it("--json: each count of the mixed book, from the indexes", async () => {
    const result = await ops(["status", "--json", ...tableFlags(tables)]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const report = json<StatusReport>(result);
    expect(report.counts).toEqual({
      // sub_doubt and sub_pending stay due on their period; sub_new_1 and sub_new_2 were never billed.
      dueNow: 4,
      dueByShard: { "0": 4, "1": 0 },
      pending: 1,
      inDoubt: 1,
      declinedAwaitingRetry: 1,
      declinedFinal: 1,
      needsCustomerAction: 1,
      quarantined: 1,
    });
  });

  it("--json: each lease with holder, fence, expiry, last run and checkpoint", async () => {
    const report = json<StatusReport>(await ops(["status", "--json", ...tableFlags(tables)]));
    expect(report.shardCount).toBe(2);
    const [shard0, shard1] = report.leases;
    expect(shard0).toMatchObject({
      leaseKey: "billing/shard-0",
      state: "free",
      holder: null,
      fence: 3,
      highestFence: 3,
      lastRun: { runId: "status-3", outcome: "targeted" },
    });
    expect(shard0?.lastRun?.summary).toMatchObject({ succeeded: 1, declined: 1, needs_customer_action: 1 });
    expect(shard1).toMatchObject({
      leaseKey: "billing/shard-1",
      state: "held",
      holder: "busy-leader",
      fence: 1,
      checkpoint: { runId: "busy-run", progress: { attempted: 7 } },
    });
    expect(shard1!.expiresAt!).toBeGreaterThan(Date.now());
  });

  it("prints aligned tables for people", async () => {
    const result = await ops(["status", ...tableFlags(tables)]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    const row = (label: string) => lines.find((line) => line.startsWith(label)) ?? "";
    expect(row("in doubt")).toMatch(/^in doubt\s+1\s+Stripe outcome unknown/);
    expect(row("due now")).toMatch(/^due now\s+4\s/);
    expect(row("declined, retry scheduled")).toMatch(/\s1\s/);
    expect(row("quarantined")).toMatch(/^quarantined\s+1\s/);
    expect(row("billing/shard-1")).toMatch(/^billing\/shard-1\s+held\s+busy-leader\s+1\s+\S+ \(in /);
    expect(row("billing/shard-0")).toMatch(/^billing\/shard-0\s+free\s+-\s+3\s+-\s+targeted status-3/);
    // Columns line up: every row of the counts table starts its count at the same offset.
    const header = lines.find((line) => line.startsWith("what"))!;
    const countColumnEnd = header.indexOf("count") + "count".length;
    for (const label of ["due now", "pending", "in doubt", "quarantined"]) {
      expect(row(label).slice(0, countColumnEnd)).toMatch(/\d$/);
    }
  });

  it("--json: the backlog, its oldest renewal, and the time to drain it at the account's budget", async () => {
    const env = { STRIPE_ACCOUNT_REQUESTS_PER_SECOND: "4" };
    const report = json<StatusReport>(await ops(["status", "--json", ...tableFlags(tables)], env));
    // The four still due (see the counts); the oldest are sub_doubt and sub_pending, due two hours ago.
    expect(report.backlog).toMatchObject({
      due: 4,
      oldestDueAt: new Date(NOW - 2 * HOUR).toISOString(),
      budgetRequestsPerSecond: 4,
      requestsPerCharge: 2,
      drainSeconds: 2,
      budgetProblem: null,
    });
    expect(report.backlog.oldestAgeSeconds).toBe(
      Math.round((Date.parse(report.at) - (NOW - 2 * HOUR)) / 1000),
    );
  });

  it("prints the backlog for people, and says so when the budget cannot be read", async () => {
    const result = await ops(["status", ...tableFlags(tables)], { STRIPE_ACCOUNT_REQUESTS_PER_SECOND: "4" });
    expect(result.stdout).toMatch(/^4 renewals due; the oldest due renewal has waited 2h/m);
    expect(result.stdout).toMatch(
      /^time to drain at the budget: 2s \(4 renewals × 2 requests ÷ 4 requests\/s, the least it can take\)$/m,
    );
    // The per-leader rate it replaced is refused by the function's settings: status still answers.
    const old = await ops(["status", ...tableFlags(tables)], { STRIPE_MAX_REQUESTS_PER_SECOND: "20" });
    expect(old.code).toBe(0);
    expect(old.stdout).toMatch(
      /^time to drain: unknown, the budget could not be read \(STRIPE_MAX_REQUESTS_PER_SECOND: is no longer read/m,
    );
  });

  it("--list STATE lists the records of one state from the attention index, with the reason", async () => {
    const quarantined = await ops(["status", "--list", "quarantined", ...tableFlags(tables)]);
    expect(quarantined.code).toBe(0);
    expect(quarantined.stdout).toMatch(/^sub_bad_amount\s.*amount: amount must be a whole number/m);
    expect(quarantined.stdout.split("\n").filter((l) => l.startsWith("sub_"))).toHaveLength(1);

    const inDoubt = json<{ state: string; items: { subscriptionId: string; state: string }[] }>(
      await ops(["status", "--list", "in-doubt", "--json", ...tableFlags(tables)]),
    );
    expect(inDoubt.state).toBe("in_doubt");
    expect(inDoubt.items.map((i) => [i.subscriptionId, i.state])).toEqual([["sub_doubt", "in_doubt"]]);

    const declined = await ops(["status", "--list", "declined", "--limit", "1", ...tableFlags(tables)]);
    expect(declined.stdout).toContain("(the first 1; there may be more: raise --limit)");

    const bad = await ops(["status", "--list", "succeeded", ...tableFlags(tables)]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--list must be one of pending, in_doubt, declined");
  });
});
