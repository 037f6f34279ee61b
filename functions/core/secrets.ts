/**
 * Scrubbing secrets out of text that leaves the process: log lines, stored reasons, error messages.
 * Pure, so the gateway, the billing run, the logger and the ops CLI can all use the same rule.
 */

export const REDACTED = "[redacted]";

/**
 * Stripe secret and restricted keys, live or test. Not preceded by a letter or digit, so that a word
 * that merely ends in "sk" ("task_live_...") is left alone. Stripe's own masked form
 * ("sk_test_****1234") shows no secret and does not match.
 */
const STRIPE_SECRET_KEY = /(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[A-Za-z0-9_]+/g;

/** A known value shorter than this is no secret, and replacing it everywhere would garble the text. */
const MIN_KNOWN_SECRET_LENGTH = 8;

/**
 * `text` with every known secret (the key in use, whatever its shape) and anything shaped like a Stripe
 * secret or restricted key replaced by `[redacted]`.
 */
export function redactSecrets(text: string, known: readonly string[] = []): string {
  let scrubbed = text;
  for (const secret of known) {
    if (secret.length >= MIN_KNOWN_SECRET_LENGTH) scrubbed = scrubbed.split(secret).join(REDACTED);
  }
  return scrubbed.replace(STRIPE_SECRET_KEY, REDACTED);
}
