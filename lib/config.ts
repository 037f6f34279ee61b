/**
 * The stack's settings, read from CDK context (`cdk.json`, or `-c key=value` on the command line) and
 * validated in one place. A bad value fails synthesis with an error that names the context key, before
 * anything is deployed; so does a combination with which the job could never bill. docs/deploy.md lists
 * every key; keep the two in step.
 */
import { DEFAULT_RUN_SETTINGS } from "../functions/core/billing-run/run-config";
import { DEFAULT_LEASE_TIMINGS } from "../functions/core/lease/lease-timings";
import { DEFAULT_ACCOUNT_REQUESTS_PER_SECOND } from "../functions/core/billing-run/account-budget";
import { readWholeNumber } from "../functions/core/whole-number";
import { BillingJobError } from "../functions/core/errors";

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
  /**
   * The Stripe account's whole request budget, which the leaders of every shard share (passed to the
   * function as STRIPE_ACCOUNT_REQUESTS_PER_SECOND). Stripe allows 100 per second in live mode, 25 in test
   * mode (sandboxes), and 25 per endpoint by default in both.
   */
  readonly stripeAccountRequestsPerSecond: number;
  readonly logLevel: LogLevel;
  /** An existing secret holding the Stripe key; when absent the stack creates an empty one. */
  readonly stripeSecretArn: string | undefined;
  readonly alarmEmail: string | undefined;
  /** The "billing stopped" alarm fires when no run completed within this many minutes. */
  readonly noRunAlarmMinutes: number;
  /** The backlog alarm fires when, after a run, the oldest due renewal has waited longer than this. */
  readonly backlogAlarmMinutes: number;
  /**
   * Where the function sends its Stripe requests when that is not Stripe itself (the Stripe emulator of a
   * LocalStack deployment), or undefined: api.stripe.com over https, and the function is told nothing.
   */
  readonly stripeApi: StripeApiEndpoint | undefined;
  /**
   * Continuation links per run (the function's MAX_CONTINUATION_LINKS): an invocation out of time with work
   * left invokes the function again, at most this many times per run. 0: runs wait for the next tick.
   */
  readonly maxContinuationLinks: number;
}

/**
 * The most continuation links the stack allows per run. The function keeps Lambda's recursive loop
 * detection on (RecursiveLoop: Terminate), which stops a chain of invocations after about 16; the
 * function's own bound must always stop the chain first.
 */
export const MAX_CONTINUATION_LINKS = 15;

/** A Stripe API endpoint: the function's STRIPE_API_HOST, STRIPE_API_PORT and STRIPE_API_PROTOCOL. */
export interface StripeApiEndpoint {
  readonly host: string;
  readonly port: number;
  readonly protocol: "http" | "https";
}

/** Stripe itself, the SDK's default. */
export const STRIPE_API: StripeApiEndpoint = { host: "api.stripe.com", port: 443, protocol: "https" };

/** The context flag of a deployment to a local emulator of AWS (localstack/deploy.sh sets it). */
export const LOCAL_CONTEXT_KEY = "local";

export const DEFAULTS = {
  stackName: "LeaseBilling",
  contenders: 3,
  // Hourly, on the hour (UTC): a renewal waits at most an hour, and a failed run is retried by the next
  // firing well within the day it is due.
  scheduleCron: "cron(0 * * * ? *)",
  shards: 1,
  functionTimeoutSeconds: 300,
  stripeAccountRequestsPerSecond: DEFAULT_ACCOUNT_REQUESTS_PER_SECOND,
  logLevel: "INFO",
  // Two hourly runs: one missed run is tolerated (the next one catches up), two in a row are not.
  noRunAlarmMinutes: 120,
  // Two hourly ticks: a renewal that fell due just after one run is billed by the next; one still due
  // after two ticks' worth of waiting was left by runs that could not keep up.
  backlogAlarmMinutes: 120,
} as const satisfies Partial<BillingConfig>;

/** Lambda's own limit. */
export const MAX_FUNCTION_TIMEOUT_SECONDS = 900;

/**
 * The margins the deployed function runs with. The stack sets none of STOP_CLAIMING_MARGIN_MS,
 * LEASE_DURATION_MS or LEASE_SAFETY_MARGIN_MS, so the function's defaults are what it uses.
 */
export interface FunctionMargins {
  /** The function stops claiming renewals this long before its deadline, to finish those in flight. */
  readonly stopClaimingMarginMs: number;
  /** A holder that died keeps its lease this long after its last renewal; only then can a standby lead. */
  readonly leaseDurationMs: number;
  /** A leader starts a renewal only with more than this left on its lease. */
  readonly safetyMarginMs: number;
}

