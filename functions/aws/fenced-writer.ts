/**
 * The fenced write: how every module changes billing state while holding a lease.
 *
 * Each write is a DynamoDB transaction whose first item is a ConditionCheck on the lease record
 * (`owner = me AND fence = my fence`). If another contender has taken the lease since, that check fails
 * inside DynamoDB and nothing in the transaction is written: a paused ex-leader cannot change anything,
 * however late it wakes. The written items also carry the fence, as a record of who wrote them.
 * See docs/lease-protocol.md, "Fenced writes".
 */
import { randomUUID } from "node:crypto";
import {
  TransactWriteCommand,
  type DynamoDBDocumentClient,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import type { Clock } from "../core/clock";
import type { LeaseToken } from "../core/lease/lease";
import type { CapacityMeter } from "./dynamo";
import { HOLDER_CONDITION, HOLDER_NAMES, holderValues, leaseRecordKey } from "./dynamo-lease-store";
import { cancellationReasons, isConflictOnly } from "./transaction-errors";

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

const CONFLICT_RETRIES = 6;

export class FencedWriter {
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
  async write(token: LeaseToken, items: FencedItem[], operation = "fenced"): Promise<FencedWriteResult> {
    const fenceCheck: FencedItem = {
      ConditionCheck: {
        TableName: this.leaseTableName,
        Key: leaseRecordKey(token.leaseKey),
        ConditionExpression: HOLDER_CONDITION,
        ExpressionAttributeNames: { ...HOLDER_NAMES },
        ExpressionAttributeValues: holderValues(token),
      },
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.doc.send(
          new TransactWriteCommand({
            TransactItems: [fenceCheck, ...items],
            // Makes the SDK's own retries of this request idempotent (a retry after a lost response
            // succeeds without writing twice). A new token per our own retry below.
            ClientRequestToken: randomUUID(),
            ReturnConsumedCapacity: "TOTAL",
          }),
        );
        this.meter?.record(operation, result.ConsumedCapacity);
        return { ok: true };
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (!reasons) throw error;
        if (isConflictOnly(reasons) && attempt < CONFLICT_RETRIES) {
          // Another write touched one of these items at the same moment (our own heartbeat, say).
          // Nothing was written; try again shortly.
          await this.clock.sleep(5 * attempt + Math.floor(Math.random() * 10 * attempt));
          continue;
        }
        if (reasons[0]?.code === "ConditionalCheckFailed") return { ok: false, reason: "fenced-out" };
        const failedIndex = reasons.findIndex((r, i) => i > 0 && r.code === "ConditionalCheckFailed");
        if (failedIndex > 0) {
          const current = reasons[failedIndex]?.item;
          return {
            ok: false,
            reason: "condition-failed",
            failedIndex: failedIndex - 1,
            ...(current && { current }),
          };
        }
        throw error;
      }
    }
  }
}
