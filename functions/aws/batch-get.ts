/**
 * Reading many items by key: BatchGetItem, 100 keys a request, asking again (after a backoff) for the
 * keys DynamoDB left unprocessed under load, and waiting out throttling and lost answers (a read). Items come back in no
 * particular order; missing keys are simply absent.
 */
import { BatchGetCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import {
  retryTransient,
  sleepMs,
  throttleDelayMs,
  ThrottledTooLongError,
  THROTTLE_ATTEMPTS,
  type BackoffOptions,
} from "./throttling";

/** BatchGetItem takes at most 100 keys. */
export const BATCH_GET_LIMIT = 100;

export async function batchGetItems(
  doc: DynamoDBDocumentClient,
  table: string,
  keys: readonly Record<string, unknown>[],
  options: BackoffOptions & { readonly consistentRead?: boolean } = {},
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += BATCH_GET_LIMIT) {
    out.push(...(await readChunk(doc, table, keys.slice(i, i + BATCH_GET_LIMIT), options)));
  }
  return out;
}

async function readChunk(
  doc: DynamoDBDocumentClient,
  table: string,
  keys: readonly Record<string, unknown>[],
  options: BackoffOptions & { readonly consistentRead?: boolean },
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const attempts = options.attempts ?? THROTTLE_ATTEMPTS;
  let wanted = [...keys];
  for (let retry = 0; wanted.length > 0; retry++) {
    if (retry === attempts) {
      throw new ThrottledTooLongError(
        `DynamoDB left ${wanted.length} keys of ${table} unread after ${attempts} attempts`,
      );
    }
    if (retry > 0) {
      const delayMs = throttleDelayMs(retry - 1, options.random);
      options.onThrottled?.(retry - 1, delayMs);
      await (options.sleep ?? sleepMs)(delayMs);
    }
    const request = { [table]: { Keys: wanted, ConsistentRead: options.consistentRead ?? true } };
    const result = await retryTransient(
      () => doc.send(new BatchGetCommand({ RequestItems: request })),
      options,
    );
    out.push(...((result.Responses?.[table] ?? []) as Record<string, unknown>[]));
    wanted = (result.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
  }
  return out;
}
