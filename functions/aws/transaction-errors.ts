/**
 * Reading DynamoDB's TransactionCanceledException: which item's condition failed, and whether the
 * cancellation was only a conflict with another in-flight write (nothing written; safe to retry).
 */
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";

export interface CancellationReason {
  readonly code: string;
  readonly item?: Record<string, unknown>;
}

export function cancellationReasons(error: unknown): CancellationReason[] | null {
  if (!(error instanceof Error) || error.name !== "TransactionCanceledException") return null;
  const raw = (error as { CancellationReasons?: { Code?: string; Item?: Record<string, AttributeValue> }[] })
    .CancellationReasons;
  return (raw ?? []).map((reason) => ({
    code: reason.Code ?? "None",
    ...(reason.Item && { item: unmarshall(reason.Item) }),
  }));
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}
