/**
 * The function's configuration, read once from the environment and validated: a bad value fails the
 * invocation at once with the variable's name, before any lease or charge. README "Configuration" lists
 * every variable; keep the two in step.
 */
import { InvalidInputError } from "../core/input-error";
import { DEFAULT_LEASE_TIMINGS, validateTimings, type LeaseTimings } from "../core/lease/lease-timings";
import { DEFAULT_RUN_SETTINGS, runSettings, type RunSettings } from "../core/billing-run/run-config";
import { DEFAULT_STRIPE_NETWORK_RETRIES, DEFAULT_STRIPE_TIMEOUT_MS } from "../stripe/stripe-gateway";
import { tableNamesFromEnv, type TableNames } from "../schema/tables";
import { retrySchedule, type RetrySchedule } from "../core/billing/retry-policy";

export interface StripeSettings {
  /** Where the key is: a Secrets Manager secret (deployed) or the environment (local). */
  readonly key:
    { readonly from: "secret"; readonly secretId: string } | { readonly from: "env"; readonly value: string };
  readonly host?: string;
  readonly port?: number;
  readonly protocol?: "http" | "https";
  readonly maxRequestsPerSecond: number;
  readonly timeoutMs: number;
  readonly maxNetworkRetries: number;
}

export interface FunctionConfig {
  readonly tables: TableNames;
  readonly dynamoEndpoint?: string;
  readonly stripe: StripeSettings;
  readonly lease: LeaseTimings;
  readonly run: RunSettings;
}

type Env = Record<string, string | undefined>;

export const DEFAULT_STRIPE_MAX_REQUESTS_PER_SECOND = 20;

export function readConfig(env: Env = process.env): FunctionConfig {
  const stripeKey = keySource(env);
  const protocol = env.STRIPE_API_PROTOCOL;
  if (protocol !== undefined && protocol !== "http" && protocol !== "https") {
    throw new InvalidInputError("STRIPE_API_PROTOCOL", 'must be "http" or "https"');
  }
  return {
    tables: tableNamesFromEnv(env),
    ...(env.DYNAMODB_ENDPOINT && { dynamoEndpoint: env.DYNAMODB_ENDPOINT }),
    stripe: {
      key: stripeKey,
      ...(env.STRIPE_API_HOST && { host: env.STRIPE_API_HOST }),
      ...(env.STRIPE_API_PORT && { port: int(env, "STRIPE_API_PORT", 443, 1) }),
      ...(protocol && { protocol }),
      maxRequestsPerSecond: int(
        env,
        "STRIPE_MAX_REQUESTS_PER_SECOND",
        DEFAULT_STRIPE_MAX_REQUESTS_PER_SECOND,
        1,
      ),
      timeoutMs: int(env, "STRIPE_TIMEOUT_MS", DEFAULT_STRIPE_TIMEOUT_MS, 100),
      maxNetworkRetries: int(env, "STRIPE_MAX_NETWORK_RETRIES", DEFAULT_STRIPE_NETWORK_RETRIES, 0),
    },
    lease: validateTimings({
      leaseDurationMs: int(env, "LEASE_DURATION_MS", DEFAULT_LEASE_TIMINGS.leaseDurationMs, 1),
      renewIntervalMs: int(env, "LEASE_RENEW_INTERVAL_MS", DEFAULT_LEASE_TIMINGS.renewIntervalMs, 1),
      safetyMarginMs: int(env, "LEASE_SAFETY_MARGIN_MS", DEFAULT_LEASE_TIMINGS.safetyMarginMs, 1),
    }),
    run: runSettings({
      shardCount: int(env, "SHARD_COUNT", DEFAULT_RUN_SETTINGS.shardCount, 1),
      concurrency: int(env, "BILLING_CONCURRENCY", DEFAULT_RUN_SETTINGS.concurrency, 1),
      pageSize: int(env, "DUE_PAGE_SIZE", DEFAULT_RUN_SETTINGS.pageSize, 1),
      stopClaimingMarginMs: int(env, "STOP_CLAIMING_MARGIN_MS", DEFAULT_RUN_SETTINGS.stopClaimingMarginMs, 0),
      standbyPollMs: int(env, "STANDBY_POLL_MS", DEFAULT_RUN_SETTINGS.standbyPollMs, 1),
      ...(env.DECLINE_RETRY_DAYS !== undefined && { retrySchedule: retryDays(env.DECLINE_RETRY_DAYS) }),
    }),
  };
}

function keySource(env: Env): StripeSettings["key"] {
  if (env.STRIPE_SECRET_ARN) return { from: "secret", secretId: env.STRIPE_SECRET_ARN };
  if (env.STRIPE_SECRET_KEY) return { from: "env", value: env.STRIPE_SECRET_KEY };
  throw new InvalidInputError(
    "STRIPE_SECRET_ARN",
    "is not set (deployed: the stack sets it; locally: set STRIPE_SECRET_KEY instead)",
  );
}

function int(env: Env, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new InvalidInputError(name, `must be a whole number of at least ${min}, got "${raw}"`);
  }
  return value;
}

/** "1,3,5": retry a declined renewal 1, 3 and 5 days after each decline; "" means never retry. */
function retryDays(raw: string): RetrySchedule {
  if (raw.trim() === "") return retrySchedule([]);
  const days = raw.split(",").map((d) => Number(d.trim()));
  if (days.some((d) => !Number.isFinite(d) || d <= 0)) {
    throw new InvalidInputError(
      "DECLINE_RETRY_DAYS",
      `must be a comma-separated list of positive day counts, got "${raw}"`,
    );
  }
  return retrySchedule(days.map((d) => Math.round(d * 86_400_000)));
}
