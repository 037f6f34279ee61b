/**
 * `ops release`: refuses without --force; with it, breaks a live holder's lease through forceRelease and
 * the holder is fenced out: its renewal and its fenced write are rejected by DynamoDB afterwards.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { systemClock } from "../../functions/core/clock";
import { LeaseClient } from "../../functions/core/lease/lease-client";
import { shardLeaseKey, type HeldLease } from "../../functions/core/lease/lease";
import { DynamoLeaseStore } from "../../functions/aws/dynamo-lease-store";
import { FencedWriter } from "../../functions/aws/fenced-writer";
import { createTestTables, type TestTables } from "../support/dynamo";
import { json, ops, tableFlags } from "./ops-harness";

let tables: TestTables;
let lease: LeaseClient;
let held: HeldLease;
const KEY = shardLeaseKey(0);

beforeEach(async () => {
  tables = await createTestTables("cli-release");
  lease = new LeaseClient(new DynamoLeaseStore(tables.doc, tables.names.leases), systemClock, {
    leaseDurationMs: 60_000,
    renewIntervalMs: 10_000,
    safetyMarginMs: 5_000,
  });
  const acquired = await lease.acquire(KEY, "live-leader");
  if (acquired.kind !== "acquired") throw new Error("could not take the lease for the test");
  held = acquired.lease;
});

describe("ops release", () => {
  it("refuses without --force, says who holds it, and changes nothing", async () => {
    const result = await ops(["release", KEY, ...tableFlags(tables)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("refusing to release billing/shard-0 without --force");
    expect(result.stderr).toContain("held by live-leader with fence 1");
    const after = await lease.inspect(KEY);
    expect(after.lease).toMatchObject({ owner: "live-leader", fence: 1 });
    expect(await lease.renew(held)).not.toBeNull();
  });

  it("--force fences out a live holder: its renew and its fenced write then fail", async () => {
    const result = await ops(["release", "--force", KEY, "--by", "test-operator", ...tableFlags(tables)]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Released billing/shard-0 by force (as test-operator)");
    expect(result.stdout).toMatch(/old holder: live-leader \(was live\)/);
    expect(result.stdout).toMatch(/old fence:\s+1/);
    expect(result.stdout).toMatch(/new fence:\s+2/);
    expect(result.stdout).toContain("live-leader is fenced out");

    // The old holder, still believing it leads:
    expect(await lease.renew(held)).toBeNull();
    const writer = new FencedWriter(tables.doc, tables.names.leases, systemClock);
    const written = await writer.write(held, [
      { Put: { TableName: tables.names.charges, Item: { subscriptionId: "sub_zombie", periodStart: "p" } } },
    ]);
    expect(written).toEqual({ ok: false, reason: "fenced-out" });
    const item = await tables.doc.send(
      new GetCommand({
        TableName: tables.names.charges,
        Key: { subscriptionId: "sub_zombie", periodStart: "p" },
        ConsistentRead: true,
      }),
    );
    expect(item.Item).toBeUndefined();

    // The lease is free with the raised fence; the next acquirer gets a higher one at once.
    const snapshot = await lease.inspect(KEY);
    expect(snapshot.lease).toMatchObject({ owner: null, fence: 2, expiresAt: 0 });
    const next = await lease.acquire(KEY, "successor");
    expect(next.kind === "acquired" && next.lease.fence).toBe(3);
  });

  it("--force --json reports old holder, old fence and new fence; a shard number works as the key", async () => {
    const result = await ops(["release", "--force", "0", "--json", ...tableFlags(tables)]);
    expect(result.code).toBe(0);
    expect(json(result)).toMatchObject({
      leaseKey: KEY,
      released: true,
      oldHolder: "live-leader",
      oldHolderLive: true,
      oldFence: 1,
      newFence: 2,
    });
    expect(String(json(result).by)).toMatch(/^ops-cli\//);
  });

  it("an unknown or malformed lease key is a usage error, and nothing is written", async () => {
    const unknown = await ops(["release", "--force", "billing/shard-7", ...tableFlags(tables)]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown lease key "billing/shard-7"');
    expect(unknown.stderr).toContain("known keys: billing/shard-0");
    expect((await lease.inspect("billing/shard-7")).fenceRecord).toBe(0);

    const malformed = await ops(["release", "--force", "no spaces allowed", ...tableFlags(tables)]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('KEY "no spaces allowed"');

    const missing = await ops(["release", "--force", ...tableFlags(tables)]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("release needs a lease KEY");
    expect((await lease.inspect(KEY)).lease).toMatchObject({ owner: "live-leader", fence: 1 });
  });
});
