/**
 * Staggered hand-overs: in a run's first invocation the leader of the k-th of the n shards it bills stops
 * claiming k/n of its window early, so that leaders starting together hand over one at a time, a window/n
 * apart; no leader is left less than the minimum window, and none stops later than its time budget.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { handoverStaggerMs, MIN_STAGGERED_WINDOW_MS } from "../../../functions/core/billing-run/stagger";

describe("handoverStaggerMs", () => {
  it("staggers four shards a quarter of the window apart, the first not at all", () => {
    const billable = [0, 1, 2, 3];
    expect(billable.map((shard) => handoverStaggerMs(shard, billable, 12_000))).toEqual([
      0, 3_000, 6_000, 9_000,
    ]);
  });

  it("goes by a shard's place among the run's shards, in whatever order they are given", () => {
    expect(handoverStaggerMs(7, [7, 2], 10_000)).toBe(5_000);
    expect(handoverStaggerMs(2, [7, 2], 10_000)).toBe(0);
  });

  it("does not stagger a lone shard, a shard the run does not bill, or a leader with no window", () => {
    expect(handoverStaggerMs(0, [0], 60_000)).toBe(0);
    expect(handoverStaggerMs(5, [0, 1], 60_000)).toBe(0);
    expect(handoverStaggerMs(1, [0, 1], 0)).toBe(0);
    expect(handoverStaggerMs(1, [0, 1], -500)).toBe(0);
    expect(handoverStaggerMs(1, [0, 1], Number.NaN)).toBe(0);
  });

  it("does not stagger where it would leave less than the minimum window", () => {
    expect(handoverStaggerMs(3, [0, 1, 2, 3], 4 * MIN_STAGGERED_WINDOW_MS)).toBe(3 * MIN_STAGGERED_WINDOW_MS);
    expect(handoverStaggerMs(3, [0, 1, 2, 3], 4 * MIN_STAGGERED_WINDOW_MS - 4)).toBe(0);
  });

  const shardSets = fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 64 });

  it("never stops a leader after its budget, nor leaves it less than the minimum window", () => {
    fc.assert(
      fc.property(shardSets, fc.integer({ min: -1_000, max: 15 * 60_000 }), (billable, windowMs) => {
        for (const shard of billable) {
          const stagger = handoverStaggerMs(shard, billable, windowMs);
          expect(stagger).toBeGreaterThanOrEqual(0);
          if (stagger > 0) expect(windowMs - stagger).toBeGreaterThanOrEqual(MIN_STAGGERED_WINDOW_MS);
        }
      }),
    );
  });

  it("leaders that start together with a roomy window stop one at a time, a window/n apart", () => {
    fc.assert(
      fc.property(shardSets, fc.integer({ min: 0, max: 15 * 60_000 }), (billable, extra) => {
        const n = billable.length;
        const windowMs = n * MIN_STAGGERED_WINDOW_MS + extra;
        // When each stops claiming, counted from their common start.
        const stops = billable.map((shard) => windowMs - handoverStaggerMs(shard, billable, windowMs));
        const sorted = [...stops].sort((a, b) => a - b);
        expect(sorted.at(-1)).toBe(windowMs);
        for (let i = 1; i < n; i++) {
          expect(Math.abs(sorted[i]! - sorted[i - 1]! - windowMs / n)).toBeLessThanOrEqual(1);
        }
      }),
    );
  });
});
