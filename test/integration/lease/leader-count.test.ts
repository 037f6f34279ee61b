/**
 * The count of leaders that sets each leader's share of the Stripe budget, on DynamoDB Local: the lease
 * records DynamoLeaseStore.listLeaseRows reads, and what a BudgetPacer makes of them, with leases taken,
 * renewed, released and left to expire by the real LeaseClient. It protects the account-wide budget: a
 * leader counts every other leader holding a shard lease, so that their shares add up to the budget.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ManualClock, systemClock } from "../../../functions/core/clock";
import { LeaseClient } from "../../../functions/core/lease/lease-client";
import { shardLeaseKey, type HeldLease } from "../../../functions/core/lease/lease";
import { DynamoLeaseStore } from "../../../functions/aws/dynamo-lease-store";
import { BudgetPacer, countLeaders } from "../../../functions/core/billing-run/budget-pacer";
import { createTestTables, type TestTables } from "../../support/dynamo";

let tables: TestTables;
beforeAll(async () => {
  tables = await createTestTables("leader-count");
});

const store = () => new DynamoLeaseStore(tables.doc, tables.names.leases);

async function take(client: LeaseClient, shard: number, owner: string): Promise<HeldLease> {
  const result = await client.acquire(shardLeaseKey(shard), owner);
  if (result.kind !== "acquired") throw new Error(`could not take shard ${shard}: ${result.kind}`);
  return result.lease;
}

describe("the leaders in the lease table", () => {
  it("are the shard leases held and not expired: released and expired ones do not count", async () => {
    const live = new LeaseClient(store(), systemClock);
    // A holder whose lease ran out an hour ago, by everyone's clock: it died without releasing.
    const dead = new LeaseClient(store(), new ManualClock(Date.now() - 3_600_000));
    const leases = await Promise.all([take(live, 0, "a"), take(live, 1, "b"), take(live, 2, "c")]);
    await take(dead, 3, "dead");
    await live.release(leases[2]!, {
      runId: "r",
      asOf: new Date().toISOString(),
      outcome: "complete",
      finishedAt: Date.now(),
    });
    await live.renew(leases[0]!);

    const read = await store().listLeaseRows();
    expect(read.complete).toBe(true);
    // One row per lease record (the fence records are not rows), each with its holder and expiry.
    expect(read.rows.map((r) => r.leaseKey).sort()).toEqual([0, 1, 2, 3].map(shardLeaseKey));
    expect(read.rows.find((r) => r.leaseKey === shardLeaseKey(2))?.owner).toBeNull();
    expect(read.rows.find((r) => r.leaseKey === shardLeaseKey(0))).toMatchObject({ owner: "a" });

    expect(countLeaders(read, Date.now(), null, 4)).toEqual({ leaders: 2, maxLeaders: 4 });
    // Shard 4 never had a lease: a SHARD_COUNT of 6 makes it possible, not active.
    expect(countLeaders(read, Date.now(), null, 6)).toEqual({ leaders: 2, maxLeaders: 6 });
  });

  it("set the pacer's share: a leader among three others gets a quarter of the budget", async () => {
    const own = await createTestTables("leader-share");
    const leaseStore = new DynamoLeaseStore(own.doc, own.names.leases);
    const client = new LeaseClient(leaseStore, systemClock);
    await Promise.all([take(client, 1, "b"), take(client, 2, "c"), take(client, 3, "d")]);
    const pacer = new BudgetPacer(systemClock, {
      accountRequestsPerSecond: 100,
      shardCount: 8,
      readLeaseRows: () => leaseStore.listLeaseRows(),
    });
    // Before it counts, a new leader takes the budget over the most leaders there can be.
    expect(pacer.rate).toBe(12.5);
    await take(client, 0, "a");
    pacer.observe({ type: "lease-acquired", shard: 0, fence: 1, tookOverFrom: null });
    await pacer.count();
    expect(pacer.leaders).toBe(4);
    expect(pacer.rate).toBeLessThanOrEqual(25);
  });
});
