/**
 * Generators for the event parser's property tests: every valid event paired with the request it means
 * (a model written here, not the parser's own code), and mutations of it paired with what they must
 * give: refused, or exactly the meaning of the valid event they still are.
 */
import fc from "fast-check";
import type { BillingRequest } from "../../functions/handler/billing-event";
import { MAX_CLOCK_SKEW_MS } from "../../functions/core/clock";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface Case {
  readonly what: string;
  readonly event: JsonObject;
  /** "refused", or the request it must mean. */
  readonly expected: "refused" | BillingRequest;
}

const DAY = 86_400_000;
/** Instants whose local date stays within years 2000..9999 under any zone offset. */
const FIRST = Date.UTC(2000, 0, 2);
const LAST = Date.UTC(9999, 11, 30);

export const SCHEDULED_KEYS = [
  "version",
  "id",
  "detail-type",
  "source",
  "account",
  "time",
  "region",
  "resources",
  "detail",
] as const;
export const RERUN_KEYS = ["action", "asOf", "dryRun", "subscriptionIds", "maxCharges", "shards", "reason"];

// ---------------------------------------------------------------------------------------------------------
// Date-times, written several ways

interface Written {
  readonly text: string;
  /** The instant the text names. */
  readonly ms: number;
}

const two = (n: number) => String(n).padStart(2, "0");

/** `ms` written with a zone offset and a precision; the instant is truncated to what is written. */
function writeInstant(ms: number, offsetMinutes: number, precision: "ms" | "s" | "min"): Written {
  const unit = precision === "ms" ? 1 : precision === "s" ? 1000 : 60_000;
  const instant = Math.floor(ms / unit) * unit;
  const local = new Date(instant + offsetMinutes * 60_000);
  const date = `${local.getUTCFullYear()}-${two(local.getUTCMonth() + 1)}-${two(local.getUTCDate())}`;
  const seconds =
    precision === "min"
      ? ""
      : `:${two(local.getUTCSeconds())}${precision === "ms" ? `.${String(local.getUTCMilliseconds()).padStart(3, "0")}` : ""}`;
  const zone =
    offsetMinutes === 0
      ? "Z"
      : `${offsetMinutes < 0 ? "-" : "+"}${two(Math.floor(Math.abs(offsetMinutes) / 60))}:${two(Math.abs(offsetMinutes) % 60)}`;
  return {
    text: `${date}T${two(local.getUTCHours())}:${two(local.getUTCMinutes())}${seconds}${zone}`,
    ms: instant,
  };
}

const offsets = fc.oneof(fc.constant(0), fc.integer({ min: -12 * 60, max: 14 * 60 }));
const precisions = fc.constantFrom("ms" as const, "s" as const, "min" as const);

/** An instant no later than `now` plus the allowed skew, written some way. */
function instantUpTo(now: number): fc.Arbitrary<Written> {
  const min = Math.max(FIRST, now - 20 * 365 * DAY);
  return fc
    .tuple(fc.integer({ min, max: now + MAX_CLOCK_SKEW_MS }), offsets, precisions)
    .map(([ms, offset, precision]) => writeInstant(ms, offset, precision));
}

/** An instant further ahead of `now` than clock skew explains, even after truncation to a minute. */
function farFuture(now: number): fc.Arbitrary<Written> {
  const min = now + MAX_CLOCK_SKEW_MS + 60_001;
  return fc
    .tuple(fc.integer({ min, max: Math.min(LAST, now + 100 * 365 * DAY) }), offsets, precisions)
    .map(([ms, offset, precision]) => writeInstant(ms, offset, precision));
}

