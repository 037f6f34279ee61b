/**
 * The account's Stripe budget on the real path, against DynamoDB Local and the emulator over HTTP: the
 * 429s the emulator answers reach the leader's pacer through the gateway and slow it down, while every
 * charge still goes through once (the gateway retries a 429: nothing happened at Stripe). Lock timeouts
 * and the like never do; only a 429 for the account's rate counts. Invariants 1 and 2 still hold.
 */
import { beforeAll, expect, it } from "vitest";
import type { StripeEmulator } from "../../../dev/stripe-emulator";
import { dueSubscriptions, seedSubscriptions, stripeClient } from "../../../dev/seed";
import { checkInvariants } from "../../../dev/invariants";
import { systemClock } from "../../../functions/core/clock";
import { runContender } from "../../../functions/core/billing-run/contender";
import { createBillingJob, createGateway, leaderDeps } from "../../../functions/handler/billing-job";
import type { TestTables } from "../../support/dynamo";
import { useTablesAndEmulator } from "../../support/emulator";
import { TEST_API_KEY, testConfig } from "../../support/billing";

const AS_OF = "2026-11-23T12:00:00.000Z";
const COUNT = 12;
let tables: TestTables;
let emulator: StripeEmulator;

useTablesAndEmulator("pacing", (started) => ({ tables, emulator } = started), { emulator: { seed: 3 } });
beforeAll(async () => {
  await seedSubscriptions(
    tables.doc,
    tables.names,
    stripeClient(TEST_API_KEY, emulator.url),
    dueSubscriptions(COUNT, AS_OF),
  );
});

it("429s slow the leader that meets them, and every charge still goes through once", async () => {
  // A lease long enough that a loaded machine's slow renewals do not end the run: this is about pacing.
  const config = testConfig(tables, emulator.url, {
    accountRequestsPerSecond: 400,
    lease: { leaseDurationMs: 20_000, renewIntervalMs: 5_000, safetyMarginMs: 10_000 },
  });
  const job = createBillingJob(config, systemClock);
  const gateway = createGateway(config, TEST_API_KEY, systemClock, { pacer: job.pacer });
  const deps = leaderDeps(
    job,
    gateway,
    () => undefined,
    () => 600_000,
  );
  emulator.injectNext({ kind: "rate-limit", path: "^/v1/payment_intents$", count: 3 });
  const before = emulator.snapshot().requestCounts;

  const report = await runContender(deps, "pacing-leader", { runId: "pacing", asOf: AS_OF });

  expect(report.tally.succeeded, JSON.stringify(report)).toBe(COUNT);
  const after = emulator.snapshot().requestCounts;
  expect((after.byStatus["429"] ?? 0) - (before.byStatus["429"] ?? 0)).toBe(3);
  const stats = job.pacer.takeStats();
  expect(stats.rateLimited).toBe(3);
  // Three 429s, each halving unless it answered a request sent before the last halving.
  expect(stats.decreases).toBeGreaterThanOrEqual(1);
  expect(stats.decreases).toBeLessThanOrEqual(3);
  expect(stats.mostLeaders).toBe(1);
  // Every try took its turn at the pacer: the charges' two requests each, the three refused, the sweep.
  expect(stats.requests).toBe(after.total - before.total);
  const invariants = await checkInvariants(tables.doc, tables.names, emulator.snapshot(), AS_OF);
  expect(invariants.violations).toEqual([]);
});
