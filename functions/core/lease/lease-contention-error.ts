/**
 * Losing a lease race is an expected outcome (`held`), but losing every one of a bounded number of
 * races to writers that never show up as a live holder is not: the caller gets this typed error, not a
 * plain Error, and can tell it from an infrastructure failure with `instanceof`.
 */
import { BillingJobError } from "../errors";

export class LeaseContentionError extends BillingJobError {
  override readonly name: string = "LeaseContentionError";

  constructor(
    readonly leaseKey: string,
    /** The conditional writes tried and lost. */
    readonly attempts: number,
    problem: string,
    options?: { readonly cause?: unknown },
  ) {
    super(`lease ${leaseKey}: ${problem}`, options);
  }
}
