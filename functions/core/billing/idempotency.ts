/**
 * Stripe idempotency keys for renewals, derived only from the subscription and the period (plus a
 * counter), so every contender, retry and successor computes the same key for the same request:
 *
 *   renew:create:<subscription>:<YYYY-MM-DD>          create, generation 0
 *   renew:create:<subscription>:<YYYY-MM-DD>:g<n>     create, generation n > 0
 *   renew:confirm:<subscription>:<YYYY-MM-DD>:<n>     confirm, attempt n
 *   renew:cancel:<PaymentIntent id>:<attempt>          cancel, one key per attempt (see cancelKeyFor)
 *
 * A create generation above 0 is used only when generation n's saved result is a 500 that Stripe would
 * replay for 24 hours. Keys are scoped to the Stripe account, not the endpoint, so the kind is part of
 * the key. <subscription> is the id itself when it is short and made of [A-Za-z0-9_-], else `~` and its
 * SHA-256 in hex (`~` never occurs in a verbatim id, so the two forms cannot collide), which keeps every
 * key printable ASCII and far below Stripe's 255-character limit.
 */
import { createHash } from "node:crypto";
import { periodKey } from "./calendar";

export const KEY_PREFIX = "renew";

/** Stripe refuses longer keys. */
export const MAX_KEY_LENGTH = 255;

const VERBATIM_ID = /^[A-Za-z0-9_-]{1,100}$/;

function subscriptionSegment(subscriptionId: string): string {
  if (subscriptionId === "") throw new RangeError("subscriptionId must not be empty");
  if (VERBATIM_ID.test(subscriptionId)) return subscriptionId;
  return `~${createHash("sha256").update(subscriptionId, "utf8").digest("hex")}`;
}

function counter(value: number, name: string, min: number): string {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be a whole number from ${min}, got ${value}`);
  }
  return String(value);
}

/** The key of the create request for a period's PaymentIntent. */
export function createKeyFor(subscriptionId: string, periodStart: string, generation = 0): string {
  const base = `${KEY_PREFIX}:create:${subscriptionSegment(subscriptionId)}:${periodKey(periodStart)}`;
  return counter(generation, "generation", 0) === "0" ? base : `${base}:g${generation}`;
}

/** The key of confirmation attempt `attempt` (from 1) of a period's PaymentIntent. */
export function confirmKeyFor(subscriptionId: string, periodStart: string, attempt: number): string {
  return `${KEY_PREFIX}:confirm:${subscriptionSegment(subscriptionId)}:${periodKey(periodStart)}:${counter(attempt, "attempt", 1)}`;
}

/**
 * The key of one attempt to cancel a PaymentIntent. Canceling twice is harmless (Stripe refuses the
 * second as unexpected state), so each attempt gets its own key: `attempt` is the charge record's
 * version the attempt starts from, or the sweep's run. A key shared by every attempt would replay a saved
 * 500 for 24 hours and keep the charge in doubt that long.
 */
export function cancelKeyFor(paymentIntentId: string, attempt: string): string {
  if (!/^pi_[A-Za-z0-9_]{1,200}$/.test(paymentIntentId)) {
    throw new RangeError(`not a PaymentIntent id: ${JSON.stringify(paymentIntentId.slice(0, 40))}`);
  }
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(attempt)) {
    throw new RangeError(
      `a cancel attempt is 1 to 40 of [A-Za-z0-9_-], got ${JSON.stringify(attempt.slice(0, 40))}`,
    );
  }
  return `${KEY_PREFIX}:cancel:${paymentIntentId}:${attempt}`;
}
