/**
 * The lease store on DynamoDB. Every state change is one conditional request; DynamoDB's condition is what
 * decides, never a read followed by a check in code.
 */
import {
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import { LEASE_RECORD } from "../schema/tables";
import type {
  Checkpoint,
  LeaseRecord,
  LeaseSnapshot,
  LeaseToken,
  RunOutcome,
  SweepProgress,
} from "../core/lease/lease";
import type { AcquireAttempt, LeaseStore } from "../core/lease/lease-store";
import type { LeaseRow, LeaseRows } from "../core/billing-run/budget-pacer";
import { cancellationReasons, isConditionalCheckFailed } from "./transaction-errors";
import type { CapacityMeter } from "./dynamo";

/** The condition every holder-only write carries: the lease record names this owner with this fence. */
export const HOLDER_CONDITION = "#owner = :owner AND #fence = :fence";
export const HOLDER_NAMES = { "#owner": "owner", "#fence": "fence" } as const;
export function holderValues(token: LeaseToken): Record<string, unknown> {
  return { ":owner": token.owner, ":fence": token.fence };
}

export function leaseRecordKey(leaseKey: string): Record<string, string> {
  return { leaseKey, record: LEASE_RECORD.lease };
}
function fenceRecordKey(leaseKey: string): Record<string, string> {
  return { leaseKey, record: LEASE_RECORD.fence };
}

/** The lease table holds two items per shard: a few pages cover any shard count the stack allows. */
export const LEASE_ROWS_MAX_PAGES = 4;

export class DynamoLeaseStore implements LeaseStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly meter?: CapacityMeter,
  ) {}

  async read(leaseKey: string): Promise<LeaseSnapshot> {
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "leaseKey = :key",
        ExpressionAttributeValues: { ":key": leaseKey },
        ConsistentRead: true,
        ReturnConsumedCapacity: "TOTAL",
      }),
    );
    this.meter?.record("lease.read", result.ConsumedCapacity);
    let lease: LeaseRecord | null = null;
    let fenceRecord = 0;
    for (const item of result.Items ?? []) {
      if (item.record === LEASE_RECORD.fence) fenceRecord = Number(item.fence ?? 0);
      if (item.record === LEASE_RECORD.lease) lease = toLeaseRecord(item);
    }
    return { lease, fenceRecord };
  }

  async tryAcquire(a: AcquireAttempt): Promise<boolean> {
    try {
      const result = await this.doc.send(
        new TransactWriteCommand({
          ReturnConsumedCapacity: "TOTAL",
          TransactItems: [
            {
              // The fence record only ever moves up, and only from the value this acquirer saw.
              Update: {
                TableName: this.tableName,
                Key: fenceRecordKey(a.leaseKey),
                UpdateExpression: "SET #fence = :fence",
                ConditionExpression:
                  a.seenFenceRecord === 0
                    ? "attribute_not_exists(#fence) AND :fence > :zero"
                    : "#fence = :seen AND :fence > :seen",
                ExpressionAttributeNames: { "#fence": "fence" },
                ExpressionAttributeValues: {
                  ":fence": a.fence,
                  ...(a.seenFenceRecord === 0 ? { ":zero": 0 } : { ":seen": a.seenFenceRecord }),
                },
              },
            },
            {
              // Update, not Put: the checkpoint and the last run's outcome survive the change of holder.
              Update: {
                TableName: this.tableName,
                Key: leaseRecordKey(a.leaseKey),
                UpdateExpression:
                  "SET #owner = :owner, #fence = :fence, #expiresAt = :expiresAt, #ttl = :ttl, #acquiredAt = :now",
                // Free, ours, or still exactly the holder we judged gone: no clock is compared here.
                ConditionExpression:
                  a.seenHolder === null
                    ? "attribute_not_exists(#owner) OR #owner = :owner"
                    : "attribute_not_exists(#owner) OR #owner = :owner OR (#owner = :seenOwner AND #fence = :seenFence AND #expiresAt = :seenExpiresAt)",
                ExpressionAttributeNames: {
                  "#owner": "owner",
                  "#fence": "fence",
                  "#expiresAt": "expiresAt",
                  "#ttl": "ttl",
                  "#acquiredAt": "acquiredAt",
                },
                ExpressionAttributeValues: {
                  ":owner": a.owner,
                  ":fence": a.fence,
                  ":expiresAt": a.expiresAt,
                  ":ttl": a.ttl,
                  ":now": a.now,
                  ...(a.seenHolder !== null && {
                    ":seenOwner": a.seenHolder.owner,
                    ":seenFence": a.seenHolder.fence,
                    ":seenExpiresAt": a.seenHolder.expiresAt,
                  }),
                },
              },
            },
          ],
        }),
      );
      this.meter?.record("lease.acquire", result.ConsumedCapacity);
      return true;
    } catch (error) {
      if (cancellationReasons(error)) return false; // lost the race (condition failed or a conflicting write)
      throw error;
    }
  }

  async renew(token: LeaseToken, expiresAt: number, ttl: number): Promise<boolean> {
    return this.holderUpdate("lease.renew", token, "SET #expiresAt = :expiresAt, #ttl = :ttl", {
      names: { "#expiresAt": "expiresAt", "#ttl": "ttl" },
      values: { ":expiresAt": expiresAt, ":ttl": ttl },
    });
  }

  async release(token: LeaseToken, outcome: RunOutcome, ttl: number): Promise<boolean> {
    // Expiry 0 makes the lease free at once for everyone; the owner goes, the fence stays as the record of
    // who held it last.
    return this.holderUpdate(
      "lease.release",
      token,
      "REMOVE #owner SET #expiresAt = :zero, #ttl = :ttl, #lastRun = :lastRun, #lastOwner = :owner",
      {
        names: { "#expiresAt": "expiresAt", "#ttl": "ttl", "#lastRun": "lastRun", "#lastOwner": "lastOwner" },
        values: { ":zero": 0, ":ttl": ttl, ":lastRun": outcome },
      },
    );
  }

  async saveCheckpoint(token: LeaseToken, checkpoint: Checkpoint): Promise<boolean> {
    return this.holderUpdate("lease.checkpoint", token, "SET #checkpoint = :checkpoint", {
      names: { "#checkpoint": "checkpoint" },
      values: { ":checkpoint": checkpoint },
    });
  }

  async saveSweep(token: LeaseToken, sweep: SweepProgress): Promise<boolean> {
    return this.holderUpdate("lease.sweep", token, "SET #sweep = :sweep", {
      names: { "#sweep": "sweep" },
      values: { ":sweep": sweep },
    });
  }

  async listLeaseKeys(): Promise<string[]> {
    const keys: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({
          TableName: this.tableName,
          ProjectionExpression: "leaseKey, #record",
          FilterExpression: "#record = :fence",
          ExpressionAttributeNames: { "#record": "record" },
          ExpressionAttributeValues: { ":fence": LEASE_RECORD.fence },
          ...(start && { ExclusiveStartKey: start }),
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
      this.meter?.record("lease.list", page.ConsumedCapacity);
      for (const item of page.Items ?? []) if (typeof item.leaseKey === "string") keys.push(item.leaseKey);
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return keys;
  }

  /**
   * Every lease record's key, holder and expiry, for the account budget's count of leaders
   * (functions/core/billing-run/budget-pacer.ts): an eventually consistent scan (pacing only; a moment
   * old is good enough) of at most LEASE_ROWS_MAX_PAGES pages, two small items per shard.
   */
  async listLeaseRows(): Promise<LeaseRows> {
    const rows: LeaseRow[] = [];
    let start: Record<string, unknown> | undefined;
    for (let page = 0; page < LEASE_ROWS_MAX_PAGES; page++) {
      const result = await this.doc.send(
        new ScanCommand({
          TableName: this.tableName,
          ProjectionExpression: "leaseKey, #owner, #expiresAt",
          FilterExpression: "#record = :lease",
          ExpressionAttributeNames: { "#record": "record", "#owner": "owner", "#expiresAt": "expiresAt" },
          ExpressionAttributeValues: { ":lease": LEASE_RECORD.lease },
          ...(start && { ExclusiveStartKey: start }),
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
      this.meter?.record("lease.count", result.ConsumedCapacity);
      for (const item of result.Items ?? []) {
        if (typeof item.leaseKey !== "string") continue;
        rows.push({
          leaseKey: item.leaseKey,
          owner: typeof item.owner === "string" ? item.owner : null,
          expiresAt: Number(item.expiresAt ?? 0),
        });
      }
      start = result.LastEvaluatedKey;
      if (start === undefined) return { rows, complete: true };
    }
    return { rows, complete: false };
  }

  async forceRelease(
    leaseKey: string,
    seenFenceRecord: number,
    fence: number,
    by: string,
    now: number,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: fenceRecordKey(leaseKey),
                UpdateExpression: "SET #fence = :fence",
                ConditionExpression:
                  seenFenceRecord === 0 ? "attribute_not_exists(#fence)" : "#fence = :seen",
                ExpressionAttributeNames: { "#fence": "fence" },
                ExpressionAttributeValues: {
                  ":fence": fence,
                  ...(seenFenceRecord !== 0 && { ":seen": seenFenceRecord }),
                },
              },
            },
            {
              // The new fence on the lease record is what fences the old holder out: its writes carry the
              // old one. Nobody owns the lease afterwards; the next acquirer takes it at once. The last
              // run's outcome goes too: whatever a bad run recorded, the next run bills from scratch.
              Update: {
                TableName: this.tableName,
                Key: leaseRecordKey(leaseKey),
                UpdateExpression:
                  "REMOVE #owner, #lastRun SET #fence = :fence, #expiresAt = :zero, #forcedBy = :by, #forcedAt = :now",
                ExpressionAttributeNames: {
                  "#lastRun": "lastRun",
                  "#owner": "owner",
                  "#fence": "fence",
                  "#expiresAt": "expiresAt",
                  "#forcedBy": "forcedBy",
                  "#forcedAt": "forcedAt",
                },
                ExpressionAttributeValues: { ":fence": fence, ":zero": 0, ":by": by, ":now": now },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (cancellationReasons(error)) return false;
      throw error;
    }
  }

  private async holderUpdate(
    operation: string,
    token: LeaseToken,
    updateExpression: string,
    extra: { names: Record<string, string>; values: Record<string, unknown> },
  ): Promise<boolean> {
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: leaseRecordKey(token.leaseKey),
          UpdateExpression: updateExpression,
          ConditionExpression: HOLDER_CONDITION,
          ExpressionAttributeNames: { ...HOLDER_NAMES, ...extra.names },
          ExpressionAttributeValues: { ...holderValues(token), ...extra.values },
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
      this.meter?.record(operation, result.ConsumedCapacity);
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}

function toLeaseRecord(item: Record<string, unknown>): LeaseRecord {
  return {
    leaseKey: String(item.leaseKey),
    owner: typeof item.owner === "string" ? item.owner : null,
    fence: Number(item.fence ?? 0),
    expiresAt: Number(item.expiresAt ?? 0),
    ...(item.checkpoint !== undefined && { checkpoint: item.checkpoint as Checkpoint }),
    ...(item.lastRun !== undefined && { lastRun: item.lastRun as RunOutcome }),
    ...(isSweep(item.sweep) && { sweep: item.sweep }),
  };
}

function isSweep(value: unknown): value is SweepProgress {
  if (typeof value !== "object" || value === null) return false;
  const { subscriptionsCursor, paymentIntentsSince } = value as Record<string, unknown>;
  return (
    (subscriptionsCursor === null || typeof subscriptionsCursor === "string") &&
    (paymentIntentsSince === null || typeof paymentIntentsSince === "number")
  );
}
