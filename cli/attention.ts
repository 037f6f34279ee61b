/**
 * Charge records in one attention state: found through the sparse `attention` index, read from the table.
 *
 * The index holds keys only (functions/schema/tables.ts), so the records come from strongly consistent
 * BatchGetItem reads; one that has left the state since the index saw it (the index lags writes by a
 * moment) is dropped. Oldest claim first, as the index sorts them.
 */
import { BatchGetCommand, QueryCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { ChargeRecord } from "../functions/core/billing/charge-state";
import { CHARGE_TABLE, type TableNames } from "../functions/schema/tables";

const ATTENTION_INDEX = CHARGE_TABLE.indexes[0].indexName;
/** BatchGetItem takes at most 100 keys. */
const BATCH = 100;
const BATCH_ATTEMPTS = 10;

type ChargeKey = Pick<ChargeRecord, "subscriptionId" | "periodStart">;

export async function recordsInState<S extends ChargeRecord["state"]>(
  doc: DynamoDBDocumentClient,
  tables: TableNames,
  state: S,
  limit = Number.POSITIVE_INFINITY,
): Promise<{ records: Extract<ChargeRecord, { state: S }>[]; more: boolean }> {
  const keys: ChargeKey[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: tables.charges,
        IndexName: ATTENTION_INDEX,
        KeyConditionExpression: "attention = :state",
        ExpressionAttributeValues: { ":state": state },
        ProjectionExpression: "subscriptionId, periodStart",
        ...(Number.isFinite(limit) && { Limit: limit - keys.length }),
        ExclusiveStartKey: start,
      }),
    );
    keys.push(...((page.Items ?? []) as ChargeKey[]));
    start = page.LastEvaluatedKey;
  } while (start && keys.length < limit);

  const found = new Map<string, ChargeRecord>();
  for (let i = 0; i < keys.length; i += BATCH) {
    for (const record of await batchGet(doc, tables.charges, keys.slice(i, i + BATCH))) {
      found.set(keyOf(record), record);
    }
  }
  const records = keys
    .map((key) => found.get(keyOf(key)))
    .filter((r): r is Extract<ChargeRecord, { state: S }> => r !== undefined && r.state === state);
  return { records, more: start !== undefined };
}

async function batchGet(
  doc: DynamoDBDocumentClient,
  table: string,
  keys: ChargeKey[],
): Promise<ChargeRecord[]> {
  const out: ChargeRecord[] = [];
  let wanted: Record<string, unknown>[] = keys.map((k) => ({
    subscriptionId: k.subscriptionId,
    periodStart: k.periodStart,
  }));
  for (let attempt = 0; wanted.length > 0; attempt++) {
    if (attempt === BATCH_ATTEMPTS) {
      throw new Error(
        `DynamoDB left ${wanted.length} charge records unread after ${BATCH_ATTEMPTS} attempts`,
      );
    }
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
    const result = await doc.send(
      new BatchGetCommand({ RequestItems: { [table]: { Keys: wanted, ConsistentRead: true } } }),
    );
    out.push(...((result.Responses?.[table] ?? []) as ChargeRecord[]));
    // DynamoDB may leave some keys unprocessed under load: ask again for those, backing off.
    wanted = (result.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
  }
  return out;
}

const keyOf = (k: ChargeKey) => `${k.subscriptionId}\u0000${k.periodStart}`;