/** A date-time with one impossible part: day 30 of February, month 13, 24:00, second 60, year 1999, ... */
export const impossibleDateTime: fc.Arbitrary<string> = fc
  .record({
    year: fc.integer({ min: 2000, max: 9999 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 28 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.integer({ min: 0, max: 59 }),
    broken: fc.constantFrom("day", "month", "hour", "minute", "second", "year", "offset", "zero"),
    by: fc.integer({ min: 0, max: 60 }),
  })
  .map(({ year, month, day, hour, minute, second, broken, by }) => {
    const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
    const parts = { year, month, day, hour, minute, second, offset: "Z" };
    if (broken === "day") parts.day = Math.min(99, days + 1 + (by % (100 - days - 1)));
    if (broken === "month") parts.month = 13 + (by % 87);
    if (broken === "hour") parts.hour = 24 + (by % 76);
    if (broken === "minute") parts.minute = 60 + (by % 40);
    if (broken === "second") parts.second = 60 + (by % 40);
    if (broken === "year") parts.year = 1000 + ((by * 16) % 1000);
    if (broken === "offset")
      parts.offset = by % 2 === 0 ? `+${two(15 + (by % 85))}:00` : `-01:${two(60 + (by % 40))}`;
    if (broken === "zero") parts.day = 0;
    const y = String(parts.year).padStart(4, "0");
    return `${y}-${two(parts.month)}-${two(parts.day)}T${two(parts.hour)}:${two(parts.minute)}:${two(parts.second)}${parts.offset}`;
  });

// ---------------------------------------------------------------------------------------------------------
// Valid events and their meaning

export interface Valid {
  readonly event: JsonObject;
  readonly request: BillingRequest;
  /** What the event means without `key`: every scheduled field and a rerun's action are required. */
  readonly without: (key: string) => BillingRequest | "refused";
}

function scheduled(now: number): fc.Arbitrary<Valid> {
  return fc
    .record({
      time: instantUpTo(now),
      id: fc.uuid(),
      account: fc.stringMatching(/^\d{12}$/),
      region: fc.constantFrom("us-east-1", "eu-west-1", "ap-southeast-2"),
      resources: fc.array(fc.constant("arn:aws:events:us-east-1:123456789012:rule/billing"), {
        maxLength: 2,
      }),
    })
    .map(({ time, id, account, region, resources }) => ({
      event: {
        version: "0",
        id,
        "detail-type": "Scheduled Event",
        source: "aws.events",
        account,
        time: time.text,
        region,
        resources,
        detail: {},
      },
      request: {
        kind: "scheduled",
        asOf: new Date(Math.min(time.ms, now)).toISOString(),
        dryRun: false,
        eventId: id,
        firedAt: new Date(time.ms).toISOString(),
      },
      without: () => "refused",
    }));
}

function rerun(now: number, shardCount: number): fc.Arbitrary<Valid> {
  return fc
    .record(
      {
        asOf: instantUpTo(now),
        dryRun: fc.boolean(),
        subscriptionIds: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 255 }), {
          minLength: 1,
          maxLength: 20,
        }),
        maxCharges: fc.integer({ min: 1, max: 100_000 }),
        shards: fc.shuffledSubarray(
          Array.from({ length: shardCount }, (_, i) => i),
          { minLength: 1 },
        ),
        reason: fc.string({ minLength: 1, maxLength: 500 }),
      },
      { requiredKeys: [] },
    )
    .map((fields) => ({
      event: {
        action: "rerun",
        ...(fields.asOf && { asOf: fields.asOf.text }),
        ...(fields.dryRun !== undefined && { dryRun: fields.dryRun }),
        ...(fields.subscriptionIds && { subscriptionIds: fields.subscriptionIds }),
        ...(fields.maxCharges !== undefined && { maxCharges: fields.maxCharges }),
        ...(fields.shards && { shards: fields.shards }),
        ...(fields.reason !== undefined && { reason: fields.reason }),
      },
      request: rerunMeaning(now, fields),
      without: (key) => (key === "action" ? "refused" : rerunMeaning(now, omit(fields, key))),
    }));
}

interface RerunFields {
  readonly asOf?: Written;
  readonly dryRun?: boolean;
  readonly subscriptionIds?: string[];
  readonly maxCharges?: number;
  readonly shards?: number[];
  readonly reason?: string;
}

function rerunMeaning(now: number, f: RerunFields): BillingRequest {
  return {
    kind: "rerun",
    asOf: new Date(Math.min(f.asOf?.ms ?? now, now)).toISOString(),
    dryRun: f.dryRun ?? false,
    ...(f.subscriptionIds && { subscriptionIds: f.subscriptionIds }),
    ...(f.maxCharges !== undefined && { maxCharges: f.maxCharges }),
    ...(f.shards && { shards: f.shards }),
    ...(f.reason && { reason: f.reason }),
  };
}

export function validEvent(now: number, shardCount: number): fc.Arbitrary<Valid> {
  return fc.oneof(scheduled(now), rerun(now, shardCount));
}

