/**
 * Reasons stored on records and shown in logs come partly from the provider's error messages, which can
 * echo anything, the API key included. Every stored reason passes through here: secrets scrubbed, length
 * bounded (DynamoDB items and log lines stay small whatever Stripe says).
 */
import { redactSecrets } from "../secrets";

export const MAX_REASON_LENGTH = 500;

export function boundedReason(text: string): string {
  const clean = redactSecrets(text);
  return clean.length > MAX_REASON_LENGTH ? `${clean.slice(0, MAX_REASON_LENGTH - 1)}…` : clean;
}
