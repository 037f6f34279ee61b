/**
 * Random sequences of acquire, renew, release, fenced write, clock moves and lease-record deletion by
 * several owners, against the real table, compared step by step with a model of the protocol.
 * Invariants (docs/design.md#invariants): 3 — fences strictly increase, even across deletion; 4 —
 * stale-fence writes are rejected by DynamoDB; and at most one owner holds the lease at any time.
 */
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { beforeAll, expect, it } from "vitest";
import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { LeaseClient } from "../../../functions/core/lease/lease-client";
import { ManualClock } from "../../../functions/core/clock";
import { DynamoLeaseStore } from "../../../functions/aws/dynamo-lease-store";
import { FencedWriter } from "../../../functions/aws/fenced-writer";
import type { HeldLease } from "../../../functions/core/lease/lease";
import { LEASE_RECORD } from "../../../functions/schema/tables";
import { createTestTables, type TestTables } from "../../support/dynamo";

let tables: TestTables;
beforeAll(async () => {
  tables = await createTestTables("leaseprop");
});

const OWNERS = ["a", "b", "c"] as const;
const LEASE_MS = 10_000;

type Step =
  | { op: "acquire" | "renew" | "release" | "write"; owner: number }
  | { op: "advance"; ms: number }
  | { op: "delete" };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    op: fc.constantFrom("acquire", "renew", "release", "write"),
    owner: fc.nat(OWNERS.length - 1),
  }),
  fc.record({ op: fc.constant("advance"), ms: fc.constantFrom(1_000, 5_000, 9_999, 10_000, 30_000) }),
  fc.record({ op: fc.constant("delete") }),
) as fc.Arbitrary<Step>;

it("the table behaves as the protocol model says, and its invariants hold after every step", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { minLength: 5, maxLength: 25 }), async (steps) => {
      const leaseKey = `prop/${randomUUID().slice(0, 8)}`;
      const clock = new ManualClock(1_000_000);
      const client = new LeaseClient(
        new DynamoLeaseStore(tables.doc, tables.names.leases),
        clock,
        {
          leaseDurationMs: LEASE_MS,
          renewIntervalMs: 2_000,
          safetyMarginMs: 2_000,
        },
        // One clock for all owners, so the model's "expired by now" is exact: a skew tolerance of 0 makes
        // the client judge by it. The rule for skewed clocks is lease.test.ts's "clock skew".
        { clockSkewToleranceMs: 0 },
      );
      const writer = new FencedWriter(tables.doc, tables.names.leases, clock);

      // The model: who holds the lease (null when free), and the highest fence ever issued.
      let current: HeldLease | null = null;
      let highestFence = 0;
      const tokens = new Map<number, HeldLease>(); // each owner's latest token

      for (const step of steps) {
        if (step.op === "advance") {
          clock.advance(step.ms);
        } else if (step.op === "delete") {
          await tables.doc.send(
            new DeleteCommand({
              TableName: tables.names.leases,
              Key: { leaseKey, record: LEASE_RECORD.lease },
            }),
          );
          current = null;
        } else if (step.op === "acquire") {
          const owner = OWNERS[step.owner]!;
          const free = current === null || current.owner === owner || current.expiresAt <= clock.now();
          const result = await client.acquire(leaseKey, owner);
          if (free) {
            expect(result.kind).toBe("acquired");
            if (result.kind !== "acquired") return;
            expect(result.lease.fence).toBe(highestFence + 1); // invariant 3: strictly above every fence issued
            highestFence = result.lease.fence;
            current = result.lease;
            tokens.set(step.owner, result.lease);
          } else {
            expect(result).toMatchObject({
              kind: "held",
              holder: { owner: current!.owner, fence: current!.fence },
            });
          }
        } else {
          const token = tokens.get(step.owner);
          if (!token) continue;
          const holds = current !== null && current.owner === token.owner && current.fence === token.fence;
          if (step.op === "renew") {
            const renewed = await client.renew(token);
            expect(renewed !== null).toBe(holds);
            if (renewed) {
              current = renewed;
              tokens.set(step.owner, renewed);
            }
          } else if (step.op === "release") {
            const released = await client.release(token, {
              runId: "p",
              asOf: "x",
              outcome: "partial",
              finishedAt: clock.now(),
            });
            expect(released).toBe(holds);
            if (released) current = null;
          } else {
            const result = await writer.write(token, [
              {
                Put: {
                  TableName: tables.names.charges,
                  Item: { subscriptionId: leaseKey, periodStart: "p", fence: token.fence },
                },
              },
            ]);
            // Invariant 4: only the current holder's write lands; DynamoDB rejects every other.
            expect(result.ok).toBe(holds);
          }
        }
      }
      const final = await client.inspect(leaseKey);
      expect(final.fenceRecord).toBe(highestFence);
    }),
    { numRuns: 40 },
  );
});
