import { InvalidInputError } from "../input-error";

/**
 * How long a lease lasts and how the holder keeps it. All durations in milliseconds.
 *
 * - leaseDurationMs: a holder that stops renewing loses the lease this long after its last renewal, and a
 *   standby takes over. Short enough that a dead leader costs little, long enough to ride out a slow call.
 * - renewIntervalMs: the heartbeat. Must be well under the lease so that one or two late renewals do not
 *   lose it.
 * - safetyMarginMs: a holder stops starting new work once less than this remains before its lease expires
 *   (by its own clock). Liveness only: fencing keeps a late holder harmless anyway.
 */
export interface LeaseTimings {
  readonly leaseDurationMs: number;
  readonly renewIntervalMs: number;
  readonly safetyMarginMs: number;
  /** How long after expiry the TTL may delete a lease record (clean-up only). */
  readonly ttlGraceSeconds: number;
}

export const DEFAULT_LEASE_TIMINGS: LeaseTimings = {
  leaseDurationMs: 15_000,
  renewIntervalMs: 5_000,
  safetyMarginMs: 5_000,
  ttlGraceSeconds: 86_400,
};

const MAX_LEASE_MS = 15 * 60_000; // a Lambda never runs longer than 15 minutes

export function validateTimings(partial: Partial<LeaseTimings> = {}): LeaseTimings {
  const timings = { ...DEFAULT_LEASE_TIMINGS, ...partial };
  for (const field of Object.keys(DEFAULT_LEASE_TIMINGS) as (keyof LeaseTimings)[]) {
    const value = timings[field];
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
      throw new InvalidInputError(field, `must be a positive whole number, got ${String(value)}`);
    }
  }
  if (timings.leaseDurationMs > MAX_LEASE_MS) {
    throw new InvalidInputError("leaseDurationMs", `must be at most ${MAX_LEASE_MS} (15 minutes)`);
  }
  if (timings.renewIntervalMs >= timings.leaseDurationMs) {
    throw new InvalidInputError("renewIntervalMs", "must be shorter than leaseDurationMs");
  }
  if (timings.safetyMarginMs >= timings.leaseDurationMs) {
    throw new InvalidInputError("safetyMarginMs", "must be shorter than leaseDurationMs");
  }
  return timings;
}
