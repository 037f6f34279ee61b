/**
 * What the function accepts, validated before anything else happens: EventBridge's scheduled event, an
 * operator's rerun event from the console (or `npm run ops -- rerun`), or a continuation link the function
 * sends itself when a run stops for its time budget with work left. Anything else is refused with a
 * bounded message naming the field, before any lease is taken or any request is sent. No event bills as
 * of an instant later than the function's own now (functions/core/billing-instant.ts).
 */
import { z } from "zod";
import { billingInstant } from "../core/billing-instant";
import { MAX_CLOCK_SKEW_MS } from "../core/clock";
import { BillingJobError } from "../core/errors";
import { parseDateTime } from "./date-time";
import { boundedProblems, refusalMessage, zodProblems } from "./event-problems";
import { shown } from "./shown";

/** A rerun names at most this many subscriptions. */
export const MAX_SUBSCRIPTION_IDS = 1000;
/** A rerun's `maxCharges` at most: a cap, not a quota (omit it to bill everything due). */
export const MAX_CHARGES_LIMIT = 100_000;

const dateTime = z
  .string()
  .max(40, "must be an ISO-8601 date-time with a time zone, e.g. 2026-11-23T12:00:00Z")
  .transform((text, ctx) => {
    const instant = parseDateTime(text);
    if (instant !== null) return instant;
    ctx.addIssue({
      code: "custom",
      message:
        "must be an ISO-8601 date-time with a time zone, on a date and time that exist, years 2000 to 9999 " +
        "(e.g. 2026-11-23T12:00:00Z)",
    });
    return z.NEVER;
  });

/** EventBridge's scheduled event, exactly: every field it sends, and nothing else. */
const scheduledEvent = z.strictObject({
  version: z.literal("0"),
  id: z.string().min(1, "must not be empty").max(128, "must be at most 128 characters"),
  "detail-type": z.literal("Scheduled Event"),
  source: z.literal("aws.events"),
  account: z.string().regex(/^\d{12}$/, "must be a 12-digit AWS account id"),
  time: dateTime,
  region: z.string().regex(/^[a-z0-9-]{1,32}$/, "must be an AWS region name, e.g. us-east-1"),
  resources: z.array(z.string().max(2048, "must be at most 2048 characters")).max(10, "at most 10 resources"),
  detail: z.strictObject({}, { message: "must be an empty object" }),
});

/** What a rerun may ask for, beyond its instant; a rerun's continuation links carry the same fields. */
const rerunTargeting = {
  subscriptionIds: z
    .array(z.string().min(1, "must not be empty").max(255, "must be at most 255 characters"))
    .min(1, "must list at least one subscription id (omit it to bill everything due)")
    .max(MAX_SUBSCRIPTION_IDS, `at most ${MAX_SUBSCRIPTION_IDS} ids per rerun`)
    .optional(),
  maxCharges: z
    .number()
    .int("must be a whole number")
    .positive("must be at least 1")
    .max(MAX_CHARGES_LIMIT, `must be at most ${MAX_CHARGES_LIMIT} (omit it for no limit)`)
    .optional(),
  shards: z
    .array(z.number().int("must be a whole number").nonnegative("must be 0 or more"))
    .min(1, "must list at least one shard (omit it for all)")
    .max(1000, "at most 1000 shards")
    .optional(),
  reason: z.string().max(500, "must be at most 500 characters").optional(),
};

/** An operator's rerun. Strict: a misspelt field is refused rather than silently ignored. */
const rerunEvent = z.strictObject({
  action: z.literal("rerun", { message: 'must be "rerun" (the only console action)' }),
  asOf: dateTime.optional(),
  dryRun: z.boolean().optional(),
  ...rerunTargeting,
});

/** A continuation link's number at most, whatever the settings allow (RUN_SETTING_LIMITS). */
export const MAX_CONTINUATION_LINK = 1000;

/** The run ids the function gives (functions/handler/index.ts): `scheduled:<time>`, `rerun:<asOf>:<id>`. */
const RUN_ID = /^(scheduled|rerun):[0-9A-Za-z:._-]{1,100}$/;

/**
 * A continuation link, as the function sends it to itself (continuationEvent below): the run it goes on
 * with, its place in the chain, the run's instant, and a rerun's own fields. Strict like the others.
 */
