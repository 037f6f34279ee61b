import { BillingJobError } from "./errors";

/** Bad input from a caller or an operator. Names the offending field; raised before anything is written. */
export class InvalidInputError extends BillingJobError {
  override readonly name: string = "InvalidInputError";

  constructor(
    readonly field: string,
    problem: string,
    options?: { readonly cause?: unknown },
  ) {
    super(`${field}: ${problem}`, options);
  }
}
