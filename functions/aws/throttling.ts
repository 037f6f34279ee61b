/**
 * Backing off when DynamoDB asks for it. The SDK retries a throttled request a few times by itself; a
 * bulk reader or writer (the subscription import) has to outlast longer throttling than that, and
 * BatchGetItem's unprocessed keys (DynamoDB's other way of saying "slow down") need asking again, later.
 * Both wait here: exponential backoff with full jitter, so writers that were throttled together do not
 * come back in step.
 *
 * A request whose answer was lost (a dropped connection, a timeout, a 5xx) may or may not have been
 * applied. `retryTransient` sends it again too, so it is only for reads and for writes whose condition
 * makes a second try harmless (the subscription client's: a repeat finds its own write and says so).
 */
import { BillingJobError } from "../core/errors";

const THROTTLING = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
]);

export const THROTTLE_BASE_MS = 100;
export const THROTTLE_CAP_MS = 10_000;
/** Tries in all, the first included: with the cap, about a minute of throttling is outlasted. */
export const THROTTLE_ATTEMPTS = 12;

/** DynamoDB refused the request for the table's (or the account's) throughput: nothing was done. */
export function isThrottling(error: unknown): boolean {
  return error instanceof Error && THROTTLING.has(error.name);
}

const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EAI_AGAIN"]);

/** No answer, or DynamoDB's own failure: the request may or may not have been applied. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  const code = (error as { code?: unknown }).code;
  return error.name === "TimeoutError" || (typeof code === "string" && NETWORK_CODES.has(code));
}

/** Uniform in [0, min(cap, base * 2^retry)]; `retry` counts from 0. */
export function throttleDelayMs(retry: number, random: () => number = Math.random): number {
  return Math.round(Math.min(THROTTLE_CAP_MS, THROTTLE_BASE_MS * 2 ** retry) * random());
}

/** Still throttled (or still left unprocessed) after every try. */
export class ThrottledTooLongError extends BillingJobError {
  override readonly name: string = "ThrottledTooLongError";
}

export interface BackoffOptions {
  readonly sleep?: (ms: number) => Promise<void>;
  readonly attempts?: number;
  readonly random?: () => number;
  /** Told of each wait, e.g. to show it in progress output. */
  readonly onThrottled?: (retry: number, delayMs: number) => void;
}

export const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `op`, again after a backoff each time DynamoDB throttles it; any other error passes through. */
export function retryWhileThrottled<T>(op: () => Promise<T>, options: BackoffOptions = {}): Promise<T> {
  return retrying(op, isThrottling, options);
}

/** Runs `op` again after a backoff when it is throttled or its answer is lost. See the module comment. */
export function retryTransient<T>(op: () => Promise<T>, options: BackoffOptions = {}): Promise<T> {
  return retrying(op, (error) => isThrottling(error) || isTransient(error), options);
}

async function retrying<T>(
  op: () => Promise<T>,
  worthRetrying: (error: unknown) => boolean,
  options: BackoffOptions,
): Promise<T> {
  const attempts = options.attempts ?? THROTTLE_ATTEMPTS;
  for (let retry = 0; ; retry++) {
    try {
      return await op();
    } catch (error) {
      if (!worthRetrying(error)) throw error;
      if (retry + 1 >= attempts) {
        const what = isThrottling(error) ? "throttled" : "failed";
        throw new ThrottledTooLongError(`DynamoDB ${what} the request ${attempts} times in a row`, {
          cause: error,
        });
      }
      const delayMs = throttleDelayMs(retry, options.random);
      options.onThrottled?.(retry, delayMs);
      await (options.sleep ?? sleepMs)(delayMs);
    }
  }
}
