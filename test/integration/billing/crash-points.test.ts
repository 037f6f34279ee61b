/**
 * A leader that dies at each step of a renewal (before the claim, after it, after creating the
 * PaymentIntent, after Stripe charged but before the settle, after the settle). The next contender takes
 * over when the lease expires and finishes the work.
 * Invariants (docs/design.md#invariants): 1 (no double charge), 2 (nothing due lost), 5 (ledger ⇄ Stripe).
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { StripeEmulator } from "../../../dev/stripe-emulator";
import { dueSubscriptions } from "../../../dev/seed";
import { checkInvariants } from "../../../dev/invariants";
import type { PaymentGateway } from "../../../functions/core/payments/payment-gateway";
import type { ChargeLedger } from "../../../functions/core/billing-run/ports";
import type { TestTables } from "../../support/dynamo";
import { useTablesAndEmulator } from "../../support/emulator";
import { seedWithTestKey } from "../../support/seeding";
import { delegate, startContender } from "../../support/billing";

const AS_OF = "2026-11-23T12:00:00.000Z";
let tables: TestTables;
let emulator: StripeEmulator;

useTablesAndEmulator("crash", (started) => ({ tables, emulator } = started), { each: true });
beforeEach(async () => {
  await seedWithTestKey(tables, emulator.url, dueSubscriptions(6, AS_OF));
});

class SimulatedCrash extends Error {}

type CrashPoint =
  | "before the claim"
  | "after the claim"
  | "after creating the PaymentIntent"
  | "after Stripe charged, before the settle"
  | "after the settle";

/** Dies at the third renewal's crash point: earlier renewals settle normally. */
function crashAt(point: CrashPoint) {
  let claims = 0;
  let creates = 0;
  let confirms = 0;
  let settles = 0;
  const ledger = (inner: ChargeLedger): ChargeLedger => ({
    getCharge: (id, period) => inner.getCharge(id, period),
    quarantineSubscription: (...args) => inner.quarantineSubscription(...args),
    saveCharge: async (token, next, expected, change) => {
      const isClaim = expected === null;
      if (isClaim && point === "before the claim" && ++claims === 3) throw new SimulatedCrash(point);
      const saved = await inner.saveCharge(token, next, expected, change);
      if (isClaim && point === "after the claim" && ++claims === 3) throw new SimulatedCrash(point);
      if (next.state === "succeeded" && point === "after the settle" && ++settles === 3)
        throw new SimulatedCrash(point);
      return saved;
    },
  });
  const gateway = (inner: PaymentGateway): PaymentGateway => ({
    ...delegate(inner),
    createPaymentIntent: async (request, guard) => {
      const outcome = await inner.createPaymentIntent(request, guard);
      if (point === "after creating the PaymentIntent" && ++creates === 3) throw new SimulatedCrash(point);
      return outcome;
    },
    confirmPaymentIntent: async (id, pm, key, guard) => {
      const outcome = await inner.confirmPaymentIntent(id, pm, key, guard);
      if (point === "after Stripe charged, before the settle" && ++confirms === 3)
        throw new SimulatedCrash(point);
      return outcome;
    },
  });
  return { ledger, gateway };
}

const points: CrashPoint[] = [
  "before the claim",
  "after the claim",
  "after creating the PaymentIntent",
  "after Stripe charged, before the settle",
  "after the settle",
];

describe("a leader killed mid-renewal", () => {
  it.each(points)(
    "killed %s: the successor finishes with no double charge and nothing lost",
    async (point) => {
      const crash = crashAt(point);
      const doomed = startContender(
        tables,
        emulator.url,
        { runId: "scheduled:crash", asOf: AS_OF },
        { wrapGateway: crash.gateway, wrapLedger: crash.ledger, settings: { concurrency: 1 } },
      );
      await expect(doomed.report).rejects.toBeInstanceOf(SimulatedCrash);
      const charged = emulator.snapshot().paymentIntents.filter((pi) => pi.status === "succeeded").length;
      expect(charged).toBeLessThan(6);

      // A leader whose run throws hands the shard over as partial (a kill that cannot, SIGKILL, is the
      // chaos suite's and the local runner's): the successor takes it at once and finishes the run.
      expect(doomed.events.find((e) => e.type === "lease-released")).toMatchObject({ outcome: "partial" });
      const successor = startContender(tables, emulator.url, { runId: "scheduled:crash", asOf: AS_OF });
      const report = await successor.report;
      expect(report.led).toHaveLength(1);
      expect(successor.events.find((e) => e.type === "lease-acquired")).toMatchObject({ tookOverFrom: null });

      const invariants = await checkInvariants(tables.doc, tables.names, emulator.snapshot(), AS_OF);
      expect(invariants.violations).toEqual([]);
      expect(invariants.counts.providerSucceeded).toBe(6);
      expect(invariants.counts.succeededRecords).toBe(6);
    },
  );
});
