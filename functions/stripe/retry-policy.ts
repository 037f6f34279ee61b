/**
 * The one retry policy of the project's Stripe calls: what an error means, and how long to wait before
 * trying again. Modelled on stripe-node's own (RequestSender._shouldRetry), which the gateway turns off so
 * that every retry passes the send guard first.
 */
import Stripe from "stripe";

/** What a failed try tells us about the request. */
export type ErrorClass =
  /** 401 or 403: our credentials; nothing was done. */
  | "auth"
  /** 429 or lock_timeout: refused before anything was done; safe to retry later. */
  | "rate_limited"
  /** No response, 409 (the key in flight), 5xx: the request may have taken effect. */
  | "unknown"
  /** Stripe answered (400, 402, 404...): the answer is the outcome. */
  | "answered";

export function classify(error: Stripe.errors.StripeError): ErrorClass {
  if (
    error instanceof Stripe.errors.StripeAuthenticationError ||
    error instanceof Stripe.errors.StripePermissionError
  ) {
    return "auth";
  }
  if (
    error instanceof Stripe.errors.StripeRateLimitError ||
    error.code === "rate_limit" ||
    error.code === "lock_timeout"
  ) {
    return "rate_limited";
  }
  const status = error.statusCode;
  if (status === undefined || status === 409 || status >= 500) return "unknown";
  return shouldRetryHeader(error) === true ? "unknown" : "answered";
}

/**
 * Whether an unknown outcome is worth another try with the same key. Stripe says so in
 * `Stripe-Should-Retry` when it knows (a saved 500 is `false`: a retry would only replay it); without
 * the header, every unknown outcome is.
 */
export function worthRetrying(error: Stripe.errors.StripeError): boolean {
  return shouldRetryHeader(error) !== false;
}

function shouldRetryHeader(error: Stripe.errors.StripeError): boolean | undefined {
  const value = (error.headers as Record<string, unknown> | undefined)?.["stripe-should-retry"];
  if (value === "true") return true;
  if (value === "false") return false;
  return undefined;
}

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 5_000;

/**
 * Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^retry)], retry counting from 0.
 * Full jitter spreads contenders that failed together (a Stripe incident) instead of waking them in step.
 * `random` returns a number in [0, 1), as Math.random does.
 */
export function backoffMs(retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_BASE_MS * 2 ** retry, BACKOFF_CAP_MS);
  return Math.round(ceiling * random());
}
