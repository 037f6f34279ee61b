/**
 * The subscription record as one zod definition, shared by everything that reads or writes it: the
 * billing run validates what it reads with `subscriptionRecordSchema` (subscription.ts), the client and
 * the import check what a user writes with `subscriptionInputSchema`, and the JSON Schema files under
 * schema/ are generated from both (dev/subscription-json-schema.ts), so the three cannot drift apart.
 *
 * Zod decides whether a value is acceptable and which check failed; the sentences people read are
 * written here per check (`reason`), from the record itself, so a quarantine names the field and what
 * was found there. Checks are ordered (CHECK_ORDER): the run reports the first failing one, the import
 * every one. Checks that relate two fields run only when both fields pass on their own, so each
 * failure says one thing.
 */
import { z } from "zod";
import {
  CANONICAL_TIMESTAMP,
  daysInMonth,
  isCanonicalTimestamp,
  isOnAnchor,
  type BillingInterval,
} from "./calendar";
import { checkAmount, CURRENCIES, MAX_AMOUNT, type CurrencyCode } from "./money";
import { UnreadableNumber, describeUnreadable } from "./unreadable-number";

/** Every status a stored record may have. */
export const SUBSCRIPTION_STATUSES = [
  "active",
  "paused",
  "past_due",
  "needs_customer_action",
  "quarantined",
  "canceled",
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** The statuses a user writes; past_due, needs_customer_action and quarantined are set by the run. */
export const WRITABLE_STATUSES = ["active", "paused", "canceled"] as const;
export type WritableStatus = (typeof WRITABLE_STATUSES)[number];

/** Fields the job and the client compute; a user (or an import file) never writes them. */
export const COMPUTED_FIELDS = [
  "dueShard",
  "nextAttemptAt",
  "createdAt",
  "updatedAt",
  "statusReason",
  "lastPaidPeriod",
  "fence",
  "revision",
] as const;

/** Earliest and latest years a user may give: a period start in year 0001 would be 24,000 periods owed. */
export const FIRST_YEAR = 2000;
export const LAST_YEAR = 9999;

const CURRENCY_CODES = Object.keys(CURRENCIES) as [CurrencyCode, ...CurrencyCode[]];
const TIMESTAMP_EXAMPLE = "2026-01-31T00:00:00.000Z";

type Raw = Readonly<Record<string, unknown>>;

// ---------------------------------------------------------------------------------------------------
// Field schemas.

const nonBlank = z.string().regex(/\S/);
const timestamp = z.string().regex(CANONICAL_TIMESTAMP).refine(isCanonicalTimestamp);
const wholeNumber = (min: number, max: number) => z.number().int().min(min).max(max);
const amount = z.number().int().positive().max(MAX_AMOUNT);
const currency = z.enum(CURRENCY_CODES);
const interval = z.enum(["month", "year"]);

/** The stored record's fields as the run accepts them (index keys and bookkeeping pass through). */
const RECORD_FIELDS = {
  subscriptionId: nonBlank.describe("The subscription's id, unique in the table (the table's key)."),
  shard: wholeNumber(0, Number.MAX_SAFE_INTEGER).describe(
    "The lease shard that bills it: 0 to SHARD_COUNT - 1 (a shard no run bills is quarantined).",
  ),
  status: z.enum(SUBSCRIPTION_STATUSES).describe("Where it stands; only `active` is billed."),
  customerId: nonBlank.describe("The Stripe customer charged (cus_...)."),
  paymentMethodId: z.string().regex(/^pm_/).describe("The saved card charged off-session (pm_...)."),
  currency: currency.describe("Lowercase ISO code of a supported currency."),
  amount: amount.describe(
    "Integer minor units of `currency` (cents; yen for jpy), at least the currency's Stripe minimum.",
  ),
  interval: interval.describe("How often it renews."),
  anchorDay: wholeNumber(1, 31).describe(
    "Day of the month each period starts on; shorter months start on their last day.",
  ),
  anchorMonth: wholeNumber(1, 12)
    .nullish()
    .describe("Month each yearly period starts in; required when interval is `year`, ignored otherwise."),
  nextPeriodStart: timestamp.describe(
    `Start of the oldest period not yet paid, on the anchor; canonical UTC (${TIMESTAMP_EXAMPLE}).`,
  ),
  nextAttemptAt: timestamp.describe(
    "When the run next looks at it (the due index's sort key): the period start, or a decline's retry time.",
  ),
  createdAt: timestamp.describe("When the record was created."),
  updatedAt: timestamp.describe("When the record last changed."),
};

type RecordField = keyof typeof RECORD_FIELDS;

/** What a user writes, through the client or an import file: the terms of the subscription, nothing else. */
const INPUT_FIELDS = {
  subscriptionId: z
    .string()
    .regex(/^\S{1,255}$/)
    .describe("Your id for the subscription: 1 to 255 characters, no spaces. The table's key."),
  customerId: z
    .string()
    .regex(/^cus_\S+$/)
    .describe("The Stripe customer to charge (cus_...)."),
  paymentMethodId: z
    .string()
    .regex(/^pm_\S+$/)
    .describe("A card saved on that customer for off-session payments (pm_...)."),
  amount: RECORD_FIELDS.amount,
  currency: RECORD_FIELDS.currency,
  interval: RECORD_FIELDS.interval,
  nextPeriodStart: timestamp
    .refine(inYears)
    .describe(
      `Start of the first period to bill, canonical UTC (${TIMESTAMP_EXAMPLE}), years ${FIRST_YEAR} to ${LAST_YEAR}. ` +
        "A past start is billed at the next run, and every period missed since (catch-up).",
    ),
  anchorDay: wholeNumber(1, 31)
    .optional()
    .describe(
      "Day of the month periods start on (1 to 31; 31 means each month's last day). Default: nextPeriodStart's day.",
    ),
  anchorMonth: wholeNumber(1, 12)
    .optional()
    .describe("Yearly subscriptions only: the month periods start in. Default: nextPeriodStart's month."),
  status: z
    .enum(WRITABLE_STATUSES)
    .optional()
    .describe("active (billed; the default), paused or canceled (not billed)."),
  shard: wholeNumber(0, Number.MAX_SAFE_INTEGER)
    .optional()
    .describe("The lease shard that bills it, below SHARD_COUNT. Default: a hash of the id."),
};

type InputField = keyof typeof INPUT_FIELDS;

function inYears(value: string): boolean {
  const year = Number(value.slice(0, 4));
  return year >= FIRST_YEAR && year <= LAST_YEAR;
}

// ---------------------------------------------------------------------------------------------------
// Checks that relate fields, each run only when the fields it reads pass on their own.

interface CrossRule<F extends string> {
  /** Its place in CHECK_ORDER. */
  readonly key: string;
  /** The field a failure names. */
  readonly field: F;
  readonly reads: readonly F[];
  readonly holds: (r: Raw) => boolean;
}

/** The amount is at least what Stripe charges in that currency (the maximum is the amount's own check). */
function aboveMinimum(r: Raw): boolean {
  return (r.amount as number) >= CURRENCIES[r.currency as CurrencyCode].minimumAmount;
}

/** A yearly anchor that exists: 29 February does (28th in common years), 30 February does not. */
function dayInMonth(r: Raw): boolean {
  return (
    r.interval !== "year" ||
    typeof r.anchorMonth !== "number" ||
    typeof r.anchorDay !== "number" ||
    r.anchorDay <= daysInMonth(2028, r.anchorMonth)
  );
}

const RECORD_RULES: readonly CrossRule<RecordField>[] = [
  { key: "amount:minimum", field: "amount", reads: ["amount", "currency"], holds: aboveMinimum },
  {
    key: "anchorMonth:yearly",
    field: "anchorMonth",
    reads: ["interval", "anchorMonth"],
    holds: (r) => r.interval !== "year" || typeof r.anchorMonth === "number",
  },
  {
    key: "anchorDay:month",
    field: "anchorDay",
    reads: ["interval", "anchorDay", "anchorMonth"],
    holds: dayInMonth,
  },
  {
    key: "nextPeriodStart:anchor",
    field: "nextPeriodStart",
    reads: ["interval", "anchorDay", "anchorMonth", "nextPeriodStart"],
    holds: (r) =>
      // Without a yearly month there is no anchor to be on: anchorMonth:yearly reports that.
      (r.interval === "year" && typeof r.anchorMonth !== "number") ||
      isOnAnchor(
        r.nextPeriodStart as string,
        r.interval as BillingInterval,
        r.anchorDay as number,
        (r.anchorMonth as number | null | undefined) ?? undefined,
      ),
  },
  {
    key: "nextAttemptAt:after",
    field: "nextAttemptAt",
    reads: ["nextPeriodStart", "nextAttemptAt"],
    holds: (r) => (r.nextAttemptAt as string) >= (r.nextPeriodStart as string),
  },
];

/**
 * The anchor of a user's subscription: as given, or else the day (and, if yearly, the month) of its
 * first period start. For an input whose interval and nextPeriodStart passed their checks.
 */
export function inputAnchor(r: {
  readonly interval: BillingInterval;
  readonly nextPeriodStart: string;
  readonly anchorDay?: unknown;
  readonly anchorMonth?: unknown;
}): { readonly anchorDay: number; readonly anchorMonth?: number } {
  const anchorDay = typeof r.anchorDay === "number" ? r.anchorDay : Number(r.nextPeriodStart.slice(8, 10));
  if (r.interval === "month") return { anchorDay };
  const anchorMonth =
    typeof r.anchorMonth === "number" ? r.anchorMonth : Number(r.nextPeriodStart.slice(5, 7));
  return { anchorDay, anchorMonth };
}

const withAnchor = (r: Raw): Raw => ({
  ...r,
  ...inputAnchor(r as Parameters<typeof inputAnchor>[0]),
});

const INPUT_RULES: readonly CrossRule<InputField>[] = [
  { key: "amount:minimum", field: "amount", reads: ["amount", "currency"], holds: aboveMinimum },
  {
    key: "anchorMonth:yearly",
    field: "anchorMonth",
    reads: ["interval", "anchorMonth"],
    holds: (r) => r.interval === "year" || r.anchorMonth === undefined,
  },
  {
    key: "anchorDay:month",
    field: "anchorDay",
    reads: ["interval", "anchorDay", "anchorMonth", "nextPeriodStart"],
    holds: (r) => dayInMonth(withAnchor(r)),
  },
  {
    key: "nextPeriodStart:anchor",
    field: "nextPeriodStart",
    reads: ["interval", "anchorDay", "anchorMonth", "nextPeriodStart"],
    holds: (r) => {
      const a = withAnchor(r);
      // An anchor that does not exist is anchorDay:month's to report.
      if (!dayInMonth(a)) return true;
      return isOnAnchor(
        a.nextPeriodStart as string,
        a.interval as BillingInterval,
        a.anchorDay as number,
        a.anchorMonth as number | undefined,
      );
    },
  },
];

/**
 * The cross checks that fail on `value`, each run only when the fields it reads pass on their own
 * (known already when every field passed: the common case, a valid record, reads nothing twice).
 */
function failingRules<F extends string>(
  fields: Record<F, z.ZodType>,
  rules: readonly CrossRule<F>[],
  value: Raw,
  everyFieldPassed = false,
): CrossRule<F>[] {
  const readable = (rule: CrossRule<F>) =>
    everyFieldPassed || rule.reads.every((f) => fields[f].safeParse(value[f]).success);
  return rules.filter((rule) => readable(rule) && !rule.holds(value));
}

function crossChecks<F extends string>(fields: Record<F, z.ZodType>, rules: readonly CrossRule<F>[]) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    for (const rule of failingRules(fields, rules, value, ctx.issues.length === 0)) {
      ctx.addIssue({ code: "custom", path: [rule.field], message: rule.key, params: { check: rule.key } });
    }
  };
}