export const FUNCTION_MARGINS: FunctionMargins = {
  stopClaimingMarginMs: DEFAULT_RUN_SETTINGS.stopClaimingMarginMs,
  leaseDurationMs: DEFAULT_LEASE_TIMINGS.leaseDurationMs,
  safetyMarginMs: DEFAULT_LEASE_TIMINGS.safetyMarginMs,
};

/**
 * The shortest timeout with which a firing can still bill. An invocation claims work only until
 * `stopClaimingMarginMs` before its deadline. Before that it must have room for the worst start a
 * contender of a firing has: its leader dies at once, so a standby waits out that leader's whole lease
 * (`leaseDurationMs`), and then still needs more than the lease's safety margin, the least time the job
 * itself will start work in. A shorter timeout would leave the standbys, the reason there are several
 * contenders, unable to bill anything; below the stop-claiming margin alone nobody ever bills.
 */
export function minFunctionTimeoutSeconds(margins: FunctionMargins = FUNCTION_MARGINS): number {
  return Math.ceil((margins.stopClaimingMarginMs + margins.leaseDurationMs + margins.safetyMarginMs) / 1000);
}

/** Console reruns on top of the scheduled contenders, so an operator is not throttled mid-incident. */
export const RERUN_HEADROOM = 2;

export class ConfigError extends BillingJobError {
  override readonly name: string = "ConfigError";
  constructor(key: string, problem: string) {
    super(`Invalid CDK context "${key}": ${problem}`);
  }
}

/** Reads a context value; `app.node.tryGetContext` fits. */
export type ContextReader = (key: string) => unknown;

/**
 * @param now when the schedule is judged: a cron whose every firing lies before it can never bill.
 * @param margins the function's margins, which bound the timeout from below.
 */
export function readConfig(
  context: ContextReader,
  now: Date = new Date(),
  margins: FunctionMargins = FUNCTION_MARGINS,
): BillingConfig {
  const contenders = integer(context, "contenders", DEFAULTS.contenders, 1, MAX_CONTENDERS);
  return {
    stackName: stackName(context),
    contenders,
    scheduleCron: cron(context, now),
    shards: integer(context, "shards", DEFAULTS.shards, 1, 1000),
    functionTimeoutSeconds: functionTimeout(context, margins),
    reservedConcurrency: reservedConcurrency(context, contenders),
    stripeAccountRequestsPerSecond: stripeBudget(context),
    logLevel: logLevel(context),
    stripeSecretArn: secretArn(context),
    alarmEmail: email(context),
    // CloudWatch evaluates an alarm over at most one day.
    noRunAlarmMinutes: integer(context, "noRunAlarmMinutes", DEFAULTS.noRunAlarmMinutes, 10, 1440),
    // Up to a week: a daily schedule's backlog may wait a day by design.
    backlogAlarmMinutes: integer(context, "backlogAlarmMinutes", DEFAULTS.backlogAlarmMinutes, 10, 10_080),
    stripeApi: stripeApi(context),
    maxContinuationLinks: continuationLinks(context),
  };
}

function continuationLinks(context: ContextReader): number {
  const links = integer(context, "maxContinuationLinks", DEFAULT_RUN_SETTINGS.maxContinuationLinks, 0, 1000);
  if (links > MAX_CONTINUATION_LINKS) {
    throw new ConfigError(
      "maxContinuationLinks",
      `must be at most ${MAX_CONTINUATION_LINKS}, got ${links}: Lambda's recursive loop detection, which ` +
        "the stack keeps on, stops a chain of invocations after about 16, so the function's own bound " +
        "must stop it first (docs/billing-run.md, Continuation)",
    );
  }
  return links;
}

/**
 * The account's Stripe budget. The per-leader key it replaced is refused by name rather than read: its
 * rate was multiplied by the leaders, and the same number as the account's budget would mean another thing.
 */
function stripeBudget(context: ContextReader): number {
  const replaced = raw(context, "stripeMaxRequestsPerSecond");
  if (replaced !== undefined && replaced !== "") {
    throw new ConfigError(
      "stripeMaxRequestsPerSecond",
      "is no longer read: it was a rate per leader, and with several shards the leaders' rates added up. " +
        "Set stripeAccountRequestsPerSecond instead: the Stripe account's whole budget, which the leaders " +
        `share (default ${DEFAULTS.stripeAccountRequestsPerSecond}; Stripe allows 100 per second in live ` +
        "mode and 25 in test mode)",
    );
  }
  return integer(
    context,
    "stripeAccountRequestsPerSecond",
    DEFAULTS.stripeAccountRequestsPerSecond,
    1,
    10_000,
  );
}

