/**
 * Settings of a billing run, with their defaults and limits. See README "Configuration" for the
 * environment variables that set them in the Lambda.
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
  /**
   * Continuation links at most per run: an invocation that stops for its time budget with work left
   * invokes the function again, up to this many times per run (0: never). See continuation.ts.
   */
  readonly maxContinuationLinks: number;
  readonly retrySchedule: RetrySchedule;
}

export const DEFAULT_RUN_SETTINGS: RunSettings = {
  shardCount: 1,
  concurrency: 32,
  pageSize: 100,
  stopClaimingMarginMs: 30_000,
  standbyPollMs: 1_000,
  maxPeriodsPerSubscription: 12,
  // 12 links of the default 300 s timeout cover the hourly schedule's interval; Lambda's own recursive
  // loop detection stops a chain after about 16 (docs/billing-run.md, "Continuation").
  maxContinuationLinks: 12,
  retrySchedule: DEFAULT_RETRY_SCHEDULE,
};

type NumericSetting = Exclude<keyof RunSettings, "retrySchedule">;

/** Inclusive limits. A Lambda runs at most 15 minutes; DynamoDB's Query returns at most 1 MB a page. */
export const RUN_SETTING_LIMITS: readonly (readonly [NumericSetting, number, number])[] = [
  ["shardCount", 1, 1000],
  ["concurrency", 1, 1000],
  ["pageSize", 1, 1000],
  ["stopClaimingMarginMs", 0, 15 * 60_000],
  ["standbyPollMs", 1, 60_000],
  ["maxPeriodsPerSubscription", 1, 120],
  ["maxContinuationLinks", 0, 1000],
];

/** What to call each setting in an error: the field by default, an environment variable in the Lambda. */
export type RunSettingNames = Partial<Record<NumericSetting, string>>;

export function runSettings(partial: Partial<RunSettings> = {}, names: RunSettingNames = {}): RunSettings {
  const settings = { ...DEFAULT_RUN_SETTINGS, ...partial };
  for (const [field, min, max] of RUN_SETTING_LIMITS) {
    const value = settings[field];
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw new InvalidInputError(
        names[field] ?? field,
        `must be a whole number from ${min} to ${max}, got ${String(value)}`,
      );
    }
  }
  return settings;
}