const continuation = z.strictObject({
  action: z.literal("continue"),
  runId: z
    .string()
    .max(120, "must be at most 120 characters")
    .regex(RUN_ID, 'must be a run id the function gives: "scheduled:<time>" or "rerun:<asOf>:<id>"'),
  link: z
    .number()
    .int("must be a whole number")
    .min(1, "must be at least 1 (the first continuation link)")
    .max(MAX_CONTINUATION_LINK, `must be at most ${MAX_CONTINUATION_LINK}`),
  asOf: dateTime,
  ...rerunTargeting,
});

export type BillingRequest = {
  readonly kind: "scheduled" | "rerun";
  readonly asOf: string;
  readonly dryRun: boolean;
  readonly subscriptionIds?: readonly string[];
  readonly maxCharges?: number;
  readonly shards?: readonly number[];
  readonly reason?: string;
  readonly eventId?: string;
  /** A scheduled event's own `time`, normalized: one run id per firing, whatever each contender's clock. */
  readonly firedAt?: string;
  /** A continuation link of run `runId` (whose `kind` it keeps); absent on the run's first invocation. */
  readonly continuation?: { readonly runId: string; readonly link: number };
};

/** The event of a continuation link (the `continuation` schema above is its parser). */
export interface ContinuationEvent {
  readonly action: "continue";
  readonly runId: string;
  readonly link: number;
  readonly asOf: string;
  readonly subscriptionIds?: readonly string[];
  readonly maxCharges?: number;
  readonly shards?: readonly number[];
  readonly reason?: string;
}

/**
 * The event that continues `request` (run `runId`) as link `link`: the same instant and, for a rerun, the
 * same subscriptions, shards and reason, with `maxCharges` what is left of the rerun's cap.
 */
export function continuationEvent(
  runId: string,
  request: BillingRequest,
  link: number,
  maxCharges?: number,
): ContinuationEvent {
  return {
    action: "continue",
    runId,
    link,
    asOf: request.asOf,
    ...(request.subscriptionIds && { subscriptionIds: request.subscriptionIds }),
    ...(maxCharges !== undefined && { maxCharges }),
    ...(request.shards && { shards: request.shards }),
    ...(request.reason && { reason: request.reason }),
  };
}

export class InvalidEventError extends BillingJobError {
  override readonly name = "InvalidEventError";
  /** Bounded: at most a few problems, each short, names cut (see event-problems.ts). */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    const bounded = boundedProblems(problems);
    super(refusalMessage(bounded));
    this.problems = bounded;
  }
}

/** Parses an incoming event into a billing request, or throws InvalidEventError naming each bad field. */
export function parseBillingEvent(event: unknown, now: number, shardCount: number): BillingRequest {
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    throw new InvalidEventError(["the event must be a JSON object"]);
  }
  if (isScheduledShape(event)) return parseScheduled(event, now);
  if (Reflect.get(event, "action") === "continue") return parseContinuation(event, now, shardCount);
  return parseRerun(event, now, shardCount);
}

/** Anything that looks like EventBridge's event is held to EventBridge's shape, never read as a rerun. */
function isScheduledShape(event: object): boolean {
  return Object.hasOwn(event, "source") || Object.hasOwn(event, "detail-type");
}

function parseScheduled(event: object, now: number): BillingRequest {
  const parsed = scheduledEvent.safeParse(event);
  if (!parsed.success) {
    const problems = zodProblems(parsed.error, event);
    const extra = parsed.error.issues.some((i) => i.code === "unrecognized_keys" && i.path.length === 0);
    throw new InvalidEventError(extra ? [...problems, SCHEDULED_ONLY] : problems);
  }
  const asOf = asOfFor("time", parsed.data.time, now);
  if (typeof asOf !== "string") throw new InvalidEventError([asOf.problem]);
  const firedAt = new Date(parsed.data.time).toISOString();
  return { kind: "scheduled", asOf, dryRun: false, eventId: parsed.data.id, firedAt };
}

const SCHEDULED_ONLY =
  'a scheduled event carries only EventBridge\'s fields; for a rerun send {"action": "rerun", ...}';

