/**
 * Putting many items into one table, for seeding and the benchmark's data sets: BatchWriteItem, 25 items a
 * request, a few requests in flight. DynamoDB may leave part of a batch unprocessed (throttling, a hot
 * partition); those items are sent again after the adapters' backoff (functions/aws/throttling.ts:
 * exponential, full jitter), as DynamoDB's documentation asks, rather than at once in a tight loop, and
 * the write gives up after THROTTLE_ATTEMPTS tries.
 */
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import { THROTTLE_ATTEMPTS, ThrottledTooLongError, throttleDelayMs } from "../functions/aws/throttling";
import { systemClock, type Clock } from "../functions/core/clock";

type WriteRequest = NonNullable<BatchWriteCommandInput["RequestItems"]>[string][number];

/** DynamoDB's limit of items per BatchWriteItem request. */
export const BATCH_SIZE = 25;

export interface PutItemsOptions {
  /** Batch requests in flight at once (default 1). */
  readonly concurrency?: number;
  /** Sleeps between retries (default the system clock). */
  readonly clock?: Clock;
  /** The jitter source, in [0, 1) (default Math.random). */
  readonly random?: () => number;
}

export async function putItems(
  doc: DynamoDBDocumentClient,
  table: string,
  items: readonly Record<string, unknown>[],
  options: PutItemsOptions = {},
): Promise<void> {
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += BATCH_SIZE) batches.push(items.slice(i, i + BATCH_SIZE));
  let next = 0;
  const workers = Math.min(options.concurrency ?? 1, batches.length);
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < batches.length) await putBatch(doc, table, batches[next++]!, options);
    }),
  );
}

async function putBatch(
  doc: DynamoDBDocumentClient,
  table: string,
  batch: readonly Record<string, unknown>[],
  options: PutItemsOptions,
): Promise<void> {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  let requests: WriteRequest[] = batch.map((Item) => ({ PutRequest: { Item } }));
  for (let retry = 0; ; retry++) {
    const result = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
    requests = result.UnprocessedItems?.[table] ?? [];
    if (requests.length === 0) return;
    if (retry + 1 >= THROTTLE_ATTEMPTS) {
      throw new ThrottledTooLongError(
        `${table}: ${requests.length} item(s) still unprocessed after ${THROTTLE_ATTEMPTS} tries`,
      );
    }
    await clock.sleep(throttleDelayMs(retry, random));
  }
}