function omit(f: RerunFields, key: string): RerunFields {
  return {
    ...(key !== "asOf" && f.asOf && { asOf: f.asOf }),
    ...(key !== "dryRun" && f.dryRun !== undefined && { dryRun: f.dryRun }),
    ...(key !== "subscriptionIds" && f.subscriptionIds && { subscriptionIds: f.subscriptionIds }),
    ...(key !== "maxCharges" && f.maxCharges !== undefined && { maxCharges: f.maxCharges }),
    ...(key !== "shards" && f.shards && { shards: f.shards }),
    ...(key !== "reason" && f.reason !== undefined && { reason: f.reason }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Mutations

/** `object` with `key` set as an own property, even `__proto__`. */
function withKey(object: JsonObject, key: string, value: Json): JsonObject {
  const copy: JsonObject = { ...object };
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

function without(object: JsonObject, key: string): JsonObject {
  return Object.fromEntries(Object.entries(object).filter(([k]) => k !== key));
}

const typeOf = (value: Json) => (value === null ? "null" : Array.isArray(value) ? "array" : typeof value);

const anyTyped: fc.Arbitrary<Json> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 20 }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.constant({}),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);

const unknownKey = fc.oneof(
  fc.constantFrom(
    "dryRun",
    "subscriptionIds",
    "maxCharges",
    "shards",
    "reason",
    "asOf",
    "action",
    "replay-name",
    "Time",
    "__proto__",
    "constructor",
    "toString",
  ),
  fc.string({ maxLength: 60 }),
);

const hugeLength = fc.constantFrom(2_049, 70_000, 1_000_000);

export function mutations(now: number, shardCount: number): fc.Arbitrary<Case> {
  return validEvent(now, shardCount).chain((valid) => {
    const keys = Object.keys(valid.event);
    const allowed: readonly string[] = "action" in valid.event ? RERUN_KEYS : SCHEDULED_KEYS;
    const refused = (what: string, event: JsonObject): Case => ({ what, event, expected: "refused" });
    const options: fc.Arbitrary<Case>[] = [
      fc.constant({ what: "unchanged", event: valid.event, expected: valid.request }),
      fc
        .tuple(
          unknownKey.filter((k) => !allowed.includes(k)),
          anyTyped,
        )
        .map(([key, value]) => refused(`add ${key}`, withKey(valid.event, key, value))),
      fc.constantFrom(...keys).map((key) => ({
        what: `drop ${key}`,
        event: without(valid.event, key),
        expected: valid.without(key),
      })),
      fc
        .constantFrom(...keys)
        .chain((key) =>
          anyTyped
            .filter((v) => typeOf(v) !== typeOf(valid.event[key] ?? null))
            .map((value) => refused(`retype ${key}`, withKey(valid.event, key, value))),
        ),
      fc
        .tuple(fc.constantFrom(...keys), hugeLength)
        .map(([key, n]) => refused(`huge ${key}`, withKey(valid.event, key, "x".repeat(n)))),
      hugeLength.map((n) => refused("huge unknown key", withKey(valid.event, "k".repeat(n), 1))),
    ];
    const dateField = "action" in valid.event ? "asOf" : "time";
    options.push(
      farFuture(now).map((t) => refused(`far-future ${dateField}`, withKey(valid.event, dateField, t.text))),
      impossibleDateTime.map((t) => refused(`impossible ${dateField}`, withKey(valid.event, dateField, t))),
      ...duplicates(valid.event, refused),
    );
    if (!("action" in valid.event)) {
      options.push(
        fc
          .dictionary(fc.string({ minLength: 1, maxLength: 10 }), anyTyped, { minKeys: 1, maxKeys: 3 })
          .map((detail) => refused("non-empty detail", withKey(valid.event, "detail", detail))),
      );
    }
    return fc.oneof(...options);
  });
}

function duplicates(event: JsonObject, refused: (what: string, event: JsonObject) => Case) {
  return (["subscriptionIds", "shards"] as const).flatMap((field) => {
    const list = event[field];
    if (!Array.isArray(list) || list.length === 0) return [];
    return [
      fc.tuple(fc.nat(list.length - 1), fc.nat(list.length)).map(([from, at]) => {
        const copy = [...list];
        copy.splice(at, 0, list[from] ?? null);
        return refused(`duplicate in ${field}`, withKey(event, field, copy));
      }),
    ];
  });
}

/** Any JSON, and objects built from the events' own keys with any values: most refused, all bounded. */
export const arbitraryEvent: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom(...SCHEDULED_KEYS, ...RERUN_KEYS, "x"), fc.jsonValue({ maxDepth: 2 }), {
    maxKeys: 6,
  }),
  fc
    .dictionary(fc.constantFrom(...RERUN_KEYS), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
    .map((rest) => ({ ...rest, action: "rerun" })),
);
