/**
 * The stack's settings, read from CDK context (`cdk.json`, or `-c key=value` on the command line) and
 * validated in one place. A bad value fails synthesis with an error that names the context key, before
 * anything is deployed. docs/deploy.md lists every key; keep the two in step.
 */

/** EventBridge allows at most five targets per rule, and every contender is one target. */
export const MAX_CONTENDERS = 5;

export const LOG_LEVELS = ["DEBUG", "INFO", "WARN", "ERROR"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface BillingConfig {
  readonly stackName: string;
  /** Concurrent invocations per schedule firing: one leader per shard, the rest stand by. */
  readonly contenders: number;
  /** EventBridge cron expression, in UTC. */
  readonly scheduleCron: string;
  /** Shards of the subscription table; one lease each. Passed to the function as SHARD_COUNT. */
  readonly shards: number;
  readonly functionTimeoutSeconds: number;
  /** Reserved concurrency of the function, or undefined for none (accounts with a low concurrency quota). */
  readonly reservedConcurrency: number | undefined;
  /** Per leader. Stripe allows about 100 per second in live mode and 25 in test mode. */
  readonly stripeMaxRequestsPerSecond: number;
  readonly logLevel: LogLevel;
  /** An existing secret holding the Stripe key; when absent the stack creates an empty one. */
  readonly stripeSecretArn: string | undefined;
  readonly alarmEmail: string | undefined;
  /** The "billing stopped" alarm fires when no run completed within this many minutes. */
  readonly noRunAlarmMinutes: number;
}

export const DEFAULTS = {
  stackName: "LeaseBilling",
  contenders: 3,
  // Hourly, on the hour (UTC): a renewal waits at most an hour, and a failed run is retried by the next
  // firing well within the day it is due.
  scheduleCron: "cron(0 * * * ? *)",
  shards: 1,
  functionTimeoutSeconds: 300,
  stripeMaxRequestsPerSecond: 20,
  logLevel: "INFO",
  // Two hourly runs: one missed run is tolerated (the next one catches up), two in a row are not.
  noRunAlarmMinutes: 120,
} as const satisfies Partial<BillingConfig>;

/** Console reruns on top of the scheduled contenders, so an operator is not throttled mid-incident. */
export const RERUN_HEADROOM = 2;

export class ConfigError extends Error {
  constructor(key: string, problem: string) {
    super(`Invalid CDK context "${key}": ${problem}`);
    this.name = "ConfigError";
  }
}

/** Reads a context value; `app.node.tryGetContext` fits. */
export type ContextReader = (key: string) => unknown;

export function readConfig(context: ContextReader): BillingConfig {
  const contenders = integer(context, "contenders", DEFAULTS.contenders, 1, MAX_CONTENDERS);
  return {
    stackName: stackName(context),
    contenders,
    scheduleCron: cron(context),
    shards: integer(context, "shards", DEFAULTS.shards, 1, 1000),
    // At least a minute: the function stops claiming work 30 s before its deadline and needs time to bill.
    functionTimeoutSeconds: integer(
      context,
      "functionTimeoutSeconds",
      DEFAULTS.functionTimeoutSeconds,
      60,
      900,
    ),
    reservedConcurrency: reservedConcurrency(context, contenders),
    stripeMaxRequestsPerSecond: integer(
      context,
      "stripeMaxRequestsPerSecond",
      DEFAULTS.stripeMaxRequestsPerSecond,
      1,
      1000,
    ),
    logLevel: logLevel(context),
    stripeSecretArn: secretArn(context),
    alarmEmail: email(context),
    // CloudWatch evaluates an alarm over at most one day.
    noRunAlarmMinutes: integer(context, "noRunAlarmMinutes", DEFAULTS.noRunAlarmMinutes, 10, 1440),
  };
}

/** Context from the command line arrives as strings, from cdk.json as JSON values: accept both. */
function raw(context: ContextReader, key: string): unknown {
  const value = context(key);
  return typeof value === "string" ? value.trim() : value;
}

function integer(context: ContextReader, key: string, fallback: number, min: number, max: number): number {
  const value = raw(context, key);
  if (value === undefined || value === "") return fallback;
  const number = typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new ConfigError(key, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return number;
}

function optionalString(context: ContextReader, key: string): string | undefined {
  const value = raw(context, key);
  if (value === undefined || value === "") return undefined;
  if (typeof value !== "string") throw new ConfigError(key, `must be a string, got ${JSON.stringify(value)}`);
  return value;
}

function stackName(context: ContextReader): string {
  const name = optionalString(context, "stackName") ?? DEFAULTS.stackName;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(name)) {
    throw new ConfigError(
      "stackName",
      `must start with a letter and hold only letters, digits and hyphens (at most 128), got "${name}"`,
    );
  }
  return name;
}

function cron(context: ContextReader): string {
  const expression = optionalString(context, "scheduleCron") ?? DEFAULTS.scheduleCron;
  // EventBridge cron has six fields: minutes hours day-of-month month day-of-week year.
  const fields = /^cron\((.*)\)$/.exec(expression)?.[1]?.trim().split(/\s+/);
  if (fields?.length !== 6) {
    throw new ConfigError(
      "scheduleCron",
      `must be an EventBridge cron expression with six fields, such as "${DEFAULTS.scheduleCron}", got "${expression}"`,
    );
  }
  return expression;
}

function reservedConcurrency(context: ContextReader, contenders: number): number | undefined {
  const value = raw(context, "reservedConcurrency");
  if (value === "none") return undefined;
  // Fewer than the contenders would throttle the schedule's own invocations.
  return integer(context, "reservedConcurrency", contenders + RERUN_HEADROOM, contenders, 1000);
}

function logLevel(context: ContextReader): LogLevel {
  const value = (optionalString(context, "logLevel") ?? DEFAULTS.logLevel).toUpperCase();
  const level = LOG_LEVELS.find((l) => l === value);
  if (!level) throw new ConfigError("logLevel", `must be one of ${LOG_LEVELS.join(", ")}, got "${value}"`);
  return level;
}

function secretArn(context: ContextReader): string | undefined {
  const arn = optionalString(context, "stripeSecretArn");
  // The complete ARN, with the six random characters Secrets Manager appends: IAM grants then name exactly
  // this secret rather than every secret whose name starts the same way.
  if (
    arn !== undefined &&
    !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/.test(arn)
  ) {
    throw new ConfigError(
      "stripeSecretArn",
      `must be the complete ARN of a Secrets Manager secret (ending in -XXXXXX), got "${arn}"`,
    );
  }
  return arn;
}

function email(context: ContextReader): string | undefined {
  const address = optionalString(context, "alarmEmail");
  if (address !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(address)) {
    throw new ConfigError("alarmEmail", `must be an email address, got "${address}"`);
  }
  return address;
}
