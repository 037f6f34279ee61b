/**
 * `ops subscriptions import FILE`: loads the rows of a CSV or JSON Lines file into the Subscriptions
 * table through the subscription client (functions/client), so each record is checked by the run's own
 * rules, gets its index fields computed, and is created with a conditional write that never overwrites.
 *
 * - Every bad row is reported with its line and each field at fault, and nothing is written for it; the
 *   other rows go on. A subscription id given twice is refused from its second line on.
 * - Safe to run twice: a row whose id is already stored is compared with the stored record
 *   (compare.ts): the same subscription is left as it is; a different one is reported and left as it is.
 *   The import never changes or deletes a stored subscription (the client and `ops subscriptions cancel`
 *   do that, with the conditions a running leader needs).
 * - Streamed: rows are read a line at a time and handled a batch at a time (one BatchGetItem for the
 *   batch's ids, then conditional puts, a few at a time); only the ids seen so far are remembered.
 * - Dry run unless `execute`: the same reads and checks, no write.
 * - Throttling is waited out with backoff (functions/aws/throttling.ts), and reported as progress.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { batchGetItems } from "../../functions/aws/batch-get";
import type { BackoffOptions } from "../../functions/aws/throttling";
import type { SubscriptionsClient } from "../../functions/client/subscriptions-client";
import {
  newSubscriptionRecord,
  type StoredSubscription,
} from "../../functions/core/billing/subscription-changes";
import type { FieldProblem } from "../../functions/core/billing/subscription-schema";
import { differences, type Difference } from "./compare";
import type { RowRead } from "./read-rows";

export interface ImportCounts {
  /** Rows read (blank lines and the CSV header are not rows). */
  rows: number;
  bad: number;
  created: number;
  /** Dry run: rows that would be created. */
  wouldCreate: number;
  /** Already stored as the same subscription: nothing to do. */
  unchanged: number;
  /** Already stored as a different subscription: reported, left as stored. */
  different: number;
}

export type ImportEvent =
  | {
      readonly kind: "bad";
      readonly line: number;
      readonly subscriptionId: string | null;
      readonly problems: readonly FieldProblem[];
    }
  | {
      readonly kind: "different";
      readonly line: number;
      readonly subscriptionId: string;
      readonly differences: readonly Difference[];
    };

export interface ImportDeps {
  readonly client: SubscriptionsClient;
  readonly doc: DynamoDBDocumentClient;
  readonly subscriptionsTable: string;
  readonly shardCount: number;
  readonly now: () => string;
  readonly execute: boolean;
  /** Conditional puts in flight at once. */
  readonly concurrency: number;
  /** Rows per batch (one BatchGetItem per 100). */
  readonly batchSize?: number;
  readonly backoff?: BackoffOptions;
}

export interface ImportReporter {
  /** Each bad or different row, in line order within a batch. */
  event(event: ImportEvent): void;
  /** After each batch: the counts so far and the last line read. */
  progress(counts: Readonly<ImportCounts>, line: number): void;
}

interface Pending {
  readonly line: number;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly record: StoredSubscription;
}

export async function importSubscriptions(
  rows: AsyncIterable<RowRead>,
  deps: ImportDeps,
  reporter: ImportReporter,
): Promise<ImportCounts> {
  const counts: ImportCounts = { rows: 0, bad: 0, created: 0, wouldCreate: 0, unchanged: 0, different: 0 };
  const firstLine = new Map<string, number>();
  const batchSize = deps.batchSize ?? 100;
  let batch: Pending[] = [];
  let events: ImportEvent[] = [];
  let line = 0;

  const flush = async () => {
    events.push(...(await load(batch, deps, counts)));
    for (const event of events.sort((a, b) => a.line - b.line)) reporter.event(event);
    reporter.progress(counts, line);
    batch = [];
    events = [];
  };

  for await (const row of rows) {
    counts.rows += 1;
    line = row.line;
    const bad = (subscriptionId: string | null, problems: readonly FieldProblem[]) => {
      counts.bad += 1;
      events.push({ kind: "bad", line: row.line, subscriptionId, problems });
    };
    if (row.kind === "unreadable") {
      bad(null, [{ field: "row", reason: row.reason }]);
    } else {
      const id = typeof row.fields.subscriptionId === "string" ? row.fields.subscriptionId : null;
      const seenOn = id === null ? undefined : firstLine.get(id);
      if (id !== null && seenOn === undefined) firstLine.set(id, row.line);
      const built = newSubscriptionRecord(row.fields, deps.now(), deps.shardCount);
      if (seenOn !== undefined) {
        bad(id, [{ field: "subscriptionId", reason: `${id} is already on line ${seenOn} of this file` }]);
      } else if (!built.ok) {
        bad(id, built.problems);
      } else {
        batch.push({ line: row.line, fields: row.fields, record: built.record });
      }
    }
    if (batch.length >= batchSize || events.length >= batchSize) await flush();
  }
  await flush();
  return counts;
}

/** One batch: which ids are stored already, then the new ones created (or counted, in a dry run). */
async function load(
  batch: readonly Pending[],
  deps: ImportDeps,
  counts: ImportCounts,
): Promise<ImportEvent[]> {
  if (batch.length === 0) return [];
  const keys = batch.map((p) => ({ subscriptionId: p.record.subscriptionId }));
  const stored = await batchGetItems(deps.doc, deps.subscriptionsTable, keys, deps.backoff);
  const byId = new Map(stored.map((item) => [String(item.subscriptionId), item]));
  const events: ImportEvent[] = [];
  const compare = (p: Pending, existing: Readonly<Record<string, unknown>>) => {
    const found = differences(p.record, p.fields.shard !== undefined, existing);
    if (found.length === 0) counts.unchanged += 1;
    else {
      counts.different += 1;
      events.push({
        kind: "different",
        line: p.line,
        subscriptionId: p.record.subscriptionId,
        differences: found,
      });
    }
  };
  await inParallel(batch, deps.concurrency, async (p) => {
    const existing = byId.get(p.record.subscriptionId);
    if (existing !== undefined) return compare(p, existing);
    if (!deps.execute) {
      counts.wouldCreate += 1;
      return;
    }
    const created = await deps.client.create(p.fields);
    switch (created.kind) {
      case "created":
        counts.created += 1;
        return;
      case "conflict":
        // Stored since the batch was read (another writer, or our own put retried after a lost answer).
        return compare(p, created.current ?? {});
      case "invalid":
        counts.bad += 1;
        events.push({
          kind: "bad",
          line: p.line,
          subscriptionId: p.record.subscriptionId,
          problems: created.problems,
        });
        return;
    }
  });
  return events;
}

async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