// Cross checks run even when another field failed (zod skips them only after a failed whole-number
// check, an "aborting" issue; problemsOf runs them itself then), so the first failure in CHECK_ORDER is
// the one a step-by-step check would meet first.
const anObject = (payload: { value: unknown }) =>
  typeof payload.value === "object" && payload.value !== null && !Array.isArray(payload.value);

/** The stored record, as the billing run accepts it. Extra attributes (index keys, bookkeeping) pass. */
export const subscriptionRecordSchema = z
  .looseObject(RECORD_FIELDS)
  .superRefine(crossChecks(RECORD_FIELDS, RECORD_RULES), { when: anObject });

/** What a user writes (client create, import row). Anything else, the computed fields included, is refused. */
export const subscriptionInputSchema = z
  .strictObject(INPUT_FIELDS)
  .superRefine(crossChecks(INPUT_FIELDS, INPUT_RULES), { when: anObject });

export type SubscriptionInput = z.infer<typeof subscriptionInputSchema>;

/**
 * The index key and bookkeeping kept on a record besides the fields above. Nobody writes them by hand:
 * the client and the billing run do. The run ignores them when it validates (a stray value there is not
 * a reason to quarantine); the client reads them with this.
 */
export const subscriptionBookkeepingSchema = z.object({
  dueShard: z
    .string()
    .regex(/^shard-\d+$/)
    .optional()
    .describe(
      'The due index\'s partition key, "shard-" and the shard: present exactly while status is active (the client sets and removes it).',
    ),
  statusReason: z
    .string()
    .optional()
    .describe("Why the run took it out of billing (past_due, needs_customer_action, quarantined)."),
  lastPaidPeriod: timestamp.optional().describe("The start of the last period the run was paid for."),
  fence: z.number().int().min(0).optional().describe("The lease fence of the run's last write to it."),
  revision: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe("The client's version counter: every client write raises it and is conditioned on it."),
});

