/**
 * The product's promise, end to end against DynamoDB Local and the Stripe emulator over HTTP:
 * 10 concurrent contenders over 500 due subscriptions charge each exactly once.
 * Invariants (docs/design.md#invariants): 1 (one charge per period), 2 (nothing due dropped),
 * 5 (ledger ⇄ provider).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { StripeEmulator } from "../../../dev/stripe-emulator";
import { dueSubscriptions } from "../../../dev/seed";
import { checkInvariants } from "../../../dev/invariants";
import type { TestTables } from "../../support/dynamo";
import { useTablesAndEmulator } from "../../support/emulator";
import { seedWithTestKey } from "../../support/seeding";
import { countingGateway, startContender } from "../../support/billing";

const AS_OF = "2026-11-23T12:00:00.000Z";
let tables: TestTables;
let emulator: StripeEmulator;

useTablesAndEmulator("once", (started) => ({ tables, emulator } = started), {
  emulator: { latencyMs: 0 } as never,
});
beforeAll(async () => {
  await seedWithTestKey(tables, emulator.url, dueSubscriptions(500, AS_OF));
});

describe("10 concurrent contenders over 500 due subscriptions", () => {
  it("charge every one exactly once, and the ledger and Stripe agree one to one", async () => {
    const before = emulator.snapshot().requestCounts;
    const counters = Array.from({ length: 10 }, () => ({ calls: 0 }));
    const runs = counters.map((counter) =>
      startContender(
        tables,
        emulator.url,
        { runId: "scheduled:test", asOf: AS_OF },
        // A lease long enough, and a Stripe timeout long enough, that a loaded test machine never lets
        // the lease lapse or leaves a charge in doubt: this test is about concurrency, not takeover
        // (zombie.test.ts and crash-points.test.ts cover that).
        {
          wrapGateway: countingGateway(counter),
          lease: { leaseDurationMs: 15_000, renewIntervalMs: 3_000, safetyMarginMs: 3_000 },
          timeoutMs: 20_000,
        },
      ),
    );
    const reports = await Promise.all(runs.map((r) => r.report));

    const snapshot = emulator.snapshot();
    const invariants = await checkInvariants(tables.doc, tables.names, snapshot, AS_OF);
    expect(invariants.violations).toEqual([]);
    expect(invariants.counts.providerSucceeded).toBe(500);
    expect(invariants.counts.succeededRecords).toBe(500);

    // Exactly one contender billed; the others stood by and sent nothing to Stripe.
    const billers = reports.filter((r) => r.tally.succeeded > 0);
    expect(billers, JSON.stringify(reports.map((r) => r.led))).toHaveLength(1);
    expect(billers[0]!.tally.succeeded).toBe(500);
    const loserCalls = reports.map((r, i) => (r === billers[0] ? 0 : counters[i]!.calls));
    expect(loserCalls).toEqual(reports.map(() => 0));

    // The design needs two provider requests per charge (create, confirm); allow 5% above that.
    const requests = snapshot.requestCounts.total - before.total;
    expect(requests).toBeGreaterThanOrEqual(1000);
    expect(requests).toBeLessThanOrEqual(1050);
  });

  it("a rerun of the same schedule changes nothing and sends nothing to Stripe", async () => {
    const before = emulator.snapshot().requestCounts.total;
    const rerun = startContender(tables, emulator.url, { runId: "rerun:test", asOf: AS_OF });
    const report = await rerun.report;
    expect(report.tally.succeeded).toBe(0);
    expect(emulator.snapshot().requestCounts.total).toBe(before);
    const invariants = await checkInvariants(tables.doc, tables.names, emulator.snapshot(), AS_OF);
    expect(invariants.violations).toEqual([]);
    expect(invariants.counts.providerSucceeded).toBe(500);
  });
});
