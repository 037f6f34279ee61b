/**
 * The stray sweep (functions/core/billing-run/sweeps.ts) against a model of the ledger and of Stripe's
 * list, over generated histories: creates by the leader and late creates from paused processes (of the
 * record's generation, or an older one), records, successes, declines and their dunning retries, creates
 * in doubt and their next generation, Stripe's clock moving with the job's or jumping a day ahead,
 * cancels that fail, and sweeps that run out of time part-way. Each sweep starts where the last one saved
 * its progress, as the lease carries it from run to run.
 *
 * Invariant 7, strays: one whole sweep after the periods settle leaves no live PaymentIntent of the job's
 * that is not the ledger's for its period; and no sweep ever cancels a PaymentIntent the ledger names for
 * an open period, or one that may be about to be recorded (the record's own generation, none recorded).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ManualClock } from "../../../functions/core/clock";
import {
  claimed,
  creatingAgain,
  declined,
  inDoubt,
  recorded,
  retrying,
  succeeded,
  type ChargeRecord,
  type WriteStamp,
} from "../../../functions/core/billing/charge-state";
import type { SweepProgress } from "../../../functions/core/lease/lease";
import type { ChargeLedger, SubscriptionSource } from "../../../functions/core/billing-run/ports";
import { sweep } from "../../../functions/core/billing-run/sweeps";
import {
  renewalMetadata,
  type CancelOutcome,
  type PaymentGateway,
  type PaymentIntentView,
} from "../../../functions/core/payments/payment-gateway";

const HOUR = 3_600;
const PERIODS = ["sub_a", "sub_b"] as const;
const PERIOD_START = "2026-11-01T00:00:00.000Z";

type Step =
  | { readonly kind: "claim"; readonly period: number }
  /** A create of the record's generation (`older`: 0) or of an older one, executed at Stripe now. */
  | { readonly kind: "create"; readonly period: number; readonly older: number }
  | { readonly kind: "record"; readonly period: number }
  | { readonly kind: "succeed"; readonly period: number }
  | { readonly kind: "decline"; readonly period: number }
  | { readonly kind: "retry"; readonly period: number }
  | { readonly kind: "doubt"; readonly period: number }
  | { readonly kind: "create-again"; readonly period: number }
  | { readonly kind: "tick"; readonly seconds: number }
  | { readonly kind: "jump"; readonly hours: number }
  /** `stopAfter`: the sweep's time runs out after that many checks; `failCancels`: every cancel is in doubt. */
  | { readonly kind: "sweep"; readonly stopAfter: number | null; readonly failCancels: boolean };

const period = fc.integer({ min: 0, max: PERIODS.length - 1 });
const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: period.map((p) => ({ kind: "claim" as const, period: p })), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant("create" as const), period, older: fc.constantFrom(0, 0, 1) }),
    weight: 4,
  },
  { arbitrary: period.map((p) => ({ kind: "record" as const, period: p })), weight: 1 },
  { arbitrary: period.map((p) => ({ kind: "succeed" as const, period: p })), weight: 1 },
  { arbitrary: period.map((p) => ({ kind: "decline" as const, period: p })), weight: 1 },
  { arbitrary: period.map((p) => ({ kind: "retry" as const, period: p })), weight: 1 },
  { arbitrary: period.map((p) => ({ kind: "doubt" as const, period: p })), weight: 2 },
  { arbitrary: period.map((p) => ({ kind: "create-again" as const, period: p })), weight: 2 },
  {
    arbitrary: fc.integer({ min: 1, max: 2 * HOUR }).map((s) => ({ kind: "tick" as const, seconds: s })),
    weight: 3,
  },
  {
    arbitrary: fc.integer({ min: 24, max: 30 }).map((h) => ({ kind: "jump" as const, hours: h })),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("sweep" as const),
      stopAfter: fc.option(fc.integer({ min: 0, max: 6 }), { freq: 3 }),
      failCancels: fc.boolean(),
    }),
    weight: 3,
  },
);

/** Stripe's PaymentIntents and the ledger, as the sweep sees them through its ports. */
class World {
  readonly clock = new ManualClock(Date.parse("2026-11-20T00:00:00.000Z"));
  /** Stripe's clock, epoch seconds: moves with the job's, and jumps ahead of it. */
  stripeNow = Math.floor(this.clock.now() / 1000);
  readonly intents = new Map<string, PaymentIntentView & { readonly generation: number }>();
  readonly records = new Map<string, ChargeRecord>();
  progress: SweepProgress = { subscriptionsCursor: null, paymentIntentsSince: null };
  readonly problems: string[] = [];
  private fence = 1;
  private failCancels = false;

