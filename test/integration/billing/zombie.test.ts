/**
 * A leader frozen past its lease (a GC pause, SIGSTOP, a frozen Lambda environment with a request not yet
 * sent) while a successor bills, then woken. Its writes must fail on the fence and its Stripe calls must
 * be harmless, also when Stripe's idempotency keys expired meanwhile (clock moved 25 hours).
 * Invariants (docs/design.md#invariants): 1 (at most one charge per period), 4 (stale-fence writes
 * rejected by DynamoDB).
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { StripeEmulator } from "../../../dev/stripe-emulator";
import { dueSubscriptions } from "../../../dev/seed";
import { checkInvariants, scanAll } from "../../../dev/invariants";
import type { PaymentGateway } from "../../../functions/core/payments/payment-gateway";
import type { TestTables } from "../../support/dynamo";
import { useTablesAndEmulator } from "../../support/emulator";
import { seedWithTestKey } from "../../support/seeding";
import { startContender } from "../../support/billing";
import { Gate, pausableClock, sleep, waitFor } from "../../support/pause";

const AS_OF = "2026-11-23T12:00:00.000Z";
const LEASE_MS = 3_000;
let tables: TestTables;
let emulator: StripeEmulator;

useTablesAndEmulator("zombie", (started) => ({ tables, emulator } = started), { each: true });
beforeEach(async () => {
  await seedWithTestKey(tables, emulator.url, dueSubscriptions(4, AS_OF));
});

type HoldPoint =
  "before sending the create" | "after the create, before recording it" | "before sending the confirm";

/** Freezes the whole contender at the first call that reaches `point`. */
function freezeAt(point: HoldPoint, gate: Gate) {
  const hold = async () => {
    gate.close();
    await gate.pass();
  };
  let frozen = false;
  const once = async () => {
    if (frozen) return;
    frozen = true;
    await hold();
  };
  return (gateway: PaymentGateway): PaymentGateway => ({
    ...gateway,
    createPaymentIntent: async (request) => {
      if (point === "before sending the create") await once();
      const outcome = await gateway.createPaymentIntent(request);
      if (point === "after the create, before recording it") await once();
      return outcome;
    },
    confirmPaymentIntent: async (id, pm, key) => {
      if (point === "before sending the confirm") await once();
      return gateway.confirmPaymentIntent(id, pm, key);
    },
    retrievePaymentIntent: (id) => gateway.retrievePaymentIntent(id),
    findPaymentIntentsForPeriod: (lookup) => gateway.findPaymentIntentsForPeriod(lookup),
  });
}

const cases: [HoldPoint, boolean][] = [
  ["before sending the create", false],
  ["before sending the create", true],
  ["after the create, before recording it", false],
  ["after the create, before recording it", true],
  ["before sending the confirm", false],
  ["before sending the confirm", true],
];

describe("a zombie leader wakes after a successor billed", () => {
  it.each(cases)(
    "frozen %s (Stripe clock moved 25h: %s): no second charge, no state change",
    async (point, expireKeys) => {
      const gate = new Gate();
      const zombie = startContender(
        tables,
        emulator.url,
        { runId: "scheduled:zombie", asOf: AS_OF },
        {
          clock: pausableClock(gate),
          wrapGateway: freezeAt(point, gate),
          settings: { concurrency: 1 },
          lease: { leaseDurationMs: LEASE_MS },
        },
      );
      await waitFor(() => gate.closed, 20_000, "the zombie to freeze");
      await sleep(LEASE_MS + 500); // the zombie's lease runs out while it is frozen

      const successor = startContender(tables, emulator.url, { runId: "scheduled:zombie", asOf: AS_OF });
      const successorReport = await successor.report;
      expect(successorReport.led).toHaveLength(1);
      expect(successorReport.led[0]!.fence).toBeGreaterThan(
        zombie.events.find((e) => e.type === "lease-acquired")!.fence,
      );

      if (expireKeys) emulator.advanceClock(25 * 3_600_000);
      const before = {
        charges: await scanAll(tables.doc, tables.names.charges),
        subscriptions: await scanAll(tables.doc, tables.names.subscriptions),
      };
      gate.open();
      const zombieReport = await zombie.report;

      expect(zombieReport.led[0]!.outcome).toBe("lost");
      expect(zombie.events.some((e) => e.type === "fenced-out" || e.type === "lease-lost")).toBe(true);
      // No state change: the tables are exactly as the successor left them.
      expect(await scanAll(tables.doc, tables.names.charges)).toEqual(before.charges);
      expect(await scanAll(tables.doc, tables.names.subscriptions)).toEqual(before.subscriptions);
      // No second charge, and the ledger still reconciles with Stripe.
      const invariants = await checkInvariants(tables.doc, tables.names, emulator.snapshot(), AS_OF);
      expect(invariants.violations).toEqual([]);
      expect(invariants.counts.providerSucceeded).toBe(4);
    },
  );
});
