/**
 * What the function accepts, validated before anything else happens: an EventBridge scheduled event, or
 * an operator's rerun event from the console (or `npm run ops -- rerun`). Anything else is refused with a
 * message naming the field, before any lease is taken or any request is sent.
 */
import { z } from "zod";

/** How far ahead of now a rerun may set `asOf`: a little clock skew, never billing the future early. */
export const MAX_ASOF_AHEAD_MS = 5 * 60_000;

const isoInstant = z
  .string()
  .refine(
    (value) =>
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(value) &&
      !Number.isNaN(Date.parse(value)),
    {
      message: "must be an ISO-8601 date-time with a time zone, e.g. 2026-11-23T12:00:00Z",
    },
  );

/** EventBridge's scheduled event. EventBridge may add fields; we read only `time`. */
const scheduledEvent = z.looseObject({
  source: z.literal("aws.events"),
  "detail-type": z.literal("Scheduled Event"),
  time: isoInstant,
  id: z.string().optional(),
});

/** An operator's rerun. Strict: a misspelt field is refused rather than silently ignored. */
const rerunEvent = z.strictObject({
  action: z.literal("rerun", { message: 'must be "rerun" (the only console action)' }),
  asOf: isoInstant.optional(),
  dryRun: z.boolean().optional(),
  subscriptionIds: z
    .array(z.string().min(1, "must not be empty").max(255, "must be at most 255 characters"))
    .min(1, "must list at least one subscription id (omit it to bill everything due)")
    .max(1000, "at most 1000 ids per rerun")
    .optional(),
  maxCharges: z.number().int("must be a whole number").positive("must be at least 1").optional(),
  shards: z
    .array(z.number().int("must be a whole number").nonnegative("must be 0 or more"))
    .min(1)
    .optional(),
  reason: z.string().max(500).optional(),
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
};

export class InvalidEventError extends Error {
  override readonly name = "InvalidEventError";
  constructor(readonly problems: readonly string[]) {
    super(`Event refused, nothing was changed: ${problems.join("; ")}`);
  }
}

/** Parses an incoming event into a billing request, or throws InvalidEventError naming each bad field. */
export function parseBillingEvent(event: unknown, now: number, shardCount: number): BillingRequest {
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    throw new InvalidEventError(["the event must be a JSON object"]);
  }
  if ("source" in event) {
    const parsed = scheduledEvent.safeParse(event);
    if (!parsed.success) throw new InvalidEventError(problemsOf(parsed.error, event));
    return {
      kind: "scheduled",
      asOf: new Date(parsed.data.time).toISOString(),
      dryRun: false,
      ...(parsed.data.id && { eventId: parsed.data.id }),
    };
  }
  const parsed = rerunEvent.safeParse(event);
  if (!parsed.success) throw new InvalidEventError(problemsOf(parsed.error, event));
  const rerun = parsed.data;
  const asOf = rerun.asOf ? Date.parse(rerun.asOf) : now;
  const problems: string[] = [];
  if (asOf > now + MAX_ASOF_AHEAD_MS) {
    problems.push(
      "asOf: must not be in the future (billing ahead of time would charge before renewals are due)",
    );
  }
  for (const [i, shard] of (rerun.shards ?? []).entries()) {
    if (shard >= shardCount) problems.push(`shards[${i}]: there are ${shardCount} shard(s), numbered from 0`);
  }
  if (problems.length > 0) throw new InvalidEventError(problems);
  return {
    kind: "rerun",
    asOf: new Date(asOf).toISOString(),
    dryRun: rerun.dryRun ?? false,
    ...(rerun.subscriptionIds && { subscriptionIds: rerun.subscriptionIds }),
    ...(rerun.maxCharges !== undefined && { maxCharges: rerun.maxCharges }),
    ...(rerun.shards && { shards: rerun.shards }),
    ...(rerun.reason && { reason: rerun.reason }),
  };
}

function problemsOf(error: z.ZodError, event: object): string[] {
  return error.issues.map((issue) => {
    const path = issue.path
      .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
      .join("")
      .replace(/^\./, "");
    if (issue.code === "unrecognized_keys") return `unknown field(s): ${issue.keys.join(", ")}`;
    const value = issue.path.reduce<unknown>(
      (at, key) => (at as Record<PropertyKey, unknown> | undefined)?.[key],
      event,
    );
    if (value === undefined)
      return `${path || "event"}: is required${path === "action" ? ' (set "action": "rerun")' : ""}`;
    return `${path || "event"}: ${issue.message}`;
  });
}