  private stamp(): WriteStamp {
    return { fence: this.fence, at: new Date(this.clock.now()).toISOString() };
  }

  private setStatus(id: string, status: PaymentIntentView["status"]): void {
    const pi = this.intents.get(id)!;
    this.intents.set(id, { ...pi, status });
  }

  private live(subscriptionId: string, generation: number): string | undefined {
    return [...this.intents.values()].find(
      (pi) =>
        pi.metadata.subscription_id === subscriptionId &&
        pi.generation === generation &&
        pi.status === "requires_confirmation",
    )?.id;
  }

  apply(s: Step): void {
    if (s.kind === "tick") {
      this.clock.advance(s.seconds * 1000);
      this.stripeNow += s.seconds;
      return;
    }
    if (s.kind === "jump") {
      this.stripeNow += s.hours * HOUR;
      return;
    }
    if (s.kind === "sweep") throw new Error("sweeps are awaited: see run()");
    const subscriptionId = PERIODS[s.period]!;
    const record = this.records.get(subscriptionId);
    const save = (next: ChargeRecord) => this.records.set(subscriptionId, next);
    if (s.kind === "claim") {
      if (record) return;
      const fields = {
        subscriptionId,
        periodStart: PERIOD_START,
        customerId: "cus_1",
        paymentMethodId: "pm_1",
      };
      return void save(claimed({ ...fields, amount: 1500, currency: "usd" }, "create-0", this.stamp()));
    }
    if (!record) return;
    switch (s.kind) {
      case "create": {
        const generation = record.createGeneration - s.older;
        if (generation < 0) return;
        const id = `pi_${this.intents.size + 1}`;
        const metadata = renewalMetadata(subscriptionId, PERIOD_START, generation);
        this.intents.set(id, {
          id,
          generation,
          status: "requires_confirmation",
          amount: 1500,
          currency: "usd",
          customerId: "cus_1",
          latestChargeId: null,
          metadata,
          created: this.stripeNow,
          lastError: null,
        });
        return;
      }
      case "record": {
        if ((record.state !== "pending" && record.state !== "in_doubt") || record.paymentIntentId) return;
        const id = this.live(subscriptionId, record.createGeneration);
        if (id) save(recorded(record, id, this.stamp()));
        return;
      }
      case "succeed":
        if (record.state !== "pending" || !record.paymentIntentId) return;
        this.setStatus(record.paymentIntentId, "succeeded");
        return void save(
          succeeded(record, { paymentIntentId: record.paymentIntentId, chargeId: null }, this.stamp()),
        );
      case "decline": {
        if (record.state !== "pending" || !record.paymentIntentId) return;
        this.setStatus(record.paymentIntentId, "canceled");
        const decline = { paymentIntentId: record.paymentIntentId, code: "card_declined", declineCode: null };
        return void save(declined(record, { ...decline, retryAt: PERIOD_START }, this.stamp()));
      }
      case "retry":
        if (record.state !== "declined" || !record.canceledPaymentIntentIds) return;
        return void save(
          retrying(
            { ...record, canceledPaymentIntentIds: record.canceledPaymentIntentIds },
            "pm_1",
            `create-${record.createGeneration + 1}`,
            this.stamp(),
          ),
        );
      case "doubt":
        if (record.state !== "pending" || record.paymentIntentId) return;
        return void save(inDoubt(record, "create: timed out", undefined, this.stamp()));
      case "create-again":
        if (record.state !== "in_doubt" || record.paymentIntentId) return;
        return void save(creatingAgain(record, `create-${record.createGeneration + 1}`, this.stamp()));
    }
  }

  /** Every open record settles: its own PaymentIntent succeeds, recorded first if one is live. */
  settleAll(): void {
    for (const [i, subscriptionId] of PERIODS.entries()) {
      this.apply({ kind: "record", period: i });
      const record = this.records.get(subscriptionId);
      if (record?.state === "in_doubt" && record.paymentIntentId === undefined) continue;
      if (record?.state === "in_doubt") {
        this.records.set(subscriptionId, recorded(record, record.paymentIntentId!, this.stamp()));
      }
      this.apply({ kind: "succeed", period: i });
    }
  }

