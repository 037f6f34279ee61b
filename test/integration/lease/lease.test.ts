/**
 * The lease protocol against DynamoDB Local: one holder, fences that only grow, zombies fenced out.
 * Invariants (docs/design.md#invariants): 3 — fences for a key strictly increase, forever; 4 — a write
 * under a stale fence is rejected by DynamoDB.
 */
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { DeleteCommand, GetCommand, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { LeaseClient, type AcquireResult } from "../../../functions/core/lease/lease-client";
import { LeaseContentionError } from "../../../functions/core/lease/lease-contention-error";
import type { AcquireAttempt } from "../../../functions/core/lease/lease-store";
import { ManualClock, MAX_CLOCK_SKEW_MS, skewedClock, systemClock } from "../../../functions/core/clock";
import { DynamoLeaseStore } from "../../../functions/aws/dynamo-lease-store";
import { FencedWriter } from "../../../functions/aws/fenced-writer";
import { LEASE_RECORD } from "../../../functions/schema/tables";
import type { HeldLease } from "../../../functions/core/lease/lease";
import { createTestTables, type TestTables } from "../../support/dynamo";

let tables: TestTables;
beforeAll(async () => {
  tables = await createTestTables("lease");
});

const key = () => `test/${randomUUID().slice(0, 8)}`;
const TEN_SECOND_LEASE = { leaseDurationMs: 10_000, renewIntervalMs: 2_000, safetyMarginMs: 2_000 };
const store = () => new DynamoLeaseStore(tables.doc, tables.names.leases);
function acquired(result: AcquireResult): HeldLease {
  if (result.kind !== "acquired") throw new Error(`expected to acquire, got ${result.kind}`);
  return result.lease;
}

describe("race", () => {
  it("50 concurrent acquirers on one key produce exactly one holder, 20 rounds in a row", async () => {
    const leaseKey = key();
    const client = new LeaseClient(store(), systemClock);
    let previousFence = 0;
    for (let round = 0; round < 20; round++) {
      const owners = Array.from({ length: 50 }, (_, i) => `r${round}-owner-${i}`);
      const results = await Promise.all(owners.map((owner) => client.acquire(leaseKey, owner)));
      const winners = results.filter((r) => r.kind === "acquired");
      expect(winners).toHaveLength(1);
      const winner = acquired(winners[0]!);
      expect(winner.fence).toBeGreaterThan(previousFence);
      for (const result of results) {
        if (result.kind === "held") {
          expect(result.holder.owner).toBe(winner.owner);
          expect(result.holder.expiresAt).toBe(winner.expiresAt);
          expect(result.holder.fence).toBe(winner.fence);
        }
      }
      expect(
        await client.release(winner, { runId: `r${round}`, asOf: "x", outcome: "complete", finishedAt: 0 }),
      ).toBe(true);
      previousFence = winner.fence;
    }
  });
});

describe("expiry and takeover", () => {
  it("a holder that stops renewing loses the lease; exactly one contender takes over with a larger fence", async () => {
    const leaseKey = key();
    const clock = new ManualClock(1_000_000);
    const client = new LeaseClient(store(), clock, TEN_SECOND_LEASE);
    const first = acquired(await client.acquire(leaseKey, "a"));
    const standby = new LeaseClient(store(), clock, client.timings);

    // The standby first sees the record now, and must see it unchanged for a whole lease.
    expect(await standby.acquire(leaseKey, "b")).toMatchObject({ kind: "held" });
    clock.advance(9_999);
    const early = await standby.acquire(leaseKey, "b");
    expect(early).toMatchObject({ kind: "held", holder: { owner: "a", fence: first.fence } });

    clock.advance(1);
    const contenders = await Promise.all(["b", "c", "d", "e"].map((o) => standby.acquire(leaseKey, o)));
    const winners = contenders.filter((r) => r.kind === "acquired");
    expect(winners).toHaveLength(1);
    expect(acquired(winners[0]!).fence).toBeGreaterThan(first.fence);
  });
});

/**
 * Clocks are never compared across contenders (docs/design.md, "Clock skew"): a holder whose clock runs
 * behind records an expiry that looks past to the others, yet keeps the lease while it renews; one
 * whose clock runs ahead cannot hold a lease it stopped renewing for longer than a lease.
 */
describe("clock skew", () => {
  const timings = TEN_SECOND_LEASE;

  it("a holder 30 s behind keeps its lease while it renews, and loses it a whole lease after it stops", async () => {
    const leaseKey = key();
    const clock = new ManualClock(20_000_000);
    const holderClient = new LeaseClient(store(), skewedClock(clock, -30_000), timings);
    const standby = new LeaseClient(store(), clock, timings);
    let lease = acquired(await holderClient.acquire(leaseKey, "behind"));
    for (let beat = 0; beat < 8; beat++) {
      // Its recorded expiry is already 20 s in the past by the standby's clock: still held.
      expect(await standby.acquire(leaseKey, "standby")).toMatchObject({ kind: "held" });
      clock.advance(2_000);
      lease = (await holderClient.renew(lease))!;
      expect(lease).not.toBeNull();
    }
    expect(await standby.acquire(leaseKey, "standby")).toMatchObject({ kind: "held" });
    clock.advance(9_999);
    expect(await standby.acquire(leaseKey, "standby")).toMatchObject({ kind: "held" });
    clock.advance(1);
    expect(await standby.acquire(leaseKey, "standby")).toMatchObject({ kind: "acquired" });
  });

  it("a holder 30 s ahead that stops renewing is taken over a whole lease after the standby first saw it", async () => {
    const leaseKey = key();
    const clock = new ManualClock(30_000_000);
    const holderClient = new LeaseClient(store(), skewedClock(clock, 30_000), timings);
    const standby = new LeaseClient(store(), clock, timings);
    acquired(await holderClient.acquire(leaseKey, "ahead"));
    expect(await standby.acquire(leaseKey, "standby")).toMatchObject({ kind: "held" });
    clock.advance(10_000); // its recorded expiry is still 30 s ahead of the standby's clock
    expect(await standby.acquire(leaseKey, "standby")).toMatchObject({ kind: "acquired" });
  });

  it("a holder long dead is taken at once by a new contender, past the skew tolerance", async () => {
    const leaseKey = key();
    const clock = new ManualClock(40_000_000);
    acquired(await new LeaseClient(store(), clock, timings).acquire(leaseKey, "crashed"));
    clock.advance(10_000 + MAX_CLOCK_SKEW_MS);
    expect(await new LeaseClient(store(), clock, timings).acquire(leaseKey, "next")).toMatchObject({
      kind: "acquired",
    });
  });
});

describe("deletion", () => {
  it("deleting the lease record, as the TTL would, never lets fences go back", async () => {
    const leaseKey = key();
    const clock = new ManualClock(5_000_000);
    const client = new LeaseClient(store(), clock);
    const issued: number[] = [];
    for (let i = 0; i < 3; i++) {
      const lease = acquired(await client.acquire(leaseKey, `owner-${i}`));
      issued.push(lease.fence);
      await client.release(lease, { runId: "r", asOf: "x", outcome: "complete", finishedAt: clock.now() });
    }
    await tables.doc.send(
      new DeleteCommand({ TableName: tables.names.leases, Key: { leaseKey, record: LEASE_RECORD.lease } }),
    );
    const after = acquired(await client.acquire(leaseKey, "after-delete"));
    expect(after.fence).toBeGreaterThan(Math.max(...issued));
  });
});

describe("zombie", () => {
  it("after a takeover, the old holder's renew, release and fenced write are rejected by DynamoDB", async () => {
    const leaseKey = key();
    const clock = new ManualClock(9_000_000);
    const client = new LeaseClient(store(), clock, TEN_SECOND_LEASE);
    const writer = new FencedWriter(tables.doc, tables.names.leases, clock);
    const target = {
      TableName: tables.names.charges,
      Key: { subscriptionId: `sub-${leaseKey}`, periodStart: "p" },
    };
    await tables.doc.send(
      new PutCommand({ TableName: target.TableName, Item: { ...target.Key, state: "pending" } }),
    );

    const zombie = acquired(await client.acquire(leaseKey, "zombie"));
    const standby = new LeaseClient(store(), clock, client.timings);
    expect((await standby.acquire(leaseKey, "successor")).kind).toBe("held");
    clock.advance(10_001); // the zombie is paused past its lease; the standby saw nothing change
    const successor = acquired(await standby.acquire(leaseKey, "successor"));
    expect(successor.fence).toBeGreaterThan(zombie.fence);

    expect(await client.renew(zombie)).toBeNull();
    expect(await client.release(zombie, { runId: "z", asOf: "x", outcome: "complete", finishedAt: 0 })).toBe(
      false,
    );
    const write = await writer.write(zombie, [
      {
        Update: {
          ...target,
          UpdateExpression: "SET #state = :s, #fence = :f",
          ExpressionAttributeNames: { "#state": "state", "#fence": "fence" },
          ExpressionAttributeValues: { ":s": "succeeded", ":f": zombie.fence },
        },
      },
    ]);
    expect(write).toEqual({ ok: false, reason: "fenced-out" });
    const unchanged = await tables.doc.send(new GetCommand({ ...target, ConsistentRead: true }));
    expect(unchanged.Item).toEqual({ ...target.Key, state: "pending" });

    // The successor's own write goes through: the fence check is not simply failing everything.
    const ok = await writer.write(successor, [
      {
        Update: {
          ...target,
          UpdateExpression: "SET #state = :s",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: { ":s": "claimed" },
        },
      },
    ]);
    expect(ok).toEqual({ ok: true });
  });
});

describe("release", () => {
  it("after a release another contender acquires at once, with a larger fence", async () => {
    const leaseKey = key();
    const clock = new ManualClock(2_000_000);
    const client = new LeaseClient(store(), clock);
    const first = acquired(await client.acquire(leaseKey, "first"));
    expect((await client.acquire(leaseKey, "second")).kind).toBe("held");
    expect(
      await client.release(first, {
        runId: "r1",
        asOf: "2026-01-01T00:00:00.000Z",
        outcome: "complete",
        finishedAt: clock.now(),
      }),
    ).toBe(true);
    const second = acquired(await client.acquire(leaseKey, "second"));
    expect(second.fence).toBeGreaterThan(first.fence);
    const snapshot = await client.inspect(leaseKey);
    expect(snapshot.lease?.lastRun).toMatchObject({ runId: "r1", outcome: "complete" });
  });

  it("a free lease is left alone, with nothing written, when the caller's condition says it is not needed", async () => {
    const leaseKey = key();
    const clock = new ManualClock(4_000_000);
    const client = new LeaseClient(store(), clock);
    const first = acquired(await client.acquire(leaseKey, "first"));
    await client.release(first, {
      runId: "r",
      asOf: "2026-01-01T00:00:00.000Z",
      outcome: "complete",
      finishedAt: 0,
    });
    const before = await client.inspect(leaseKey);
    const declined = await client.acquire(leaseKey, "late", (free) =>
      free.lease?.lastRun?.outcome === "complete" ? "already done" : null,
    );
    expect(declined).toMatchObject({ kind: "not-needed", reason: "already done" });
    expect(await client.inspect(leaseKey)).toEqual(before);
  });

  it("a forced release raises the fence and fences the live holder out", async () => {
    const leaseKey = key();
    const clock = new ManualClock(3_000_000);
    const client = new LeaseClient(store(), clock);
    const holder = acquired(await client.acquire(leaseKey, "stuck"));
    const { fence } = await client.forceRelease(leaseKey, "operator");
    expect(fence).toBeGreaterThan(holder.fence);
    expect(await client.renew(holder)).toBeNull();
    const next = acquired(await client.acquire(leaseKey, "fresh"));
    expect(next.fence).toBeGreaterThan(fence);
  });
});

/** A store on which a rival breaks the lease (raising the fence) just before each of our conditional writes. */
class OutrunStore extends DynamoLeaseStore {
  override async tryAcquire(attempt: AcquireAttempt): Promise<boolean> {
    await this.rivalBreaks(attempt.leaseKey);
    return super.tryAcquire(attempt);
  }

  override async forceRelease(leaseKey: string, ...rest: [number, number, string, number]): Promise<boolean> {
    await this.rivalBreaks(leaseKey);
    return super.forceRelease(leaseKey, ...rest);
  }

  private async rivalBreaks(leaseKey: string): Promise<void> {
    await new LeaseClient(store(), systemClock).forceRelease(leaseKey, "rival");
  }
}

describe("contention", () => {
  const outrun = () =>
    new LeaseClient(new OutrunStore(tables.doc, tables.names.leases), new ManualClock(4_000_000));
  const cases: [string, (leaseKey: string) => Promise<unknown>, string][] = [
    [
      "an acquirer that loses every write",
      (k) => outrun().acquire(k, "a"),
      "still contended after 8 attempts",
    ],
    [
      "a forced release whose fence keeps moving",
      (k) => outrun().forceRelease(k, "operator"),
      "fence kept moving; try again",
    ],
  ];
  it.each(cases)("%s gets a typed LeaseContentionError, and writes nothing", async (_case, call, problem) => {
    const leaseKey = key();
    const error: unknown = await call(leaseKey).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseContentionError);
    expect(error).toMatchObject({ name: "LeaseContentionError", leaseKey, attempts: 8 });
    expect((error as Error).message).toBe(`lease ${leaseKey}: ${problem}`);
    // Only the rival wrote: one fence per break, and no owner on the lease.
    const after = await new LeaseClient(store(), systemClock).inspect(leaseKey);
    expect(after).toMatchObject({ fenceRecord: 8, lease: { owner: null } });
  });
});