// ---------------------------------------------------------------------------------------------------
// From zod's issues to the field at fault and a sentence.

/** The order checks are met in: the run reports the first failing one (and has since before zod). */
export const CHECK_ORDER = [
  "record",
  "subscriptionId",
  "shard",
  "status",
  "customerId",
  "paymentMethodId",
  "currency",
  "amount",
  "amount:minimum",
  "interval",
  "anchorDay",
  "anchorMonth",
  "anchorMonth:yearly",
  "anchorDay:month",
  "nextPeriodStart",
  "nextPeriodStart:anchor",
  "nextAttemptAt",
  "nextAttemptAt:after",
  "createdAt",
  "updatedAt",
] as const;

export interface FieldProblem {
  readonly field: string;
  readonly reason: string;
}

/** Any value, shown in a sentence without throwing (a bigint or a cyclic object must not break it). */
export function shown(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value instanceof UnreadableNumber) return describeUnreadable(value);
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  return typeof value;
}

const wholeReason = (field: string, min: number, max: number) => (r: Raw) =>
  `${field} must be a whole number from ${min} to ${max}, got ${shown(r[field])}`;
const timestampReason = (field: string) => (r: Raw) =>
  `${field} must be a UTC timestamp like ${TIMESTAMP_EXAMPLE}, got ${shown(r[field])}`;
