/**
 * The dry run and the real run agree (invariant 6, docs/design.md: a dry run writes nothing, so it is
 * only worth running if it says what the run will do). Generated books of good, late, future, early and
 * broken records, on DynamoDB Local and the emulator: what a dry run at an instant reports, a real run at
 * the same instant then charges and quarantines, period for period.
 */
import fc from "fast-check";
import { expect, it } from "vitest";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { StripeEmulator } from "../../../dev/stripe-emulator";
import { monthlySeed, storedMonthly, type InvalidSeed, type SubscriptionSeed } from "../../../dev/seed";
import { dryRun } from "../../../functions/core/billing-run/dry-run";
import { createBillingJob } from "../../../functions/handler/billing-job";
import type { TestTables } from "../../support/dynamo";
import { useTablesAndEmulator } from "../../support/emulator";
import { startContender, testConfig } from "../../support/billing";
import { seedWithTestKey } from "../../support/seeding";

const DAY = 86_400_000;

type Kind =
  | "due"
  | "behind"
  | "future"
  | "early"
  | "bad-amount"
  | "shouting"
  | "canceled"
  | "wrong-index"
  | "future-broken";
const KINDS: readonly Kind[] = [
  "due",
  "behind",
  "future",
  "early",
  "bad-amount",
  "shouting",
  "canceled",
  "wrong-index",
];

let tables: TestTables;
let emulator: StripeEmulator;
let caseNumber = 0;

useTablesAndEmulator("dry-agree", (started) => ({ tables, emulator } = started));

/** A record of `kind` whose period began `daysAgo` days ago (negative: starts in the future). */
function record(id: string, kind: Kind, daysAgo: number, now: number): SubscriptionSeed | InvalidSeed {
  const start = new Date(
    now - (kind === "future" || kind === "early" || kind === "future-broken" ? -daysAgo : daysAgo) * DAY,
  );
  if (kind === "due" || kind === "behind" || kind === "future") {
    return monthlySeed(id, start, { amount: 1000 + daysAgo });
  }
  const raw = storedMonthly(start);
  const past = new Date(now - DAY).toISOString();
  const items: Record<Exclude<Kind, "due" | "behind" | "future">, Record<string, unknown>> = {
    early: { ...raw, nextAttemptAt: past },
    "bad-amount": { ...raw, amount: 12.5 },
    shouting: { ...raw, status: "ACTIVE" },
    canceled: { ...raw, status: "canceled" },
    "wrong-index": { ...raw, shard: 1, dueShard: "shard-0" },
    // Broken, and not due yet: no due index offers it today; only the sweep finds it.
    "future-broken": { ...raw, amount: 12.5 },
  };
  return { subscriptionId: id, shard: 0, item: items[kind] };
}

const book = fc.array(
  fc.record({
    kind: fc.constantFrom(...KINDS),
    daysAgo: fc.integer({ min: 1, max: 80 }),
  }),
  { minLength: 1, maxLength: 6 },
);

it("a dry run reports exactly what the real run at the same instant then charges and quarantines", async () => {
  await fc.assert(
    fc.asyncProperty(book, async (entries) => {
      const label = `c${++caseNumber}`;
      const now = Date.now();
      const seeds = entries.map((e, i) => record(`${label}_${i}_${e.kind}`, e.kind, e.daysAgo, now));
      await seedWithTestKey(
        tables,
        emulator.url,
        seeds.filter((s): s is SubscriptionSeed => "card" in s),
        seeds.filter((s): s is InvalidSeed => "item" in s),
      );
      const ids = seeds.map((s) => s.subscriptionId);
      const asOf = new Date(Math.max(now, Date.now())).toISOString();

      const job = createBillingJob(testConfig(tables, emulator.url));
      const report = await dryRun(job.store, job.store, [0], asOf, {
        maxPeriods: 12,
        listLimit: 10_000,
        billableShards: [0],
      });
      // Earlier cases' records are settled or quarantined by now: only this case's are looked at.
      const mine = report.items.filter((item) => ids.includes(item.subscriptionId));
      const expectedCharges = mine.reduce((sum, item) => sum + item.periods, 0);
      const expectedQuarantine = mine.filter((i) => i.action === "quarantine").map((i) => i.subscriptionId);

      await startContender(tables, emulator.url, { runId: `agree:${label}`, asOf }).report;
      const charged = emulator
        .snapshot()
        .paymentIntents.filter(
          (pi) => pi.status === "succeeded" && ids.includes(pi.metadata.subscription_id ?? ""),
        );
      expect(charged.length).toBe(expectedCharges);
      const quarantined: string[] = [];
      for (const id of ids) {
        const read = await tables.doc.send(
          new GetCommand({
            TableName: tables.names.subscriptions,
            Key: { subscriptionId: id },
            ConsistentRead: true,
          }),
        );
        if (read.Item?.status === "quarantined") quarantined.push(id);
      }
      expect(quarantined.sort()).toEqual([...new Set(expectedQuarantine)].sort());
    }),
    { numRuns: 12 },
  );
});
