/**
 * The fenced write: how every module changes billing state while holding a lease.
 *
 * Each write goes into a DynamoDB transaction whose first item is a ConditionCheck on the lease record
 * (`owner = me AND fence = my fence`). If another contender has taken the lease since, that check fails
 * inside DynamoDB and nothing in the transaction is written: a paused ex-leader cannot change anything,
 * however late it wakes. The written items also carry the fence, as a record of who wrote them.
 *
 * Group commit: every transaction that names the lease record conflicts with every other one in flight
 * (DynamoDB cancels concurrent transactions touching one item, ConditionCheck included). So a leader
 * keeps one transaction in flight per lease, and the writes that arrive meanwhile are committed together
 * in the next one, behind a single ConditionCheck. Under load this turns many small conflicting
 * transactions into a few larger ones; alone, a write goes out at once. Each write keeps its own
 * conditions and its own result: one that fails its condition is answered alone and the others are
 * committed again without it. See docs/lease-protocol.md, "Fenced writes".
 */
import { randomUUID } from "node:crypto";
import {
  TransactWriteCommand,
  type DynamoDBDocumentClient,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import type { Clock } from "../core/clock";
import { InvalidInputError } from "../core/input-error";
import type { LeaseToken } from "../core/lease/lease";
import type { CapacityMeter } from "./dynamo";
import { FencedWriteCancelledError, FencedWriteConflictError } from "./fenced-write-errors";
import { HOLDER_CONDITION, HOLDER_NAMES, holderValues, leaseRecordKey } from "./dynamo-lease-store";
import { cancellationReasons, type CancellationReason } from "./transaction-errors";

export type FencedItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

export type FencedWriteResult =
  | { readonly ok: true }
  /** The lease is no longer ours with this fence: nothing was written. Stop working. */
  | { readonly ok: false; readonly reason: "fenced-out" }
  /** One of the items' own conditions failed (index into the items given); nothing was written. */
  | {
      readonly ok: false;
      readonly reason: "condition-failed";
      readonly failedIndex: number;
      /** The item as it is now, when DynamoDB returned it. */
      readonly current?: Record<string, unknown>;
    };

/** DynamoDB allows 100 actions per transaction; one is the fence check. */
const MAX_ACTIONS = 100;
/** Retries of a write cancelled only by conflicts with other writers (nothing was written). */
const CONFLICT_RETRIES = 8;

interface PendingWrite {
  readonly token: LeaseToken;
  readonly items: FencedItem[];
  conflicts: number;
  readonly resolve: (result: FencedWriteResult) => void;
  readonly reject: (error: unknown) => void;
}

interface Lane {
  queue: PendingWrite[];
  inFlight: boolean;
}

export class FencedWriter {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly leaseTableName: string,
    private readonly clock: Clock,
    private readonly meter?: CapacityMeter,
  ) {}

  /**
   * Writes `items` atomically if and only if `token` still holds its lease. Items' own conditions are
   * honoured too; ask for the current item on failure with ReturnValuesOnConditionCheckFailure.
   */
  write(token: LeaseToken, items: FencedItem[]): Promise<FencedWriteResult> {
    if (items.length === 0 || items.length >= MAX_ACTIONS) {
      return Promise.reject(
        new InvalidInputError("items", `a fenced write takes 1 to ${MAX_ACTIONS - 1} items`),
      );
    }
    return new Promise((resolve, reject) => {
      this.enqueue({ token, items, conflicts: 0, resolve, reject });
    });
  }

  private enqueue(write: PendingWrite): void {
    const key = `${write.token.leaseKey}\u0000${write.token.owner}\u0000${write.token.fence}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { queue: [], inFlight: false };
      this.lanes.set(key, lane);
    }
    lane.queue.push(write);
    this.pump(key, lane);
  }

  /** Starts the next transaction of a lane unless one is in flight. */
  private pump(key: string, lane: Lane): void {
    if (lane.inFlight) return;
    if (lane.queue.length === 0) {
      this.lanes.delete(key);
      return;
    }
    const batch: PendingWrite[] = [];
    let actions = 1;
    while (lane.queue.length > 0 && actions + lane.queue[0]!.items.length <= MAX_ACTIONS) {
      const next = lane.queue.shift()!;
      batch.push(next);
      actions += next.items.length;
    }
    lane.inFlight = true;
    void this.commit(batch).finally(() => {
      lane.inFlight = false;
      this.pump(key, lane);
    });
  }

  private async commit(batch: PendingWrite[]): Promise<void> {
    const token = batch[0]!.token;
    const fenceCheck: FencedItem = {
      ConditionCheck: {
        TableName: this.leaseTableName,
        Key: leaseRecordKey(token.leaseKey),
        ConditionExpression: HOLDER_CONDITION,
        ExpressionAttributeNames: { ...HOLDER_NAMES },
        ExpressionAttributeValues: holderValues(token),
      },
    };
    try {
      const result = await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [fenceCheck, ...batch.flatMap((w) => w.items)],
          // Makes the SDK's own retries of this request idempotent: a retry after a lost response
          // succeeds without writing twice.
          ClientRequestToken: randomUUID(),
          ReturnConsumedCapacity: "TOTAL",
        }),
      );
      this.meter?.record("fenced-write", result.ConsumedCapacity);
      for (const write of batch) write.resolve({ ok: true });
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (!reasons) {
        // Not a cancellation. Two writes on one item in one transaction is a ValidationException:
        // commit each alone. Anything else is the caller's to handle.
        if (batch.length > 1 && error instanceof Error && error.name === "ValidationException") {
          await Promise.all(batch.map((w) => this.commit([w])));
          return;
        }
        for (const write of batch) write.reject(error);
        return;
      }
      await this.settleCancelled(batch, reasons, error);
    }
  }

  /** Answers each write of a cancelled transaction from its own reasons; retries the innocent. */
  private async settleCancelled(
    batch: PendingWrite[],
    reasons: CancellationReason[],
    cancellation: unknown,
  ): Promise<void> {
    if (reasons[0]?.code === "ConditionalCheckFailed") {
      for (const write of batch) write.resolve({ ok: false, reason: "fenced-out" });
      return;
    }
    const again: PendingWrite[] = [];
    let offset = 1;
    for (const write of batch) {
      const own = reasons.slice(offset, offset + write.items.length);
      offset += write.items.length;
      const failedIndex = own.findIndex((r) => r.code === "ConditionalCheckFailed");
      if (failedIndex >= 0) {
        const current = own[failedIndex]?.item;
        write.resolve({ ok: false, reason: "condition-failed", failedIndex, ...(current && { current }) });
        continue;
      }
      const conflicted =
        reasons[0]?.code === "TransactionConflict" || own.some((r) => r.code === "TransactionConflict");
      if (conflicted) write.conflicts += 1;
      const unexpected = own.find((r) => r.code !== "None" && r.code !== "TransactionConflict");
      if (unexpected) write.reject(new FencedWriteCancelledError(unexpected.code, { cause: cancellation }));
      else if (write.conflicts > CONFLICT_RETRIES)
        write.reject(new FencedWriteConflictError(write.conflicts, { cause: cancellation }));
      else again.push(write);
    }
    if (again.length === 0) return;
    // Nothing of these was written. A conflict means another writer touched the same item a moment
    // ago (our own heartbeat, say): wait a little before trying again.
    if (again.some((w) => w.conflicts > 0)) {
      const attempt = Math.max(...again.map((w) => w.conflicts));
      await this.clock.sleep(5 * attempt + Math.floor(Math.random() * 10 * attempt));
    }
    for (const write of again) this.enqueue(write);
  }
}
