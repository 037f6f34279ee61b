/**
 * The function's configuration, read once from the environment and validated: a bad value, or settings
 * that could never bill, fail the invocation at once with the variable's name, before any lease or
 * charge. README "Configuration" lists every variable and its limits; keep the two in step.
 */
import { InvalidInputError } from "../core/input-error";
import { readWholeNumber } from "../core/whole-number";
import {
  DEFAULT_LEASE_TIMINGS,
  MAX_LEASE_MS,
  validateTimings,
  type LeaseTimings,
  type TimingNames,
} from "../core/lease/lease-timings";
import {
  DEFAULT_RUN_SETTINGS,
  runSettings,
  type RunSettingNames,
  type RunSettings,
} from "../core/billing-run/run-config";
import { DEFAULT_ACCOUNT_REQUESTS_PER_SECOND } from "../core/billing-run/account-budget";
import { DEFAULT_STRIPE_NETWORK_RETRIES, DEFAULT_STRIPE_TIMEOUT_MS } from "../stripe/stripe-gateway";
import type { StripeKeySource } from "../aws/stripe-key";
import { tableNamesFromEnv, type TableNames } from "../schema/tables";
import {
  MAX_RETRIES,
  MAX_RETRY_DELAY_MS,
  MIN_RETRY_DELAY_MS,
  retrySchedule,
  type RetrySchedule,
} from "../core/billing/retry-policy";
import { shown } from "./shown";

export interface StripeSettings {
  /** Where the key is: a Secrets Manager secret (deployed) or the environment (local). */
  readonly key: StripeKeySource;
  readonly host?: string;
  readonly port?: number;
  readonly protocol?: "http" | "https";
  /** The account's whole request budget, shared by every leader at once (account-budget.ts). */
  readonly accountRequestsPerSecond: number;
  readonly timeoutMs: number;
  readonly maxNetworkRetries: number;
}

export interface FunctionConfig {
  readonly tables: TableNames;
  readonly dynamoEndpoint?: string;
  /** Where continuation links are sent (a local invoke server, LocalStack); unset: Lambda itself. */
  readonly lambdaEndpoint?: string;
  readonly stripe: StripeSettings;
  readonly lease: LeaseTimings;
  readonly run: RunSettings;
}

type Env = Record<string, string | undefined>;

/** STRIPE_ACCOUNT_REQUESTS_PER_SECOND unset: see DEFAULT_ACCOUNT_REQUESTS_PER_SECOND for why 25. */
export const DEFAULT_STRIPE_ACCOUNT_REQUESTS_PER_SECOND = DEFAULT_ACCOUNT_REQUESTS_PER_SECOND;

/**
 * The per-leader rate this replaced. Its meaning changed (leaders' rates added up; the budget is shared),
 * so a value set for it is refused rather than silently read as the account's budget.
 */
const REPLACED_RATE_VARIABLE = "STRIPE_MAX_REQUESTS_PER_SECOND";

/** The variable that sets each lease timing and run setting, so that errors name what to change. */
const LEASE_VARIABLES = {
  leaseDurationMs: "LEASE_DURATION_MS",
  renewIntervalMs: "LEASE_RENEW_INTERVAL_MS",
  safetyMarginMs: "LEASE_SAFETY_MARGIN_MS",
} as const satisfies TimingNames;

const RUN_VARIABLES = {
  shardCount: "SHARD_COUNT",
  concurrency: "BILLING_CONCURRENCY",
  pageSize: "DUE_PAGE_SIZE",
  stopClaimingMarginMs: "STOP_CLAIMING_MARGIN_MS",
  standbyPollMs: "STANDBY_POLL_MS",
  maxContinuationLinks: "MAX_CONTINUATION_LINKS",
} as const satisfies RunSettingNames;