const missing = (field: string, why: string) => () => `${field} is missing: ${why}`;
const isText = (value: unknown) => typeof value === "string" && value.trim() !== "";

function moneyReason(r: Raw): string {
  const money = checkAmount(r.amount, r.currency);
  return money.ok ? `amount ${shown(r.amount)} cannot be charged in ${shown(r.currency)}` : money.reason;
}

function anchorText(r: Raw): string {
  return r.interval === "year" ? `day ${r.anchorDay} of month ${r.anchorMonth}` : `day ${r.anchorDay}`;
}

type Reasons = Readonly<Record<string, (r: Raw) => string>>;

/** The run's words, one per check (these are the quarantine reasons operators see). */
const RECORD_REASONS: Reasons = {
  record: () => "the record is not an object",
  subscriptionId: missing("subscriptionId", "every record needs its id"),
  shard: wholeReason("shard", 0, Number.MAX_SAFE_INTEGER),
  status: (r) => `status must be one of ${SUBSCRIPTION_STATUSES.join(", ")}, got ${shown(r.status)}`,
  customerId: missing("customerId", "there is no customer to charge"),
  paymentMethodId: (r) =>
    isText(r.paymentMethodId)
      ? `paymentMethodId must be a Stripe payment method (pm_...), got ${shown(r.paymentMethodId)}`
      : "paymentMethodId is missing: there is no saved card to charge",
  currency: moneyReason,
  amount: moneyReason,
  "amount:minimum": moneyReason,
  interval: (r) => `interval must be "month" or "year", got ${shown(r.interval)}`,
  anchorDay: wholeReason("anchorDay", 1, 31),
  anchorMonth: wholeReason("anchorMonth", 1, 12),
  "anchorMonth:yearly": wholeReason("anchorMonth", 1, 12),
  "anchorDay:month": (r) => `anchorDay ${r.anchorDay} does not exist in month ${r.anchorMonth}`,
  nextPeriodStart: timestampReason("nextPeriodStart"),
  "nextPeriodStart:anchor": (r) =>
    `nextPeriodStart ${r.nextPeriodStart} is not on the anchor (${anchorText(r)})`,
  nextAttemptAt: timestampReason("nextAttemptAt"),
  "nextAttemptAt:after": (r) =>
    `nextAttemptAt ${r.nextAttemptAt} is before nextPeriodStart ${r.nextPeriodStart}: a period is never charged before it starts`,
  createdAt: timestampReason("createdAt"),
  updatedAt: timestampReason("updatedAt"),
};

