/**
 * Which instant a run bills as of. An event may ask for one (a scheduled event's `time`, a rerun's
 * `asOf`); a little clock skew between EventBridge and this function is tolerated, anything further
 * ahead is refused, and a run never bills as of a moment later than this function's own now, so a
 * period that starts in three minutes is not charged early.
 */
import { MAX_CLOCK_SKEW_MS } from "./clock";

export type BillingInstant =
  | { readonly accepted: true; readonly asOfMs: number }
  | { readonly accepted: false; readonly aheadMs: number };

export function billingInstant(requestedMs: number, nowMs: number): BillingInstant {
  const aheadMs = requestedMs - nowMs;
  if (aheadMs > MAX_CLOCK_SKEW_MS) return { accepted: false, aheadMs };
  return { accepted: true, asOfMs: Math.min(requestedMs, nowMs) };
}