function parseRerun(event: object, now: number, shardCount: number): BillingRequest {
  const parsed = rerunEvent.safeParse(event);
  if (!parsed.success) throw new InvalidEventError(zodProblems(parsed.error, event));
  const rerun = parsed.data;
  const targeted = checkedTargeting(rerun, rerun.asOf ?? now, now, shardCount, []);
  return { kind: "rerun", dryRun: rerun.dryRun ?? false, ...targeted };
}

/**
 * A continuation link: only another contender of its run, so it is held to the same rules as the run's
 * first invocation (its instant never later than now, a rerun's fields as a rerun's), and a scheduled
 * run's link carries no rerun fields.
 */
function parseContinuation(event: object, now: number, shardCount: number): BillingRequest {
  const parsed = continuation.safeParse(event);
  if (!parsed.success) throw new InvalidEventError(zodProblems(parsed.error, event));
  const link = parsed.data;
  const kind = link.runId.startsWith("scheduled:") ? "scheduled" : "rerun";
  const rerunOnly = (["subscriptionIds", "maxCharges", "shards", "reason"] as const).filter(
    (field) => kind === "scheduled" && link[field] !== undefined,
  );
  const problems = rerunOnly.map(
    (field) => `${field}: a scheduled run's continuation carries no rerun fields`,
  );
  const targeted = checkedTargeting(link, link.asOf, now, shardCount, problems);
  return { kind, dryRun: false, ...targeted, continuation: { runId: link.runId, link: link.link } };
}

type Targeting = { [K in keyof typeof rerunTargeting]?: z.infer<(typeof rerunTargeting)[K]> };

/** The instant and a rerun's fields, checked beyond their shapes; throws with `problems` and any found. */
function checkedTargeting(
  fields: Targeting,
  requestedMs: number,
  now: number,
  shardCount: number,
  problems: readonly string[],
): Pick<BillingRequest, "asOf" | "subscriptionIds" | "maxCharges" | "shards" | "reason"> {
  // -0 is a whole number to JSON; the shard is 0.
  const shards = fields.shards?.map((shard) => shard + 0);
  const asOf = asOfFor("asOf", requestedMs, now);
  const all = [
    ...problems,
    ...(typeof asOf === "string" ? [] : [asOf.problem]),
    ...duplicateProblem("subscriptionIds", fields.subscriptionIds, (id) => `"${shown(id)}"`),
    ...duplicateProblem("shards", shards, String),
    ...shardRangeProblems(shards ?? [], shardCount),
  ];
  if (all.length > 0 || typeof asOf !== "string") throw new InvalidEventError(all);
  return {
    asOf,
    ...(fields.subscriptionIds && { subscriptionIds: fields.subscriptionIds }),
    ...(fields.maxCharges !== undefined && { maxCharges: fields.maxCharges }),
    ...(shards && { shards }),
    ...(fields.reason && { reason: fields.reason }),
  };
}

/** The instant to bill as of, as an ISO string, or why the requested one is refused. */
function asOfFor(field: string, requestedMs: number, now: number): string | { problem: string } {
  const instant = billingInstant(requestedMs, now);
  if (instant.accepted) return new Date(instant.asOfMs).toISOString();
  return {
    problem:
      `${field}: must not be in the future (${aheadText(instant.aheadMs)} ahead of this function's clock; ` +
      `at most ${MAX_CLOCK_SKEW_MS / 60_000} minutes of skew is allowed): it would charge periods not yet begun`,
  };
}

function aheadText(ms: number): string {
  const minutes = ms / 60_000;
  if (minutes < 120) return `${Math.ceil(minutes)} minutes`;
  const days = minutes / 1440;
  return days < 2 ? `${Math.round(minutes / 60)} hours` : `${Math.round(days)} days`;
}

/** The first value listed twice, named: each shard or subscription is billed once per run. */
function duplicateProblem<T>(
  field: string,
  values: readonly T[] | undefined,
  name: (v: T) => string,
): string[] {
  const seen = new Set<T>();
  for (const [i, value] of (values ?? []).entries()) {
    if (seen.has(value)) return [`${field}[${i}]: ${name(value)} is listed twice (list each once)`];
    seen.add(value);
  }
  return [];
}

function shardRangeProblems(shards: readonly number[], shardCount: number): string[] {
  return shards.flatMap((shard, i) =>
    shard >= shardCount ? [`shards[${i}]: there are ${shardCount} shard(s), numbered from 0`] : [],
  );
}