  async sweepOnce(stopAfter: number | null, failCancels: boolean): Promise<void> {
    this.failCancels = failCancels;
    this.fence += 1;
    let checks = 0;
    const result = await sweep(
      { source: this.source(), ledger: this.ledger(), gateway: this.gateway(), clock: this.clock },
      () => {
        throw new Error("nothing to quarantine in this model");
      },
      [0],
      this.progress,
      {
        pages: 1,
        pageSize: 100,
        mayGoOn: async () => stopAfter === null || checks++ < stopAfter,
        guard: () => null,
      },
    );
    this.progress = result.progress;
  }

  /** Live PaymentIntents of the job's that are not the ledger's for their period. */
  strays(): string[] {
    return [...this.intents.values()]
      .filter((pi) => pi.status === "requires_confirmation")
      .filter((pi) => this.records.get(pi.metadata.subscription_id!)?.paymentIntentId !== pi.id)
      .map(
        (pi) =>
          `${pi.id} (${pi.metadata.subscription_id}, generation ${pi.generation}, created ${pi.created})`,
      );
  }

  private source(): SubscriptionSource {
    return {
      scanSubscriptions: async () => ({ items: [], cursor: null }),
      queryDue: async () => ({ items: [], cursor: null }),
      getSubscription: async () => null,
    };
  }

  private ledger(): ChargeLedger {
    return {
      getCharge: async (subscriptionId) => this.records.get(subscriptionId) ?? null,
      quarantineSubscription: async () => ({ ok: true }),
      saveCharge: async () => ({ ok: true }),
    };
  }

  private gateway(): PaymentGateway {
    const unused = async (): Promise<never> => {
      throw new Error("the sweep only lists and cancels");
    };
    return {
      createPaymentIntent: unused,
      confirmPaymentIntent: unused,
      retrievePaymentIntent: unused,
      findPaymentIntentsForPeriod: unused,
      // Stripe's list: newest first, every PaymentIntent created at or after `createdSince`.
      listJobPaymentIntents: async (createdSince) => ({
        kind: "found",
        paymentIntents: [...this.intents.values()]
          .filter((pi) => pi.created >= createdSince)
          .sort((a, b) => b.created - a.created),
      }),
      cancelPaymentIntent: async (id): Promise<CancelOutcome> => this.cancel(id),
    };
  }

  private cancel(id: string): CancelOutcome {
    const pi = this.intents.get(id)!;
    const record = this.records.get(pi.metadata.subscription_id!);
    const open = record?.state === "pending" || record?.state === "in_doubt";
    if (open && record.paymentIntentId === id)
      this.problems.push(`canceled ${id}, the ledger's for an open period`);
    if (open && record.paymentIntentId === undefined && pi.generation === record.createGeneration) {
      this.problems.push(`canceled ${id}, of the open record's generation with none recorded yet`);
    }
    if (this.failCancels) return { kind: "in_doubt", reason: "timed out" };
    if (pi.status !== "requires_confirmation") {
      return { kind: "unexpected_state", paymentIntentId: id, message: `it is ${pi.status}` };
    }
    this.setStatus(id, "canceled");
    return { kind: "canceled", paymentIntent: this.intents.get(id)! };
  }
}

async function run(steps: readonly Step[]): Promise<World> {
  const world = new World();
  for (const s of steps) {
    if (s.kind === "sweep") await world.sweepOnce(s.stopAfter, s.failCancels);
    else world.apply(s);
  }
  return world;
}

describe("the stray sweep over generated histories", () => {
  it("never cancels the ledger's PaymentIntent, nor one that may be about to be recorded", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 80, size: "max" }), async (steps) => {
        const world = await run(steps);
        expect(world.problems).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });

  it("leaves no stray once the periods settle and one whole sweep runs, wherever the last one stopped", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 80, size: "max" }), async (steps) => {
        const world = await run(steps);
        world.settleAll();
        await world.sweepOnce(null, false);
        expect(world.strays()).toEqual([]);
        expect(world.problems).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });

  it("a late create of an older generation is a stray until a sweep cancels it (the model sees strays)", async () => {
    const world = await run([
      { kind: "claim", period: 0 },
      { kind: "create", period: 0, older: 0 },
      { kind: "record", period: 0 },
      { kind: "decline", period: 0 },
      { kind: "retry", period: 0 },
      { kind: "create", period: 0, older: 1 },
    ]);
    world.settleAll();
    expect(world.strays()).toEqual([expect.stringMatching(/^pi_2 \(sub_a, generation 0,/)]);
    await world.sweepOnce(null, false);
    expect(world.strays()).toEqual([]);
  });
});