/** A user's words: what to write instead. */
const INPUT_REASONS: Reasons = {
  record: () => "the row is not an object of fields",
  subscriptionId: () => "subscriptionId must be 1 to 255 characters with no spaces",
  customerId: (r) => `customerId must be a Stripe customer id (cus_...), got ${shown(r.customerId)}`,
  paymentMethodId: (r) =>
    `paymentMethodId must be a Stripe payment method (pm_...), got ${shown(r.paymentMethodId)}`,
  currency: moneyReason,
  amount: moneyReason,
  "amount:minimum": moneyReason,
  interval: RECORD_REASONS.interval!,
  anchorDay: RECORD_REASONS.anchorDay!,
  anchorMonth: RECORD_REASONS.anchorMonth!,
  "anchorMonth:yearly": () => "anchorMonth applies to yearly subscriptions only",
  "anchorDay:month": (r) => {
    const a = withAnchor(r);
    return `anchorDay ${a.anchorDay} does not exist in month ${a.anchorMonth}`;
  },
  nextPeriodStart: (r) =>
    `nextPeriodStart must be a UTC timestamp like ${TIMESTAMP_EXAMPLE} in the years ${FIRST_YEAR} to ${LAST_YEAR}, got ${shown(r.nextPeriodStart)}`,
  "nextPeriodStart:anchor": (r) =>
    `nextPeriodStart ${r.nextPeriodStart} is not on the anchor (${anchorText(withAnchor(r))})`,
  status: (r) =>
    `status must be one of ${WRITABLE_STATUSES.join(", ")} (the others are set by the job), got ${shown(r.status)}`,
  shard: RECORD_REASONS.shard!,
};