/** Context from the command line arrives as strings, from cdk.json as JSON values: accept both. */
function raw(context: ContextReader, key: string): unknown {
  const value = context(key);
  return typeof value === "string" ? value.trim() : value;
}

function integer(context: ContextReader, key: string, fallback: number, min: number, max: number): number {
  const value = raw(context, key);
  if (value === undefined || value === "") return fallback;
  const read =
    typeof value === "number" || typeof value === "string" ? readWholeNumber(String(value), min, max) : null;
  if (!read?.ok) {
    throw new ConfigError(key, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return read.value;
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

function functionTimeout(context: ContextReader, margins: FunctionMargins): number {
  const min = minFunctionTimeoutSeconds(margins);
  if (min > MAX_FUNCTION_TIMEOUT_SECONDS) {
    throw new ConfigError(
      "functionTimeoutSeconds",
      `no timeout Lambda allows leaves time to bill: the function's margins need at least ${min} s`,
    );
  }
  const seconds = integer(
    context,
    "functionTimeoutSeconds",
    DEFAULTS.functionTimeoutSeconds,
    1,
    MAX_FUNCTION_TIMEOUT_SECONDS,
  );
  if (seconds < min) {
    throw new ConfigError(
      "functionTimeoutSeconds",
      `must be at least ${min} (the function stops claiming work ${margins.stopClaimingMarginMs / 1000} s ` +
        `before its deadline, and a standby may first wait out a ${margins.leaseDurationMs / 1000} s lease, ` +
        `then needs more than the ${margins.safetyMarginMs / 1000} s lease safety margin), got ${seconds}`,
    );
  }
  return seconds;
}

function cron(context: ContextReader, now: Date): string {
  const expression = optionalString(context, "scheduleCron") ?? DEFAULTS.scheduleCron;
  // EventBridge cron has six fields: minutes hours day-of-month month day-of-week year.
  const fields = /^cron\((.*)\)$/.exec(expression)?.[1]?.trim().split(/\s+/);
  if (fields?.length !== 6) {
    throw new ConfigError(
      "scheduleCron",
      `must be an EventBridge cron expression with six fields, such as "${DEFAULTS.scheduleCron}", got "${expression}"`,
    );
  }
  const problem = cronProblem(fields as CronFields, now);
  if (problem) throw new ConfigError("scheduleCron", `${problem}, in "${expression}"`);
  return expression;
}

type CronFields = [string, string, string, string, string, string];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MINUTES: FieldSpec = { name: "minutes", min: 0, max: 59 };
const HOURS: FieldSpec = { name: "hours", min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { name: "day-of-month", min: 1, max: 31 };
const MONTH: FieldSpec = {
  name: "month",
  min: 1,
  max: 12,
  names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
};
const DAY_OF_WEEK: FieldSpec = {
  name: "day-of-week",
  min: 1,
  max: 7,
  names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
};
// EventBridge's last schedulable year.
const YEAR: FieldSpec = { name: "year", min: 1970, max: 2199 };

/**
 * Why a schedule can never start a run (so the job would never bill), or null. EventBridge refuses some
 * of these only at deploy time and accepts others that simply never fire: a value out of range, both
 * day fields set, a date no month has (30 February), or years that are all past.
 */
function cronProblem(fields: CronFields, now: Date): string | null {
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields;
  if ((dayOfMonth === "?") === (dayOfWeek === "?")) {
    return 'exactly one of day-of-month and day-of-week must be "?"';
  }
  try {
    fieldValues(minutes, MINUTES);
    fieldValues(hours, HOURS);
    const days = fieldValues(dayOfMonth, DAY_OF_MONTH);
    const months = fieldValues(month, MONTH);
    const weekdays = fieldValues(dayOfWeek, DAY_OF_WEEK);
    const years = fieldValues(year, YEAR);
    if (!firesOnSomeDayFrom(now, days, months, weekdays, years)) {
      return "it never fires from now on (no such date, or only past years)";
    }
    return null;
  } catch (error) {
    if (error instanceof CronFieldError) return error.message;
    throw error;
  }
}

class CronFieldError extends BillingJobError {
  override readonly name: string = "CronFieldError";
}

/** The values a field allows; `any` for every value, or for the day forms (L, W, #) not worked out here. */
type FieldValues = ReadonlySet<number> | "any";

function fieldValues(text: string, spec: FieldSpec): FieldValues {
  if (text === "*" || text === "?") return "any";
  if ((spec === DAY_OF_MONTH || spec === DAY_OF_WEEK) && /[LW#]/i.test(text)) return "any";
  const values = new Set<number>();
  for (const part of text.split(",")) {
    // A value, a range or `*`, optionally stepped: 5, 1-5, MON-FRI, */15, 5/15, 1-31/2.
    const match = /^(\*|[A-Z0-9]+)(?:-([A-Z0-9]+))?(?:\/(\d+))?$/i.exec(part);
    if (!match) throw new CronFieldError(`${spec.name} "${part}" is not a value, a range or a step`);
    const [, from, to, step] = match;
    const first = from === "*" ? spec.min : value(from!, spec);
    const last = to !== undefined ? value(to, spec) : from === "*" || step !== undefined ? spec.max : first;
    const increment = step === undefined ? 1 : Number(step);
    if (increment < 1) throw new CronFieldError(`${spec.name} "${part}" has a step of 0`);
    // A range that wraps (FRI-MON) is left to EventBridge: take it as allowing every value.
    if (last < first) return "any";
    for (let v = first; v <= last; v += increment) values.add(v);
  }
  return values;
}

function value(token: string, spec: FieldSpec): number {
  const named = spec.names?.indexOf(token.toUpperCase()) ?? -1;
  const number = named >= 0 ? spec.min + named : /^\d+$/.test(token) ? Number(token) : NaN;
  if (!Number.isInteger(number) || number < spec.min || number > spec.max) {
    throw new CronFieldError(`${spec.name} "${token}" is not a value from ${spec.min} to ${spec.max}`);
  }
  return number;
}

function allows(field: FieldValues, v: number): boolean {
  return field === "any" || field.has(v);
}

/** Whether some day from today (UTC) on matches the date fields; hours and minutes always have a value. */
function firesOnSomeDayFrom(
  now: Date,
  days: FieldValues,
  months: FieldValues,
  weekdays: FieldValues,
  years: FieldValues,
): boolean {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  for (let year = now.getUTCFullYear(); year <= YEAR.max; year++) {
    if (!allows(years, year)) continue;
    for (let month = 1; month <= 12; month++) {
      if (!allows(months, month)) continue;
      const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
      for (let day = 1; day <= daysInMonth; day++) {
        const date = Date.UTC(year, month - 1, day);
        // EventBridge numbers weekdays 1 (Sunday) to 7.
        if (date >= today && allows(days, day) && allows(weekdays, new Date(date).getUTCDay() + 1)) {
          return true;
        }
      }
    }
  }
  return false;
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

function flag(context: ContextReader, key: string): boolean {
  const value = raw(context, key);
  if (value === undefined || value === "" || value === false || value === "false") return false;
  if (value === true || value === "true") return true;
  throw new ConfigError(key, `must be true or false, got ${JSON.stringify(value)}`);
}

/** A DNS name or an IPv4 address, without a scheme, a port or a path: those have keys of their own. */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * The Stripe endpoint, or undefined for Stripe itself. Plain http would carry the Stripe key and every
 * request in the clear, so it is refused unless the deployment is local (an emulator on the same machine).
 */
function stripeApi(context: ContextReader): StripeApiEndpoint | undefined {
  const local = flag(context, LOCAL_CONTEXT_KEY);
  const host = optionalString(context, "stripeApiHost") ?? STRIPE_API.host;
  if (!HOST_NAME.test(host)) {
    throw new ConfigError(
      "stripeApiHost",
      `must be a host name such as "${STRIPE_API.host}" (no scheme, port or path), got "${host}"`,
    );
  }
  const protocol = optionalString(context, "stripeApiProtocol") ?? STRIPE_API.protocol;
  if (protocol !== "https" && protocol !== "http") {
    throw new ConfigError("stripeApiProtocol", `must be "https" or "http", got "${protocol}"`);
  }
  if (protocol === "http" && !local) {
    throw new ConfigError(
      "stripeApiProtocol",
      `"http" would send the Stripe key unencrypted: it is allowed only in a local deployment ` +
        `(-c ${LOCAL_CONTEXT_KEY}=true, which localstack/deploy.sh sets)`,
    );
  }
  const port = integer(context, "stripeApiPort", protocol === "https" ? 443 : 80, 1, 65_535);
  const endpoint: StripeApiEndpoint = { host, port, protocol };
  const isStripe = host === STRIPE_API.host && port === STRIPE_API.port && protocol === STRIPE_API.protocol;
  return isStripe ? undefined : endpoint;
}