export function readConfig(env: Env = process.env): FunctionConfig {
  const stripe = stripeSettings(env);
  const lease = leaseTimings(env);
  checkSafetyMarginCoversStripe(lease, stripe);
  return {
    tables: tableNamesFromEnv(env),
    ...(env.DYNAMODB_ENDPOINT && { dynamoEndpoint: env.DYNAMODB_ENDPOINT }),
    ...(env.LAMBDA_ENDPOINT && { lambdaEndpoint: endpointUrl(env, "LAMBDA_ENDPOINT") }),
    stripe,
    lease,
    run: runSettingsFrom(env),
  };
}

/**
 * Refuses, at the start of an invocation, settings that leave it no time to bill: the leader stops
 * claiming once less than STOP_CLAIMING_MARGIN_MS is left of the invocation.
 */
export function checkTimeBudget(run: RunSettings, remainingMs: number): void {
  if (run.stopClaimingMarginMs < remainingMs) return;
  throw new InvalidInputError(
    RUN_VARIABLES.stopClaimingMarginMs,
    `must be below the function's time budget: ${run.stopClaimingMarginMs} ms, with ${remainingMs} ms left ` +
      "at the start of this invocation, leaves no time to claim anything (lower it, or raise the timeout)",
  );
}

function stripeSettings(env: Env): StripeSettings {
  if (env[REPLACED_RATE_VARIABLE]?.trim()) {
    throw new InvalidInputError(
      REPLACED_RATE_VARIABLE,
      "is no longer read: it was a rate per leader, and with several shards the leaders' rates added up. " +
        "Set STRIPE_ACCOUNT_REQUESTS_PER_SECOND instead: the account's whole Stripe budget, which the " +
        `leaders share (default ${DEFAULT_STRIPE_ACCOUNT_REQUESTS_PER_SECOND}; Stripe allows 100/s in live ` +
        "mode, 25/s in test mode)",
    );
  }
  const protocol = env.STRIPE_API_PROTOCOL;
  if (protocol !== undefined && protocol !== "http" && protocol !== "https") {
    throw new InvalidInputError("STRIPE_API_PROTOCOL", `must be "http" or "https", got "${shown(protocol)}"`);
  }
  return {
    key: keySource(env),
    ...(env.STRIPE_API_HOST && { host: env.STRIPE_API_HOST }),
    ...(env.STRIPE_API_PORT && { port: ranged(env, "STRIPE_API_PORT", 443, 1, 65_535) }),
    ...(protocol && { protocol }),
    accountRequestsPerSecond: ranged(
      env,
      "STRIPE_ACCOUNT_REQUESTS_PER_SECOND",
      DEFAULT_STRIPE_ACCOUNT_REQUESTS_PER_SECOND,
      1,
      10_000,
    ),
    timeoutMs: ranged(env, "STRIPE_TIMEOUT_MS", DEFAULT_STRIPE_TIMEOUT_MS, 100, MAX_LEASE_MS),
    maxNetworkRetries: ranged(env, "STRIPE_MAX_NETWORK_RETRIES", DEFAULT_STRIPE_NETWORK_RETRIES, 0, 10),
  };
}

function leaseTimings(env: Env): LeaseTimings {
  return validateTimings(wholeFields(env, LEASE_VARIABLES, DEFAULT_LEASE_TIMINGS), LEASE_VARIABLES);
}

/**
 * No Stripe request is started with less than the safety margin left on the lease, so a request that
 * runs to its timeout still ends while the lease is held.
 */
function checkSafetyMarginCoversStripe(lease: LeaseTimings, stripe: StripeSettings): void {
  if (lease.safetyMarginMs >= stripe.timeoutMs) return;
  throw new InvalidInputError(
    LEASE_VARIABLES.safetyMarginMs,
    `must be at least STRIPE_TIMEOUT_MS (${stripe.timeoutMs}), got ${lease.safetyMarginMs}: no Stripe ` +
      "request is started with less than the safety margin left on the lease, so one that runs to its " +
      "timeout must still end while the lease is held",
  );
}

function runSettingsFrom(env: Env): RunSettings {
  return runSettings(
    {
      ...wholeFields(env, RUN_VARIABLES, DEFAULT_RUN_SETTINGS),
      ...(env.DECLINE_RETRY_DAYS !== undefined && { retrySchedule: retryDays(env.DECLINE_RETRY_DAYS) }),
    },
    RUN_VARIABLES,
  );
}

