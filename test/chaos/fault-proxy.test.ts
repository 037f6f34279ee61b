/**
 * The chaos suite's DynamoDB fault proxy does what it claims, against DynamoDB Local with the AWS SDK:
 * a throttle or a 500 is answered without reaching DynamoDB (nothing written), and a dropped response
 * reaches DynamoDB (the write happened) while the client sees only a network error. These are the
 * faults behind invariant 4 (a write under a stale fence is rejected by DynamoDB) and invariant 1 (a
 * lost answer to a committed write must not lead to a second charge) in `npm run chaos`; if the proxy
 * silently forwarded everything, the suite would prove nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "../../functions/aws/dynamo";
import {
  NO_DYNAMO_FAULTS,
  startDynamoFaultProxy,
  type DynamoFaultProxy,
} from "../../dev/chaos/dynamo-fault-proxy";
import { createTestTables, type TestTables } from "../support/dynamo";

let tables: TestTables;
let proxy: DynamoFaultProxy;
let viaProxy: DynamoDBDocumentClient;

beforeAll(async () => {
  tables = await createTestTables("chaos-proxy");
  proxy = await startDynamoFaultProxy({ target: tables.endpoint, seed: 1 });
  // One attempt: the SDK's retries would hide the fault this file looks at.
  viaProxy = createDocumentClient({ endpoint: proxy.endpoint, maxAttempts: 1 });
});
afterAll(async () => {
  viaProxy?.destroy();
  await proxy?.stop();
  tables?.doc.destroy();
});

const put = (id: string) =>
  viaProxy.send(
    new PutCommand({
      TableName: tables.names.subscriptions,
      Item: { subscriptionId: id, status: "active" },
    }),
  );
const stored = async (id: string) =>
  (
    await tables.doc.send(
      new GetCommand({
        TableName: tables.names.subscriptions,
        Key: { subscriptionId: id },
        ConsistentRead: true,
      }),
    )
  ).Item;

describe("DynamoDB fault proxy", () => {
  it("forwards untouched when faults are off", async () => {
    proxy.setRates(NO_DYNAMO_FAULTS);
    await put("sub_forwarded");
    expect(await stored("sub_forwarded")).toMatchObject({ subscriptionId: "sub_forwarded" });
    expect(proxy.counts().forwarded).toBeGreaterThan(0);
  });

  it("throttles with ProvisionedThroughputExceededException and does not forward", async () => {
    proxy.setRates({ ...NO_DYNAMO_FAULTS, throttleRate: 1 });
    const before = proxy.counts().throttle;
    const error = await put("sub_throttled").then(
      () => null,
      (e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } },
    );
    proxy.setRates(NO_DYNAMO_FAULTS);
    expect(error?.name).toBe("ProvisionedThroughputExceededException");
    expect(error?.$metadata?.httpStatusCode).toBe(400);
    expect(await stored("sub_throttled")).toBeUndefined();
    expect(proxy.counts().throttle).toBe(before + 1);
    expect(proxy.counts().byOperation.PutItem?.throttle).toBeGreaterThan(0);
  });

  it("fails with a 500 InternalServerError and does not forward", async () => {
    proxy.setRates({ ...NO_DYNAMO_FAULTS, error500Rate: 1 });
    const error = await put("sub_500").then(
      () => null,
      (e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } },
    );
    proxy.setRates(NO_DYNAMO_FAULTS);
    expect(error?.name).toBe("InternalServerError");
    expect(error?.$metadata?.httpStatusCode).toBe(500);
    expect(await stored("sub_500")).toBeUndefined();
  });

  it("drops the response of a write DynamoDB applied: the client errs, the item is there", async () => {
    proxy.setRates({ ...NO_DYNAMO_FAULTS, dropResponseRate: 1 });
    const before = proxy.counts()["drop-response"];
    const error = await put("sub_dropped").then(
      () => null,
      (e: unknown) => e as Error,
    );
    proxy.setRates(NO_DYNAMO_FAULTS);
    expect(error).not.toBeNull();
    expect(await stored("sub_dropped")).toMatchObject({ subscriptionId: "sub_dropped" });
    expect(proxy.counts()["drop-response"]).toBe(before + 1);
  });

  it("lets the SDK's own retries through a partial fault rate (a throttle is a delay, not a failure)", async () => {
    proxy.setRates({ ...NO_DYNAMO_FAULTS, throttleRate: 0.3 });
    const retrying = createDocumentClient({ endpoint: proxy.endpoint, maxAttempts: 8 });
    try {
      for (let i = 0; i < 10; i++) {
        await retrying.send(
          new PutCommand({
            TableName: tables.names.subscriptions,
            Item: { subscriptionId: `sub_retry_${i}`, status: "active" },
          }),
        );
      }
    } finally {
      retrying.destroy();
      proxy.setRates(NO_DYNAMO_FAULTS);
    }
    for (let i = 0; i < 10; i++) expect(await stored(`sub_retry_${i}`)).toBeDefined();
  });

  it("refuses rates outside [0, 1] or adding up to more than 1", () => {
    expect(() => proxy.setRates({ ...NO_DYNAMO_FAULTS, throttleRate: 1.5 })).toThrow(/throttleRate/);
    expect(() => proxy.setRates({ throttleRate: 0.6, error500Rate: 0.6, dropResponseRate: 0 })).toThrow(
      /more than 1/,
    );
  });
});
