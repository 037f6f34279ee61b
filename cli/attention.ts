/**
 * Charge records in one attention state: found through the sparse `attention` index, read from the table.
 *
 * The index holds keys only (functions/schema/tables.ts), so the records come from strongly consistent
 * BatchGetItem reads; one that has left the state since the index saw it (the index lags writes by a
 * moment) is dropped. Oldest claim first, as the index sorts them.
 */
import { QueryCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { ChargeRecord } from "../functions/core/billing/charge-state";
import { CHARGE_TABLE, type TableNames } from "../functions/schema/tables";
import { batchGetItems } from "../functions/aws/batch-get";

const ATTENTION_INDEX = CHARGE_TABLE.indexes[0].indexName;

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
  const wanted = keys.map((k) => ({ subscriptionId: k.subscriptionId, periodStart: k.periodStart }));
  for (const record of (await batchGetItems(doc, tables.charges, wanted)) as ChargeRecord[]) {
    found.set(keyOf(record), record);
  }
  const records = keys
    .map((key) => found.get(keyOf(key)))
    .filter((r): r is Extract<ChargeRecord, { state: S }> => r !== undefined && r.state === state);
  return { records, more: start !== undefined };
}

const keyOf = (k: ChargeKey) => `${k.subscriptionId}\u0000${k.periodStart}`;
