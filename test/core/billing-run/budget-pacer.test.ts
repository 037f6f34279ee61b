/**
 * The pacer (functions/core/billing-run/budget-pacer.ts) on a ManualClock, over a lease table kept in
 * memory: who counts as a leader, when a leader counts again, what a 429 does to it, and the property
 * that matters: leaders that count the same table never add up to more than the account's budget.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ManualClock } from "../../../functions/core/clock";
import {
  BudgetPacer,
  countLeaders,
  LEADER_COUNT_INTERVAL_MS,
  type LeaseRow,
  type LeaseRows,
} from "../../../functions/core/billing-run/budget-pacer";
import { shardLeaseKey } from "../../../functions/core/lease/lease";
import type { RunEvent } from "../../../functions/core/billing-run/events";

const T0 = 1_000_000;
const held = (shard: number, expiresAt = T0 + 20_000, owner = `c${shard}`): LeaseRow => ({
  leaseKey: shardLeaseKey(shard),
  owner,
  expiresAt,
});
const released = (shard: number): LeaseRow => ({ leaseKey: shardLeaseKey(shard), owner: null, expiresAt: 0 });
const complete = (rows: LeaseRow[]): LeaseRows => ({ rows, complete: true });
const acquired = (shard: number): RunEvent => ({
  type: "lease-acquired",
  shard,
  fence: 1,
  tookOverFrom: null,
});

/** A pacer over a table the test edits; counts how often the table is read. */
function pacerOver(clock: ManualClock, budget: number, shardCount: number, table: { rows: LeaseRow[] }) {
  const reads = { count: 0 };
  const pacer = new BudgetPacer(clock, {
    accountRequestsPerSecond: budget,
    shardCount,
    readLeaseRows: async () => {
      reads.count += 1;
      return complete([...table.rows]);
    },
  });
  return { pacer, reads };
}

describe("countLeaders", () => {
  it("counts shard leases held and not yet expired, by this contender's clock", () => {
    const rows = [held(0), held(1, T0 - 1), released(2), held(3), { ...held(9), leaseKey: "other/key" }];
    expect(countLeaders(complete(rows), T0, null, 4)).toEqual({ leaders: 2, maxLeaders: 4 });
  });

  it("counts its own lease even when the read does not show it yet", () => {
    expect(countLeaders(complete([held(0)]), T0, shardLeaseKey(1), 2)).toEqual({ leaders: 2, maxLeaders: 2 });
    expect(countLeaders(complete([]), T0, null, 1)).toEqual({ leaders: 1, maxLeaders: 1 });
  });

  it("takes shard keys beyond SHARD_COUNT as possible leaders (a lowered shard count)", () => {
    expect(countLeaders(complete([held(0), released(5)]), T0, null, 2)).toEqual({
      leaders: 1,
      maxLeaders: 3,
    });
  });

  it("counts every shard as led when the read stopped at its bound", () => {
    expect(countLeaders({ rows: [held(0)], complete: false }, T0, null, 8)).toEqual({
      leaders: 8,
      maxLeaders: 8,
    });
  });
});

describe("BudgetPacer", () => {
  it("starts a new leader at the budget over the shards, then takes the share the count gives it", async () => {
    const clock = new ManualClock(T0);
    const table = { rows: [held(0), released(1), released(2), released(3)] };
    const { pacer, reads } = pacerOver(clock, 100, 4, table);
    expect(pacer.rate).toBe(25);
    pacer.observe(acquired(0));
    await pacer.count();
    expect(reads.count).toBe(1);
    expect(pacer.leaders).toBe(1);
    // Alone: it climbs to the whole budget at 5 requests/s per second.
    clock.advance(20_000);
    expect(pacer.rate).toBe(100);
  });

  it("counts again at most once an interval, and only while it leads", async () => {
    const clock = new ManualClock(T0);
    const { pacer, reads } = pacerOver(clock, 100, 2, { rows: [held(0)] });
    await pacer.take();
    expect(reads.count).toBe(0); // not leading: nothing to count
    pacer.observe(acquired(0));
    await pacer.count();
    expect(reads.count).toBe(1);
    await pacer.take();
    expect(reads.count).toBe(1);
    clock.advance(LEADER_COUNT_INTERVAL_MS);
    await pacer.take();
    expect(reads.count).toBe(2);
    pacer.observe({ type: "lease-released", shard: 0, fence: 1, outcome: "complete" });
    clock.advance(10 * LEADER_COUNT_INTERVAL_MS);
    await pacer.take();
    expect(reads.count).toBe(2);
  });

  it("lowers its rate at once when a count shows another leader", async () => {
    const clock = new ManualClock(T0);
    const table = { rows: [held(0), released(1)] };
    const { pacer } = pacerOver(clock, 100, 2, table);
    pacer.observe(acquired(0));
    await pacer.count();
    clock.advance(60_000);
    expect(pacer.rate).toBe(100);
    table.rows = [held(0, T0 + 90_000), held(1, T0 + 90_000)];
    await pacer.count();
    expect(pacer.leaders).toBe(2);
    expect(pacer.rate).toBe(50);
  });

  it("halves its rate on a 429 and reports it", async () => {
    const clock = new ManualClock(T0);
    const { pacer } = pacerOver(clock, 40, 1, { rows: [] });
    pacer.observe(acquired(0));
    await pacer.count();
    expect(pacer.rate).toBe(40);
    pacer.rateLimited();
    pacer.rateLimited(); // the same burst of 429s: one decrease
    expect(pacer.rate).toBe(20);
    await pacer.take();
    expect(pacer.takeStats()).toMatchObject({ requests: 1, rateLimited: 2, decreases: 1, mostLeaders: 1 });
    expect(pacer.takeStats()).toMatchObject({ requests: 0, rateLimited: 0, decreases: 0 });
  });

  it("goes on with the last count when the table cannot be read", async () => {
    const clock = new ManualClock(T0);
    const pacer = new BudgetPacer(clock, {
      accountRequestsPerSecond: 60,
      shardCount: 3,
      readLeaseRows: () => Promise.reject(new Error("throttled")),
    });
    pacer.observe(acquired(0));
    await pacer.count();
    expect(pacer.rate).toBe(20);
    expect(pacer.takeStats()).toMatchObject({ counts: 1, countFailures: 1 });
  });

  it("leaders that count the same table add up to at most the budget, whatever the table holds", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.constantFrom("held", "expired", "released", "absent"), { minLength: 12, maxLength: 12 }),
        fc.integer({ min: 0, max: 600_000 }),
        async (budget, shardCount, states, later) => {
          const clock = new ManualClock(T0);
          const rows: LeaseRow[] = [];
          const leaders: number[] = [];
          states.slice(0, shardCount).forEach((state, shard) => {
            if (state === "held") {
              rows.push(held(shard, T0 + 60_000));
              leaders.push(shard);
            } else if (state === "expired") rows.push(held(shard, T0 - 1));
            else if (state === "released") rows.push(released(shard));
          });
          const pacers = leaders.map((shard) => {
            const { pacer } = pacerOver(clock, budget, shardCount, { rows });
            pacer.observe(acquired(shard));
            return pacer;
          });
          await Promise.all(pacers.map((p) => p.count()));
          clock.advance(later);
          const sum = pacers.reduce((total, p) => total + p.rate, 0);
          expect(sum).toBeLessThanOrEqual(budget * (1 + 1e-9));
        },
      ),
      { numRuns: 200 },
    );
  });
});
