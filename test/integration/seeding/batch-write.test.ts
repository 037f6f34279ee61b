/**
 * The one batch-write helper of seeding and the benchmark (dev/batch-write.ts), on DynamoDB Local: every
 * item lands, whatever the batch size and the requests in flight; items DynamoDB leaves unprocessed are
 * sent again after a full-jitter backoff, never in a tight loop; and a table that keeps refusing ends in a
 * typed error naming it. DynamoDB Local does not throttle, so "unprocessed" is played by a document client
 * that passes only part of each request on to it and answers the rest as DynamoDB does.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { BatchWriteCommand, ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { BATCH_SIZE, putItems } from "../../../dev/batch-write";
import {
  THROTTLE_ATTEMPTS,
  THROTTLE_BASE_MS,
  ThrottledTooLongError,
} from "../../../functions/aws/throttling";
import type { Clock } from "../../../functions/core/clock";
import { createTestTables, type TestTables } from "../../support/dynamo";

let tables: TestTables;
beforeAll(async () => {
  tables = await createTestTables("batch-write");
});

const items = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    subscriptionId: `${prefix}_${String(i).padStart(4, "0")}`,
    shard: 0,
  }));

async function idsIn(table: string, prefix: string): Promise<string[]> {
  const page = await tables.doc.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return (page.Items ?? [])
    .map((item) => String(item.subscriptionId))
    .filter((id) => id.startsWith(`${prefix}_`))
    .sort();
}

/**
 * A document client that sends only the first `passed` items of each BatchWrite on to DynamoDB Local, for
 * the first `throttled` requests, and returns the others as UnprocessedItems.
 */
function throttling(throttled: number, passed: number) {
  let requests = 0;
  const sizes: number[] = [];
  const send = async (command: BatchWriteCommand) => {
    const [table, writes] = Object.entries(command.input.RequestItems ?? {})[0]!;
    sizes.push(writes.length);
    if (requests++ >= throttled) return tables.doc.send(command);
    if (passed > 0) {
      await tables.doc.send(new BatchWriteCommand({ RequestItems: { [table]: writes.slice(0, passed) } }));
    }
    const rest = writes.slice(passed);
    return { UnprocessedItems: rest.length > 0 ? { [table]: rest } : {}, $metadata: {} };
  };
  return { doc: { send } as unknown as DynamoDBDocumentClient, sizes };
}

/** A clock whose sleeps return at once, noting how long each was asked to be. */
function recording(waits: number[]): Clock {
  return { now: () => 0, sleep: async (ms: number) => void waits.push(ms) };
}

describe("putItems", () => {
  it("writes every item, in requests of at most 25, with several in flight", async () => {
    const written = items("all", 3 * BATCH_SIZE + 7);
    const counted = throttling(0, 0);
    await putItems(counted.doc, tables.names.subscriptions, written, { concurrency: 3 });
    expect(await idsIn(tables.names.subscriptions, "all")).toEqual(written.map((i) => i.subscriptionId));
    expect(counted.sizes.sort((a, b) => a - b)).toEqual([7, BATCH_SIZE, BATCH_SIZE, BATCH_SIZE]);
  });

  it("sends unprocessed items again after a full-jitter backoff that doubles, until all have landed", async () => {
    const written = items("retried", 10);
    const throttle = throttling(3, 2);
    const waits: number[] = [];
    await putItems(throttle.doc, tables.names.subscriptions, written, {
      clock: recording(waits),
      random: () => 0.999,
    });
    expect(await idsIn(tables.names.subscriptions, "retried")).toEqual(written.map((i) => i.subscriptionId));
    // 10 items, 2 through per throttled request: 10, 8, 6, then the last 4 at once.
    expect(throttle.sizes).toEqual([10, 8, 6, 4]);
    // Full jitter (functions/aws/throttling.ts): random × base × 2^retry, here just under each cap.
    expect(waits).toEqual([1, 2, 4].map((n) => Math.round(0.999 * n * THROTTLE_BASE_MS)));
  });

  it("gives up with a ThrottledTooLongError naming the table once the tries are spent", async () => {
    const throttle = throttling(Number.POSITIVE_INFINITY, 0);
    const waits: number[] = [];
    const error = await putItems(throttle.doc, "subscriptions-table", items("refused", 3), {
      clock: recording(waits),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledTooLongError);
    expect((error as Error).message).toBe(
      `subscriptions-table: 3 item(s) still unprocessed after ${THROTTLE_ATTEMPTS} tries`,
    );
    expect(throttle.sizes).toHaveLength(THROTTLE_ATTEMPTS);
    expect(waits).toHaveLength(THROTTLE_ATTEMPTS - 1);
  });
});
