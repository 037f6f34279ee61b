/**
 * Dunning: when a declined renewal is tried again. After the first decline the period is retried after
 * each delay of the schedule in turn, measured from the decline just recorded; when the schedule runs out
 * the subscription goes past_due. A payment that needs the customer to authenticate (3-D Secure) is never
 * retried off-session: another attempt would fail the same way and can count against the card with the
 * issuer.
 */
import { parseTimestamp } from "./calendar";

export interface RetrySchedule {
  /** Delay before each retry, in ms: the n-th entry follows the n-th decline. */
  readonly delaysMs: readonly number[];
}

const DAY_MS = 86_400_000;

/** Retry 1, 3 and 5 days after each decline: 4 attempts in all, the last about 9 days after the first. */
export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = { delaysMs: [1 * DAY_MS, 3 * DAY_MS, 5 * DAY_MS] };

/** Retry delays: at least a second; at most a year (anything longer is a typo, not a dunning plan). */
export const MIN_RETRY_DELAY_MS = 1_000;
export const MAX_RETRY_DELAY_MS = 366 * DAY_MS;
/** Retries per period at most: each is another off-session attempt against the customer's card. */
export const MAX_RETRIES = 20;

/** Why `delaysMs` is not a usable schedule, or null when it is. */
export function retryScheduleProblem(delaysMs: readonly number[]): string | null {
  if (delaysMs.length > MAX_RETRIES) return `at most ${MAX_RETRIES} retries, got ${delaysMs.length}`;
  const bad = delaysMs.find(
    (delay) => !Number.isSafeInteger(delay) || delay < MIN_RETRY_DELAY_MS || delay > MAX_RETRY_DELAY_MS,
  );
  if (bad === undefined) return null;
  return `each retry delay must be whole milliseconds from ${MIN_RETRY_DELAY_MS} to ${MAX_RETRY_DELAY_MS}, got ${bad}`;
}

/** A schedule from delays in ms; RangeError unless retryScheduleProblem finds none. */
export function retrySchedule(delaysMs: readonly number[]): RetrySchedule {
  const problem = retryScheduleProblem(delaysMs);
  if (problem !== null) throw new RangeError(`retry delays: ${problem}`);
  return { delaysMs: [...delaysMs] };
}

/** Attempts a period gets in all under `schedule`: the first charge plus one per delay. */
export function maxAttempts(schedule: RetrySchedule): number {
  return schedule.delaysMs.length + 1;
}

/**
 * When to retry after attempt `attemptNumber` (1-based) declined at `declinedAt`, or null when no retries
 * are left (the subscription goes past_due).
 */
export function nextRetry(attemptNumber: number, declinedAt: string, schedule: RetrySchedule): string | null {
  if (!Number.isInteger(attemptNumber) || attemptNumber < 1) {
    throw new RangeError(`attemptNumber must be a whole number from 1, got ${attemptNumber}`);
  }
  const at = parseTimestamp(declinedAt, "declinedAt");
  const delay = schedule.delaysMs[attemptNumber - 1];
  return delay === undefined ? null : new Date(at + delay).toISOString();
}

/**
 * Stripe reports a card that needs 3-D Secure either as `code: authentication_required` or as
 * `card_declined` with `decline_code: authentication_required`; both mean the same.
 */
export function isAuthenticationRequired(code: string | null, declineCode: string | null): boolean {
  return code === "authentication_required" || declineCode === "authentication_required";
}

export type DeclineDecision =
  | { readonly kind: "retry"; readonly retryAt: string }
  /** No retries left: the subscription goes past_due. */
  | { readonly kind: "past_due" }
  /** The customer must authenticate on-session; no off-session retry. */
  | { readonly kind: "needs_customer_action" };

/** What follows a failed off-session confirmation. */
export function afterDecline(
  decline: { readonly code: string | null; readonly declineCode: string | null },
  attemptNumber: number,
  declinedAt: string,
  schedule: RetrySchedule,
): DeclineDecision {
  if (isAuthenticationRequired(decline.code, decline.declineCode)) return { kind: "needs_customer_action" };
  const retryAt = nextRetry(attemptNumber, declinedAt, schedule);
  return retryAt === null ? { kind: "past_due" } : { kind: "retry", retryAt };
}