describe("bad input", () => {
  const cases: [string, () => Promise<unknown>, string][] = [
    ["empty lease key", () => new LeaseClient(store(), systemClock).acquire("", "o"), "leaseKey"],
    ["lease key with spaces", () => new LeaseClient(store(), systemClock).acquire("a b", "o"), "leaseKey"],
    [
      "too long lease key",
      () => new LeaseClient(store(), systemClock).acquire("k".repeat(129), "o"),
      "leaseKey",
    ],
    ["empty owner", () => new LeaseClient(store(), systemClock).acquire("bad/owner", " "), "owner"],
    [
      "too long owner",
      () => new LeaseClient(store(), systemClock).acquire("bad/owner", "o".repeat(257)),
      "owner",
    ],
    [
      "non-positive lease",
      async () => new LeaseClient(store(), systemClock, { leaseDurationMs: 0 }),
      "leaseDurationMs",
    ],
    [
      "fractional renew",
      async () => new LeaseClient(store(), systemClock, { renewIntervalMs: 1.5 }),
      "renewIntervalMs",
    ],
    [
      "renew interval not shorter than the lease",
      async () =>
        new LeaseClient(store(), systemClock, {
          leaseDurationMs: 5_000,
          renewIntervalMs: 5_000,
          safetyMarginMs: 1_000,
        }),
      "renewIntervalMs",
    ],
    [
      "safety margin not shorter than the lease",
      async () =>
        new LeaseClient(store(), systemClock, {
          leaseDurationMs: 5_000,
          renewIntervalMs: 1_000,
          safetyMarginMs: 6_000,
        }),
      "safetyMarginMs",
    ],
  ];
  it.each(cases)("rejects %s, naming the field, and writes nothing", async (_name, call, field) => {
    const before = await tables.doc.send(
      new ScanCommand({ TableName: tables.names.leases, Select: "COUNT" }),
    );
    await expect(call()).rejects.toMatchObject({ name: "InvalidInputError", field });
    await expect(call()).rejects.toThrow(new RegExp(`^${field}: `));
    const after = await tables.doc.send(new ScanCommand({ TableName: tables.names.leases, Select: "COUNT" }));
    expect(after.Count).toBe(before.Count);
  });
});
