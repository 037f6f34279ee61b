/**
 * Settings of a billing run, with their defaults. See README "Configuration" for the environment
 * variables that set them in the Lambda.
 */
import { InvalidInputError } from "../input-error";
import { DEFAULT_RETRY_SCHEDULE, type RetrySchedule } from "../billing/retry-policy";

export interface RunSettings {
  /** Shards of the subscription table; one lease each. */
  readonly shardCount: number;
  /** Renewals in flight at once per leader. Provider latency, not CPU, is what this hides. */
  readonly concurrency: number;
  /** Subscriptions fetched from the due index per page. */
  readonly pageSize: number;
  /** Stop claiming new work when less than this remains of the invocation's time. */
  readonly stopClaimingMarginMs: number;
  /** How often a standby looks at a held lease. */
  readonly standbyPollMs: number;
  /** Missed periods billed per subscription in one run (catch-up), oldest first. */
  readonly maxPeriodsPerSubscription: number;
  readonly retrySchedule: RetrySchedule;
}

export const DEFAULT_RUN_SETTINGS: RunSettings = {
  shardCount: 1,
  concurrency: 32,
  pageSize: 100,
  stopClaimingMarginMs: 30_000,
  standbyPollMs: 1_000,
  maxPeriodsPerSubscription: 12,
  retrySchedule: DEFAULT_RETRY_SCHEDULE,
};

export function runSettings(partial: Partial<RunSettings> = {}): RunSettings {
  const settings = { ...DEFAULT_RUN_SETTINGS, ...partial };
  const positive: (keyof RunSettings)[] = [
    "shardCount",
    "concurrency",
    "pageSize",
    "standbyPollMs",
    "maxPeriodsPerSubscription",
  ];
  for (const field of positive) {
    const value = settings[field];
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
      throw new InvalidInputError(field, `must be a whole number of at least 1, got ${String(value)}`);
    }
  }
  if (!Number.isInteger(settings.stopClaimingMarginMs) || settings.stopClaimingMarginMs < 0) {
    throw new InvalidInputError("stopClaimingMarginMs", "must be a whole number of milliseconds, 0 or more");
  }
  if (settings.pageSize > 1000) throw new InvalidInputError("pageSize", "must be at most 1000");
  return settings;
}
