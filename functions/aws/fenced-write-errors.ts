/**
 * A fenced write DynamoDB cancelled for a reason other than the fence or the write's own conditions
 * (those are results, not errors: see FencedWriteResult). Typed, so a caller tells them apart with
 * `instanceof`, and each keeps DynamoDB's TransactionCanceledException as its cause for the logs.
 */
import { BillingJobError } from "../core/errors";

/** DynamoDB cancelled the transaction with a reason this code does not retry (throttling, validation). */
export class FencedWriteCancelledError extends BillingJobError {
  override readonly name: string = "FencedWriteCancelledError";

  constructor(
    /** DynamoDB's cancellation reason code for the write's item. */
    readonly code: string,
    options: { readonly cause: unknown },
  ) {
    super(`fenced write cancelled: ${code}`, options);
  }
}

/** Other writers kept touching the same items: the write was retried and never got through. */
export class FencedWriteConflictError extends BillingJobError {
  override readonly name: string = "FencedWriteConflictError";

  constructor(
    /** Transaction conflicts seen, the last of them the cause. */
    readonly conflicts: number,
    options: { readonly cause: unknown },
  ) {
    super("fenced write: too many transaction conflicts", options);
  }
}