interface Problem extends FieldProblem {
  readonly key: string;
}

/** How a schema's failures are put into words. */
interface Dialect {
  readonly reasons: Reasons;
  /** Say "x is missing" for an absent field (a user's row), rather than the check's own sentence. */
  readonly sayMissing: boolean;
  readonly fields: Record<string, z.ZodType>;
  readonly rules: readonly CrossRule<string>[];
}

const RUN: Dialect = {
  reasons: RECORD_REASONS,
  sayMissing: false,
  fields: RECORD_FIELDS,
  rules: RECORD_RULES,
};
const USER: Dialect = { reasons: INPUT_REASONS, sayMissing: true, fields: INPUT_FIELDS, rules: INPUT_RULES };

function problemsOf(issues: readonly z.core.$ZodIssue[], raw: unknown, dialect: Dialect): Problem[] {
  const r = (typeof raw === "object" && raw !== null ? raw : {}) as Raw;
  const found: Problem[] = [];
  const anObjectGiven = typeof raw === "object" && raw !== null && !Array.isArray(raw);
  // The cross checks from the record itself: zod's own run of them may have been cut short.
  if (anObjectGiven) {
    for (const rule of failingRules(dialect.fields, dialect.rules, r)) {
      found.push({ key: rule.key, field: rule.field, reason: dialect.reasons[rule.key]!(r) });
    }
  }
  for (const issue of issues) {
    // The cross checks' own issues: found above already (the field's own refinements are kept).
    if (issue.code === "custom" && issue.params?.check !== undefined) continue;
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys)
        found.push({ key: `unknown:${key}`, field: key, reason: unknownField(key) });
      continue;
    }
    const field = issue.path.length === 0 ? "record" : String(issue.path[0]);
    const key = field;
    const absent = dialect.sayMissing && key === field && field !== "record" && r[field] === undefined;
    const write = dialect.reasons[key];
    const reason = absent ? `${field} is missing` : (write?.(r) ?? `${field}: ${issue.message}`);
    found.push({ key, field, reason });
  }
  return found;
}

function unknownField(key: string): string {
  return (COMPUTED_FIELDS as readonly string[]).includes(key)
    ? `${key} is computed (by the client or the billing run), never written`
    : `${key} is not a field of a subscription`;
}

const position = (key: string) => {
  const at = (CHECK_ORDER as readonly string[]).indexOf(key);
  return at === -1 ? CHECK_ORDER.length : at;
};

export type StoredRecordRead =
  | { readonly ok: true; readonly record: z.infer<typeof subscriptionRecordSchema> }
  | ({ readonly ok: false } & FieldProblem);

/** The stored record as the run reads it, or the first failing check: why the run cannot bill it. */
export function readSubscriptionRecord(raw: unknown): StoredRecordRead {
  const parsed = subscriptionRecordSchema.safeParse(raw);
  if (parsed.success) return { ok: true, record: parsed.data };
  const problems = problemsOf(parsed.error.issues, raw, RUN);
  const first = problems.reduce((a, b) => (position(b.key) < position(a.key) ? b : a));
  return { ok: false, field: first.field, reason: first.reason };
}

export type InputCheck =
  | { readonly ok: true; readonly input: SubscriptionInput }
  | { readonly ok: false; readonly problems: readonly FieldProblem[] };

/** A user's subscription, or every problem with it, one per field, in the order the checks are met. */
export function checkSubscriptionInput(raw: unknown): InputCheck {
  const parsed = subscriptionInputSchema.safeParse(raw);
  if (parsed.success) return { ok: true, input: parsed.data };
  const problems = problemsOf(parsed.error.issues, raw, USER).sort(
    (a, b) => position(a.key) - position(b.key),
  );
  const seen = new Set<string>();
  const each = problems.filter((p) => !seen.has(p.field) && seen.add(p.field));
  return { ok: false, problems: each.map(({ field, reason }) => ({ field, reason })) };
}
