/**
 * A leader whose process stalls for a moment (a long garbage collection, a CPU-starved host, a first
 * `Error.stack` that decodes a whole bundle's source map) finds its lease short of safe time at its next
 * send. The guard holds that send back; the lease itself was never taken, so the leader renews and goes
 * on. Invariants: liveness (a stall the lease survives does not end the run: only the period it held
 * back is left to the next link) and card attempts (the held-back period's card is tried once in all, by
 * the run that confirms it). On DynamoDB Local and the emulator over HTTP.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { StripeEmulator } from "../../../dev/stripe-emulator";
import { monthlySeed, type SubscriptionSeed } from "../../../dev/seed";
import type { PaymentGateway } from "../../../functions/core/payments/payment-gateway";
import { systemClock, type Clock } from "../../../functions/core/clock";
import type { TestTables } from "../../support/dynamo";
import { useTablesAndEmulator } from "../../support/emulator";
import { cardAttempts, intentsOf } from "../../support/stripe-record";
import { seedWithTestKey } from "../../support/seeding";
import { delegate, startContender } from "../../support/billing";
import type { RunRequest } from "../../../functions/core/billing-run/shard-leader";
import type { LeaseTimings } from "../../../functions/core/lease/lease-timings";

const DAY = 86_400_000;
// Roomy enough that a loaded test machine's own pauses never exhaust the safe time; the stalls below are
// clock jumps, so a long lease costs no test time.
const LEASE: Partial<LeaseTimings> = {
  leaseDurationMs: 10_000,
  renewIntervalMs: 2_000,
  safetyMarginMs: 4_000,
};
let tables: TestTables;
let emulator: StripeEmulator;

useTablesAndEmulator("stalls", (started) => ({ tables, emulator } = started));

/** Card attempts on every PaymentIntent of the subscription. */
function attemptsOn(subscriptionId: string): number {
  return intentsOf(emulator, subscriptionId).reduce((n, pi) => n + cardAttempts(emulator, pi.id), 0);
}

function due(subscriptionId: string): SubscriptionSeed {
  return monthlySeed(subscriptionId, new Date(Date.now() - DAY), { card: "succeeds", amount: 1200 });
}

/**
 * A leader over the shard whose clock `stall` moves on at once, as a process's does across a stall; one
 * renewal at a time, so the stall lands where the test says. Nobody else contends.
 */
function stallingLeader(
  request: RunRequest,
  wrap: (inner: PaymentGateway, stall: (ms: number) => void) => PaymentGateway,
) {
  let stalled = 0;
  const clock: Clock = {
    now: () => Date.now() + stalled,
    sleep: (ms, signal) => systemClock.sleep(ms, signal),
  };
  const stall = (ms: number) => {
    stalled += ms;
  };
  return startContender(tables, emulator.url, request, {
    clock,
    lease: LEASE,
    wrapGateway: (inner) => wrap(inner, stall),
    settings: { concurrency: 1 },
  });
}

describe("a leader that stalls just before a confirmation, for longer than its lease's safe time", () => {
  it("holds that confirmation back, renews, and bills the rest of the shard in the same run", async () => {
    const ids = ["stall_a", "stall_b", "stall_c", "stall_d"];
    await seedWithTestKey(tables, emulator.url, ids.map(due));
    // A stall of a whole lease at the first confirmation.
    let stalledAt: string | null = null;
    const request = { runId: "scheduled:stall", asOf: new Date().toISOString() };
    const run = stallingLeader(request, (inner, stall) => ({
      ...delegate(inner),
      confirmPaymentIntent: async (...args) => {
        if (stalledAt === null) {
          stalledAt = args[0];
          stall(LEASE.leaseDurationMs!);
        }
        return inner.confirmPaymentIntent(...args);
      },
    }));
    const first = await run.report;

    expect(stalledAt).not.toBeNull();
    const heldBack = ids.find((id) => intentsOf(emulator, id).some((pi) => pi.id === stalledAt))!;
    expect(first.tally.succeeded).toBe(ids.length - 1);
    expect(first.led.map((s) => [s.outcome, s.leftDue])).toEqual([["partial", 1]]);
    expect(attemptsOn(heldBack)).toBe(0);
    const heldBackEvents = run.events.flatMap((e) => (e.type === "send-held-back" ? [e.subscriptionId] : []));
    expect(heldBackEvents).toEqual([heldBack]);

    // The next link of the same run confirms the PaymentIntent the first one recorded.
    const next = await startContender(tables, emulator.url, request, { lease: LEASE }).report;
    expect(next.tally.succeeded).toBe(1);
    expect(intentsOf(emulator, heldBack).map((pi) => [pi.id, pi.status])).toEqual([[stalledAt, "succeeded"]]);
    for (const id of ids) expect(attemptsOn(id)).toBe(1);
  });

  it("whatever request it stalls before, and for however long: each period is charged once, with one card attempt, and the run goes on past it", async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("createPaymentIntent" as const, "confirmPaymentIntent" as const),
        fc.integer({ min: 1, max: 3 }),
        // In leases: a short stall the safe time covers, up to one no lease could.
        fc.constantFrom(0.2, 0.5, 1, 1.5),
        async (method, nth, leases) => {
          round += 1;
          const ids = [1, 2, 3].map((i) => `stall_p${round}_${i}`);
          await seedWithTestKey(tables, emulator.url, ids.map(due));
          let calls = 0;
          const request = { runId: `scheduled:stall-${round}`, asOf: new Date().toISOString() };
          await stallingLeader(request, (inner, stall) => {
            const stallAt = (called: typeof method) => {
              if (called === method && ++calls === nth) stall(Math.round(leases * LEASE.leaseDurationMs!));
            };
            return {
              ...delegate(inner),
              createPaymentIntent: async (...args) => {
                stallAt("createPaymentIntent");
                return inner.createPaymentIntent(...args);
              },
              confirmPaymentIntent: async (...args) => {
                stallAt("confirmPaymentIntent");
                return inner.confirmPaymentIntent(...args);
              },
            };
          }).report;
          // Liveness: the run went on past the stall; at most the one period it held back is left.
          const paid = (id: string) => intentsOf(emulator, id).some((pi) => pi.status === "succeeded");
          expect(ids.filter(paid).length).toBeGreaterThanOrEqual(ids.length - 1);
          await startContender(tables, emulator.url, request, { lease: LEASE }).report;
          for (const id of ids) {
            // Money and attempts: one succeeded PaymentIntent per period, tried once.
            const statuses = intentsOf(emulator, id).map((pi) => pi.status);
            expect(statuses.filter((st) => st === "succeeded")).toHaveLength(1);
            expect(statuses.filter((st) => st !== "succeeded" && st !== "canceled")).toEqual([]);
            expect(attemptsOn(id)).toBe(1);
          }
        },
      ),
      { numRuns: 8 },
    );
  });
});
