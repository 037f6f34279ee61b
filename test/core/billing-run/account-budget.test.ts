/**
 * The account's one Stripe budget (functions/core/billing-run/account-budget.ts), in pure time: each
 * leader's rate is its share of the budget by the last count of leaders, climbs back slowly, and halves on
 * a 429. The properties guard what the budget is for: whatever the number of leaders and whatever each
 * one has met (429s, time, counts, new leases), the leaders together never go over the budget; and a 429
 * slows the leader that met it.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AccountBudget, AIMD } from "../../../functions/core/billing-run/account-budget";
import { InvalidInputError } from "../../../functions/core/input-error";

const T0 = 1_000_000;
/** Sums of rates computed in floating point: an ulp or so over is arithmetic, not a broken budget. */
const within = (sum: number, budget: number) => sum <= budget * (1 + 1e-9);

describe("AccountBudget", () => {
  it("starts a leader at the budget over the most leaders there can be", () => {
    expect(new AccountBudget(100, 4, T0).rateAt(T0)).toBe(25);
    expect(new AccountBudget(100, 1, T0).rateAt(T0)).toBe(100);
  });

  it("lowers the rate at once to a smaller share, and climbs to a larger one by the additive step", () => {
    const budget = new AccountBudget(100, 1, T0);
    budget.counted({ leaders: 4, maxLeaders: 4 }, T0);
    expect(budget.rateAt(T0)).toBe(25);
    budget.counted({ leaders: 2, maxLeaders: 4 }, T0 + 1000);
    // 5% of the budget per second: 25 → 50 in 5 s, and never above the share of 50.
    expect(budget.rateAt(T0 + 1000)).toBe(25);
    expect(budget.rateAt(T0 + 3000)).toBeCloseTo(35, 9);
    expect(budget.rateAt(T0 + 6000)).toBe(50);
    expect(budget.rateAt(T0 + 60_000)).toBe(50);
  });

  it("halves the rate on a 429, once per hold, and climbs back to the share", () => {
    const budget = new AccountBudget(100, 2, T0);
    budget.counted({ leaders: 2, maxLeaders: 2 }, T0);
    expect(budget.rateLimited(T0 + 10)).toBe(true);
    expect(budget.rateAt(T0 + 10)).toBe(25);
    // Answers to requests sent before the decrease: no second halving.
    expect(budget.rateLimited(T0 + 10 + AIMD.decreaseHoldMs - 1)).toBe(false);
    expect(budget.rateAt(T0 + 10 + AIMD.decreaseHoldMs - 1)).toBeLessThan(50);
    expect(budget.rateLimited(T0 + 10 + AIMD.decreaseHoldMs)).toBe(true);
    // Back to the share of 50 at 5 requests/s per second.
    expect(budget.rateAt(T0 + 10 + AIMD.decreaseHoldMs + 60_000)).toBe(50);
  });

  it("never falls below a sixteenth of the share, and a 429 never raises a rate", () => {
    const budget = new AccountBudget(160, 1, T0);
    for (let i = 0; i < 20; i++) budget.rateLimited(T0 + i * AIMD.decreaseHoldMs);
    expect(budget.rateAt(T0 + 19 * AIMD.decreaseHoldMs)).toBe(10);
    // A new leader among 100 possible starts at 1.6, under the floor of its share 160: a 429 keeps it there.
    const newcomer = new AccountBudget(160, 100, T0);
    newcomer.counted({ leaders: 1, maxLeaders: 100 }, T0);
    newcomer.rateLimited(T0);
    expect(newcomer.rateAt(T0)).toBe(1.6);
  });

  it("a new lease starts again from the most conservative share", () => {
    const budget = new AccountBudget(100, 4, T0);
    budget.counted({ leaders: 1, maxLeaders: 4 }, T0);
    expect(budget.rateAt(T0 + 60_000)).toBe(100);
    budget.joined(T0 + 60_000);
    expect(budget.rateAt(T0 + 60_000)).toBe(25);
  });

  it("refuses a budget that is not a positive number, naming the setting", () => {
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new AccountBudget(bad, 1, T0)).toThrow(InvalidInputError);
    }
  });
});

/** One leader's history: what happened to it, in order, each after some time. */
type Step =
  | { readonly kind: "wait"; readonly ms: number }
  | { readonly kind: "429" }
  | { readonly kind: "count"; readonly extra: number }
  | { readonly kind: "joined" };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 120_000 }) }),
  fc.record({ kind: fc.constant("429" as const) }),
  // A count sees the true number of leaders, or more (a holder that has just died still looks held).
  fc.record({ kind: fc.constant("count" as const), extra: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant("joined" as const) }),
);

describe("AccountBudget: properties", () => {
  it("the leaders' rates never add up to more than the budget, for any number of leaders", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 0, max: 8 }),
        fc.array(fc.array(step, { maxLength: 30 }), { minLength: 64, maxLength: 64 }),
        (budget, leaders, idleShards, histories) => {
          const shards = leaders + idleShards;
          const budgets = Array.from({ length: leaders }, () => new AccountBudget(budget, shards, T0));
          let now = T0;
          const total = () => budgets.reduce((sum, b) => sum + b.rateAt(now), 0);
          expect(within(total(), budget)).toBe(true);
          // The leaders' steps interleave on one timeline; the sum is checked after every one.
          const longest = Math.max(...histories.slice(0, leaders).map((h) => h.length));
          for (let i = 0; i < longest; i++) {
            for (let l = 0; l < leaders; l++) {
              const s = histories[l]![i];
              if (s === undefined) continue;
              const b = budgets[l]!;
              if (s.kind === "wait") now += s.ms;
              else if (s.kind === "429") b.rateLimited(now);
              else if (s.kind === "joined") b.joined(now);
              else b.counted({ leaders: leaders + s.extra, maxLeaders: shards + s.extra }, now);
              expect(within(total(), budget), `sum ${total()} over ${budget}`).toBe(true);
            }
          }
          // Once every leader has counted the others, each is at most its share, whatever it met before.
          for (const b of budgets) b.counted({ leaders, maxLeaders: shards }, now);
          now += 3_600_000;
          expect(within(total(), budget)).toBe(true);
          for (const b of budgets) expect(b.rateAt(now)).toBeCloseTo(budget / leaders, 9);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("after a 429 the rate drops: halved, or to the floor, and never up", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 64 }),
        fc.array(step, { maxLength: 20 }),
        fc.integer({ min: AIMD.decreaseHoldMs, max: 600_000 }),
        (budget, leaders, shards, history, quiet) => {
          const b = new AccountBudget(budget, Math.max(leaders, shards), T0);
          let now = T0;
          for (const s of history) {
            if (s.kind === "wait") now += s.ms;
            else if (s.kind === "429") b.rateLimited(now);
            else if (s.kind === "joined") b.joined(now);
            else b.counted({ leaders: leaders + s.extra, maxLeaders: shards }, now);
          }
          // A 429 after a quiet spell longer than the hold always decreases.
          now += quiet;
          const before = b.rateAt(now);
          const floor = b.share * AIMD.floorOfShare;
          expect(b.rateLimited(now)).toBe(true);
          const after = b.rateAt(now);
          expect(after).toBeLessThanOrEqual(before);
          expect(after).toBeCloseTo(Math.min(before, Math.max(floor, before * AIMD.decreaseFactor)), 9);
          if (before > floor) expect(after).toBeLessThan(before);
        },
      ),
      { numRuns: 300 },
    );
  });
});
