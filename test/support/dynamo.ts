/** Per-file tables on the shared DynamoDB Local, built from the same specs the stack deploys. */
import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import { QueryCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createTableSet, localDynamoClient } from "../../dev/dynamodb-local";
import { createDocumentClient } from "../../functions/aws/dynamo";
import type { TableNames } from "../../functions/schema/tables";

export interface TestTables {
  readonly endpoint: string;
  readonly names: TableNames;
  readonly doc: DynamoDBDocumentClient;
}

export async function createTestTables(label = "t"): Promise<TestTables> {
  const endpoint = inject("dynamoEndpoint");
  const prefix = `${label}-${randomUUID().slice(0, 8)}`;
  const client = localDynamoClient(endpoint);
  try {
    const names = await createTableSet(client, `${prefix}-`);
    return { endpoint, names, doc: createDocumentClient({ endpoint }) };
  } finally {
    client.destroy();
  }
}

/** A subscription's charge records, every period, read consistently: what the billing suites assert on. */
export async function chargeRecords(tables: TestTables, subscriptionId: string) {
  const out = await tables.doc.send(
    new QueryCommand({
      TableName: tables.names.charges,
      KeyConditionExpression: "subscriptionId = :id",
      ExpressionAttributeValues: { ":id": subscriptionId },
      ConsistentRead: true,
    }),
  );
  return out.Items ?? [];
}