function keySource(env: Env): StripeKeySource {
  if (env.STRIPE_SECRET_ARN) return { from: "secret", secretId: env.STRIPE_SECRET_ARN };
  if (env.STRIPE_SECRET_KEY) return { from: "env", value: env.STRIPE_SECRET_KEY };
  throw new InvalidInputError(
    "STRIPE_SECRET_ARN",
    "is not set (deployed: the stack sets it; locally: set STRIPE_SECRET_KEY instead)",
  );
}

/** An http(s) URL with no path, query or credentials: where an AWS SDK client sends its requests. */
function endpointUrl(env: Env, name: string): string {
  const raw = env[name]!.trim();
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    // refused below
  }
  if (
    !url ||
    !/^https?:$/.test(url.protocol) ||
    url.username ||
    url.search ||
    url.hash ||
    url.pathname !== "/"
  ) {
    throw new InvalidInputError(
      name,
      `must be an http(s) URL such as http://127.0.0.1:9001, got "${shown(raw)}"`,
    );
  }
  return url.origin;
}

/** The most that fifteen digits write: beyond every range here, and exact. */
const MAX_15_DIGITS = 999_999_999_999_999;

/**
 * Each field's whole number from the variable `variables` names for it, or its default. The lease timings
 * and the run settings are read alike, field by field in the order their variables are listed (so the
 * first bad one is the one reported), then checked by validateTimings and runSettings.
 */
function wholeFields<K extends string>(
  env: Env,
  variables: Readonly<Record<K, string>>,
  defaults: Readonly<Record<NoInfer<K>, number>>,
): Record<K, number> {
  const values = {} as Record<K, number>;
  for (const field of Object.keys(variables) as K[])
    values[field] = whole(env, variables[field], defaults[field]);
  return values;
}

/** A whole number written in decimal digits; range checks are the validators' (they name the variable). */
function whole(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  const read = readWholeNumber(raw, 0, MAX_15_DIGITS);
  if (!read.ok) {
    throw new InvalidInputError(
      name,
      `must be a whole number written in at most 15 digits, got "${shown(raw)}"`,
    );
  }
  return read.value;
}

function ranged(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = whole(env, name, fallback);
  if (value < min || value > max) {
    throw new InvalidInputError(name, `must be a whole number from ${min} to ${max}, got ${value}`);
  }
  return value;
}

const DAY_MS = 86_400_000;
/** The shortest retry delay in days, rounded up so that it is allowed: 0.0000116 (about a second). */
const MIN_RETRY_DAYS = (Math.ceil((MIN_RETRY_DELAY_MS / DAY_MS) * 1e7) / 1e7).toFixed(7);

/** "1,3,5": retry a declined renewal 1, 3 and 5 days after each decline; "" means never retry. */
function retryDays(raw: string): RetrySchedule {
  if (raw.trim() === "") return retrySchedule([]);
  const days = raw.split(",").map((d) => d.trim());
  const fail = (problem: string) => new InvalidInputError("DECLINE_RETRY_DAYS", problem);
  if (!days.every((d) => /^\d{1,4}(\.\d{1,12})?$/.test(d))) {
    throw fail(`must be a comma-separated list of day counts such as "1,3,5", got "${shown(raw)}"`);
  }
  if (days.length > MAX_RETRIES) throw fail(`at most ${MAX_RETRIES} retries, got ${days.length}`);
  const delay = (d: string) => Math.round(Number(d) * DAY_MS);
  const short = days.find((d) => delay(d) < MIN_RETRY_DELAY_MS);
  if (short !== undefined) {
    throw fail(`each delay must be at least ${MIN_RETRY_DAYS} days (one second), got ${short}`);
  }
  const long = days.find((d) => delay(d) > MAX_RETRY_DELAY_MS);
  if (long !== undefined)
    throw fail(`each delay must be at most ${MAX_RETRY_DELAY_MS / DAY_MS} days, got ${long}`);
  return retrySchedule(days.map(delay));
}
