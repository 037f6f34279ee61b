/**
 * The subscription table and the charge ledger on DynamoDB, for the billing run. Reads of what is due go
 * through the sparse `due` index (which may lag writes by a moment); everything that decides goes
 * through strongly consistent reads and fenced, conditional transactions.
 */
import { GetCommand, QueryCommand, ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { ChargeRecord } from "../core/billing/charge-state";
import { readChargeRecord } from "../core/billing/charge-record-schema";
import { dueShardKey } from "../core/billing/subscription";
import type { LeaseToken } from "../core/lease/lease";
import type { DueIndex } from "../core/billing-run/backlog";
import {
  UnreadableRecordError,
  type ChargeLedger,
  type DuePage,
  type QuarantineResult,
  type SaveResult,
  type SubscriptionChange,
  type SubscriptionPage,
  type SubscriptionSource,
} from "../core/billing-run/ports";
import { SUBSCRIPTION_TABLE, type TableNames } from "../schema/tables";
import type { CapacityMeter } from "./dynamo";
import type { FencedItem, FencedWriter } from "./fenced-writer";

const DUE_INDEX = SUBSCRIPTION_TABLE.indexes[0].indexName;
/** A bound on the backlog's count per shard: past it, the count is a lower bound. */
export const DUE_COUNT_MAX_PAGES = 20;

export { dueShardKey };

/** States a person or the resolver may need to look at; succeeded records leave the attention index. */
export function attentionOf(record: ChargeRecord): string | undefined {
  return record.state === "succeeded" ? undefined : record.state;
}

export class DynamoBillingStore implements SubscriptionSource, ChargeLedger, DueIndex {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: TableNames,
    private readonly writer: FencedWriter,
    private readonly meter?: CapacityMeter,
  ) {}

  /** The shard's part of the `due` index up to `asOf`: what every due query reads. */
  private dueUpTo(shard: number, asOf: string) {
    return {
      TableName: this.tables.subscriptions,
      IndexName: DUE_INDEX,
      KeyConditionExpression: "dueShard = :shard AND nextAttemptAt <= :asOf",
      ExpressionAttributeValues: { ":shard": dueShardKey(shard), ":asOf": asOf },
    };
  }

  async queryDue(shard: number, asOf: string, pageSize: number, cursor: string | null): Promise<DuePage> {
    const result = await this.doc.send(
      new QueryCommand({
        ...this.dueUpTo(shard, asOf),
        ProjectionExpression: "subscriptionId, nextAttemptAt",
        Limit: pageSize,
        ...(cursor && { ExclusiveStartKey: decodeCursor(cursor) }),
        ReturnConsumedCapacity: "TOTAL",
      }),
    );
    this.meter?.record("query.due", result.ConsumedCapacity);
    return {
      items: (result.Items ?? []).map((item) => ({
        subscriptionId: String(item.subscriptionId),
        nextAttemptAt: String(item.nextAttemptAt),
      })),
      cursor: encodeCursor(result.LastEvaluatedKey),
    };
  }

  /**
   * The backlog's count (functions/core/billing-run/backlog.ts): Select COUNT on the shard's part of the
   * `due` index, at most DUE_COUNT_MAX_PAGES pages of 1 MB (tens of thousands of keys each).
   */
  async countDue(shard: number, asOf: string): Promise<{ count: number; complete: boolean }> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    for (let page = 0; page < DUE_COUNT_MAX_PAGES; page++) {
      const result = await this.doc.send(
        new QueryCommand({
          ...this.dueUpTo(shard, asOf),
          Select: "COUNT",
          ...(start && { ExclusiveStartKey: start }),
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
      this.meter?.record("query.due.count", result.ConsumedCapacity);
      count += result.Count ?? 0;
      start = result.LastEvaluatedKey;
      if (start === undefined) return { count, complete: true };
    }
    return { count, complete: false };
  }

  /** The backlog's oldest: the first entry of the shard's part of the `due` index (it is sorted by time). */
  async oldestDue(shard: number, asOf: string): Promise<string | null> {
    const result = await this.doc.send(
      new QueryCommand({
        ...this.dueUpTo(shard, asOf),
        ProjectionExpression: "nextAttemptAt",
        Limit: 1,
        ReturnConsumedCapacity: "TOTAL",
      }),
    );
    this.meter?.record("query.due.oldest", result.ConsumedCapacity);
    const first = result.Items?.[0]?.nextAttemptAt;
    return typeof first === "string" ? first : null;
  }

  async scanSubscriptions(cursor: string | null, pageSize: number): Promise<SubscriptionPage> {
    const result = await this.doc.send(
      new ScanCommand({
        TableName: this.tables.subscriptions,
        Limit: pageSize,
        ...(cursor && { ExclusiveStartKey: decodeCursor(cursor) }),
        ReturnConsumedCapacity: "TOTAL",
      }),
    );
    this.meter?.record("scan.subscriptions", result.ConsumedCapacity);
    return { items: result.Items ?? [], cursor: encodeCursor(result.LastEvaluatedKey) };
  }

  async getSubscription(subscriptionId: string): Promise<Record<string, unknown> | null> {
    const result = await this.doc.send(
      new GetCommand({
        TableName: this.tables.subscriptions,
        Key: { subscriptionId },
        ConsistentRead: true,
        ReturnConsumedCapacity: "TOTAL",
      }),
    );
    this.meter?.record("get.subscription", result.ConsumedCapacity);
    return result.Item ?? null;
  }

  async getCharge(subscriptionId: string, periodStart: string): Promise<ChargeRecord | null> {
    const result = await this.doc.send(
      new GetCommand({
        TableName: this.tables.charges,
        Key: { subscriptionId, periodStart },
        ConsistentRead: true,
        ReturnConsumedCapacity: "TOTAL",
      }),
    );
    this.meter?.record("get.charge", result.ConsumedCapacity);
    if (result.Item === undefined) return null;
    const read = readChargeRecord(result.Item);
    if (!read.ok) {
      throw new UnreadableRecordError(
        "chargeRecord",
        `the charge record for the period starting ${periodStart} cannot be read (${read.problem})`,
      );
    }
    return read.record;
  }

  async quarantineSubscription(
    token: LeaseToken,
    subscriptionId: string,
    reason: string,
    observedUpdatedAt: unknown,
  ): Promise<QuarantineResult> {
    const change: SubscriptionChange = {
      kind: "quarantine-invalid",
      subscriptionId,
      reason,
      observedUpdatedAt,
    };
    const now = new Date().toISOString();
    const result = await this.writer.write(token, [this.subscriptionItem(change, now, token.fence)]);
    if (result.ok) return result;
    return result.reason === "fenced-out" ? result : { ok: false, reason: "gone" };
  }

  async saveCharge(
    token: LeaseToken,
    next: ChargeRecord,
    expectedVersion: number | null,
    subscription: SubscriptionChange,
  ): Promise<SaveResult> {
    const attention = attentionOf(next);
    const chargeItem: FencedItem = {
      Put: {
        TableName: this.tables.charges,
        Item: { ...next, ...(attention && { attention }) },
        ConditionExpression:
          expectedVersion === null ? "attribute_not_exists(subscriptionId)" : "#version = :expectedVersion",
        ...(expectedVersion !== null && {
          ExpressionAttributeNames: { "#version": "version" },
          ExpressionAttributeValues: { ":expectedVersion": expectedVersion },
        }),
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      },
    };
    const result = await this.writer.write(token, [
      chargeItem,
      this.subscriptionItem(subscription, next.updatedAt, token.fence),
    ]);
    if (result.ok) return result;
    if (result.reason === "fenced-out") return result;
    // The charge record or the subscription moved under us: report the record as it is now.
    const current =
      result.failedIndex === 0 && result.current
        ? this.chargeOrNull(result.current)
        : await this.getCharge(next.subscriptionId, next.periodStart);
    return { ok: false, reason: "conflict", current };
  }

  /** The item DynamoDB returned with a failed condition, read as a charge record. */
  private chargeOrNull(item: Record<string, unknown>): ChargeRecord | null {
    const read = readChargeRecord(item);
    if (!read.ok)
      throw new UnreadableRecordError("chargeRecord", `the charge record cannot be read (${read.problem})`);
    return read.record;
  }

  private subscriptionItem(change: SubscriptionChange, now: string, fence: number): FencedItem {
    const Key = { subscriptionId: change.subscriptionId };
    const TableName = this.tables.subscriptions;
    const atPeriod = "#nextPeriodStart = :periodStart";
    const names = { "#nextPeriodStart": "nextPeriodStart" };
    switch (change.kind) {
      case "expect-due":
        return {
          ConditionCheck: {
            TableName,
            Key,
            ConditionExpression: `${atPeriod} AND #status = :active`,
            ExpressionAttributeNames: { ...names, "#status": "status" },
            ExpressionAttributeValues: { ":periodStart": change.periodStart, ":active": "active" },
          },
        };
      case "advance":
        return {
          Update: {
            TableName,
            Key,
            ConditionExpression: atPeriod,
            UpdateExpression:
              "SET #nextPeriodStart = :next, #nextAttemptAt = :next, #lastPaidPeriod = :periodStart, #updatedAt = :now, #fence = :fence",
            ExpressionAttributeNames: {
              ...names,
              "#nextAttemptAt": "nextAttemptAt",
              "#lastPaidPeriod": "lastPaidPeriod",
              "#updatedAt": "updatedAt",
              "#fence": "fence",
            },
            ExpressionAttributeValues: {
              ":periodStart": change.periodStart,
              ":next": change.nextPeriodStart,
              ":now": now,
              ":fence": fence,
            },
          },
        };
      case "reschedule":
        return {
          Update: {
            TableName,
            Key,
            ConditionExpression: atPeriod,
            UpdateExpression: "SET #nextAttemptAt = :at, #updatedAt = :now, #fence = :fence",
            ExpressionAttributeNames: {
              ...names,
              "#nextAttemptAt": "nextAttemptAt",
              "#updatedAt": "updatedAt",
              "#fence": "fence",
            },
            ExpressionAttributeValues: {
              ":periodStart": change.periodStart,
              ":at": change.nextAttemptAt,
              ":now": now,
              ":fence": fence,
            },
          },
        };
      case "deactivate":
        return retireUpdate(
          { TableName, Key },
          { expression: atPeriod, names, values: { ":periodStart": change.periodStart } },
          { status: change.status, reason: change.reason, now, fence },
        );
      case "quarantine-invalid": {
        // Only the record as it was read: a fix that landed since (updatedAt moved) is not overwritten.
        const observed = typeof change.observedUpdatedAt === "string" ? change.observedUpdatedAt : null;
        return retireUpdate(
          { TableName, Key },
          observed === null
            ? { expression: "attribute_exists(subscriptionId)", values: {} }
            : {
                expression: "attribute_exists(subscriptionId) AND #updatedAt = :observed",
                values: { ":observed": observed },
              },
          { status: "quarantined", reason: change.reason, now, fence },
        );
      }
    }
  }
}

/**
 * The update that takes a subscription out of billing: status and reason, updatedAt and fence set, and
 * dueShard dropped, which takes it out of the sparse due index. Deactivation and quarantine write these
 * same attributes and differ only in the condition on the record, so the update is written once.
 */
function retireUpdate(
  target: { readonly TableName: string; readonly Key: Record<string, unknown> },
  condition: {
    readonly expression: string;
    readonly names?: Record<string, string>;
    readonly values: Record<string, unknown>;
  },
  set: { readonly status: string; readonly reason: string; readonly now: string; readonly fence: number },
): FencedItem {
  return {
    Update: {
      ...target,
      ConditionExpression: condition.expression,
      UpdateExpression:
        "SET #status = :status, #statusReason = :reason, #updatedAt = :now, #fence = :fence REMOVE #dueShard",
      ExpressionAttributeNames: {
        ...condition.names,
        "#status": "status",
        "#statusReason": "statusReason",
        "#updatedAt": "updatedAt",
        "#fence": "fence",
        "#dueShard": "dueShard",
      },
      ExpressionAttributeValues: {
        ...condition.values,
        ":status": set.status,
        ":reason": set.reason,
        ":now": set.now,
        ":fence": set.fence,
      },
    },
  };
}

/** DynamoDB's LastEvaluatedKey as an opaque string, and back. */
function encodeCursor(key: Record<string, unknown> | undefined): string | null {
  return key ? Buffer.from(JSON.stringify(key), "utf8").toString("base64url") : null;
}

function decodeCursor(cursor: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Record<string, unknown>;
}
