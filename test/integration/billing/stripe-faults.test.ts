/**
 * Stripe misbehaving: 429s, 500s (saved under the idempotency key, as Stripe does), timeouts and
 * connections dropped after the charge, at 10% each. The run and the runs after it finish every charge,
 * none doubled; charges left in doubt are resolved on the next attempt by looking the PaymentIntent up.
 * Invariants (docs/design.md#invariants): 1, 2 and 5.
 */
import { beforeAll, expect, it } from "vitest";
import type { StripeEmulator } from "../../../dev/stripe-emulator";
import { dueSubscriptions } from "../../../dev/seed";
import { checkInvariants, scanAll } from "../../../dev/invariants";
import type { TestTables } from "../../support/dynamo";
import { useTablesAndEmulator } from "../../support/emulator";
import { seedWithTestKey } from "../../support/seeding";
import { startContender } from "../../support/billing";

const AS_OF = "2026-11-23T12:00:00.000Z";
const COUNT = 120;
let tables: TestTables;
let emulator: StripeEmulator;

useTablesAndEmulator("faults", (started) => ({ tables, emulator } = started), { emulator: { seed: 7 } });
beforeAll(async () => {
  await seedWithTestKey(tables, emulator.url, dueSubscriptions(COUNT, AS_OF));
});

it("finishes every charge exactly once through 429s, 500s, timeouts and dropped connections", async () => {
  emulator.setFaults({
    rateLimit429Rate: 0.1,
    error500Rate: 0.1,
    timeoutRate: 0.1,
    dropAfterChargeRate: 0.1,
    paths: ["/v1/payment_intents"],
  });
  const firstRound = [1, 2, 3].map(() =>
    startContender(tables, emulator.url, { runId: "faulty", asOf: AS_OF }, { timeoutMs: 1_000 }),
  );
  const first = await Promise.all(firstRound.map((c) => c.report));
  expect(first.some((r) => r.tally.succeeded > 0)).toBe(true);
  const inDoubtDuringFaults = firstRound
    .flatMap((c) => c.events)
    .filter((e) => e.type === "charge" && e.outcome === "in_doubt").length;

  // Stripe recovers; the following runs resolve what was left in doubt and finish the rest.
  emulator.setFaults({});
  for (let round = 0; round < 4; round++) {
    const report = await startContender(tables, emulator.url, { runId: `recovery-${round}`, asOf: AS_OF })
      .report;
    if (report.led.every((shard) => shard.leftDue === 0)) break;
  }
  const charges = await scanAll(tables.doc, tables.names.charges);
  expect(charges.filter((c) => c.state !== "succeeded")).toEqual([]);
  const invariants = await checkInvariants(tables.doc, tables.names, emulator.snapshot(), AS_OF);
  expect(invariants.violations).toEqual([]);
  expect(invariants.counts.providerSucceeded).toBe(COUNT);
  // The faults really happened: Stripe answered 500s and 429s, and charges went in doubt, then resolved.
  const statuses = emulator.snapshot().requestCounts.byStatus;
  expect(statuses["500"] ?? 0).toBeGreaterThan(0);
  expect(statuses["429"] ?? 0).toBeGreaterThan(0);
  expect(inDoubtDuringFaults).toBeGreaterThan(0);
});
