import { InvalidInputError } from "../input-error";

/**
 * How long a lease lasts and how the holder keeps it. All durations in milliseconds.
 *
 * - leaseDurationMs: a holder that stops renewing loses the lease this long after its last renewal, and a
 *   standby takes over. Short enough that a dead leader costs little, long enough to ride out a slow call.
 * - renewIntervalMs: the heartbeat. Must be well under the lease so that one or two late renewals do not
 *   lose it.
 * - safetyMarginMs: a holder stops starting new work once less than this remains before its lease expires
 *   (by its own clock). Fencing keeps a late holder harmless anyway; the margin lets work started in time
 *   finish while the lease is still held.
 *
 * Just before each renewal the holder has leaseDurationMs - renewIntervalMs left on its lease; work goes on
 * while more than safetyMarginMs is left. So leaseDurationMs - renewIntervalMs - safetyMarginMs is how late
 * a renewal may be before the holder stops claiming: its working window, at least MIN_WORKING_WINDOW_MS.
 */
export interface LeaseTimings {
  readonly leaseDurationMs: number;
  readonly renewIntervalMs: number;
  readonly safetyMarginMs: number;
  /** How long after expiry the TTL may delete a lease record (clean-up only). */
  readonly ttlGraceSeconds: number;
}

/** The safety margin covers the function's default Stripe timeout (10 s): see functions/handler/config.ts. */
export const DEFAULT_LEASE_TIMINGS: LeaseTimings = {
  leaseDurationMs: 20_000,
  renewIntervalMs: 5_000,
  safetyMarginMs: 10_000,
  ttlGraceSeconds: 86_400,
};

/** A Lambda never runs longer than 15 minutes. */
export const MAX_LEASE_MS = 15 * 60_000;
/** Slack for a late renewal (a slow DynamoDB write) before the holder stops claiming. */
export const MIN_WORKING_WINDOW_MS = 250;

/** What to call each setting in an error: the field by default, an environment variable in the Lambda. */
export type TimingNames = Partial<Record<keyof LeaseTimings, string>>;

export function validateTimings(partial: Partial<LeaseTimings> = {}, names: TimingNames = {}): LeaseTimings {
  const timings = { ...DEFAULT_LEASE_TIMINGS, ...partial };
  const name = (field: keyof LeaseTimings) => names[field] ?? field;
  for (const field of ["leaseDurationMs", "renewIntervalMs", "safetyMarginMs", "ttlGraceSeconds"] as const) {
    const value = timings[field];
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
      throw new InvalidInputError(name(field), `must be a positive whole number, got ${String(value)}`);
    }
  }
  if (timings.leaseDurationMs > MAX_LEASE_MS) {
    throw new InvalidInputError(name("leaseDurationMs"), `must be at most ${MAX_LEASE_MS} (15 minutes)`);
  }
  if (timings.renewIntervalMs >= timings.leaseDurationMs) {
    throw new InvalidInputError(name("renewIntervalMs"), `must be shorter than ${name("leaseDurationMs")}`);
  }
  if (timings.safetyMarginMs >= timings.leaseDurationMs) {
    throw new InvalidInputError(name("safetyMarginMs"), `must be shorter than ${name("leaseDurationMs")}`);
  }
  checkWorkingWindow(timings, name);
  return timings;
}

function checkWorkingWindow(timings: LeaseTimings, name: (field: keyof LeaseTimings) => string): void {
  const window = timings.leaseDurationMs - timings.renewIntervalMs - timings.safetyMarginMs;
  if (window >= MIN_WORKING_WINDOW_MS) return;
  throw new InvalidInputError(
    name("safetyMarginMs"),
    `${name("renewIntervalMs")} + ${name("safetyMarginMs")} (${timings.renewIntervalMs} + ` +
      `${timings.safetyMarginMs}) must be at least ${MIN_WORKING_WINDOW_MS} ms shorter than ` +
      `${name("leaseDurationMs")} (${timings.leaseDurationMs}): a holder stops claiming once less than the ` +
      "safety margin is left on its lease, so this room is how late a renewal may be before billing stalls " +
      "(with none, it never bills)",
  );
}
