/**
 * What the subscription client writes, decided without I/O: a new record from a user's input (with the
 * index fields computed), and each change to a stored record as the attributes it sets and removes and
 * what must still hold when it lands. The DynamoDB side (functions/client/) only turns a plan into one
 * conditional write.
 *
 * Every record planned here passes the billing run's own rules before it is offered (`billableAsPlanned`),
 * so nothing the client writes is ever quarantined by the run. See docs/subscriptions.md for the record,
 * the statuses and what a change does to a charge already in flight.
 */
import { BillingJobError } from "../errors";
import { firstPeriodStart, nextPeriodStart as periodAfter, type BillingInterval } from "./calendar";
import { dueShardKey, validateSubscription, type Subscription } from "./subscription";
import {
  checkSubscriptionInput,
  inputAnchor,
  subscriptionBookkeepingSchema,
  type FieldProblem,
  type SubscriptionInput,
  type WritableStatus,
} from "./subscription-schema";

/** A stored record as the client reads it: the run's view plus the bookkeeping the client shows. */
export interface StoredSubscription extends Subscription {
  /** The due index's partition key, present exactly while the subscription is active. */
  readonly dueShard?: string;
  /** Why the run took it out of billing (past_due, needs_customer_action, quarantined). */
  readonly statusReason?: string;
  /** The last period the run was paid for. */
  readonly lastPaidPeriod?: string;
  /** The client's version counter, raised by every client write; absent on records written otherwise. */
  readonly revision?: number;
}

export type SubscriptionChange =
  /** New terms: any of the price, the currency and the calendar (interval and anchor). */
  | {
      readonly kind: "plan";
      readonly amount?: number;
      readonly currency?: string;
      readonly interval?: BillingInterval;
      readonly anchorDay?: number;
      readonly anchorMonth?: number;
    }
  | { readonly kind: "payment-method"; readonly paymentMethodId: string }
  | { readonly kind: "pause" }
  /**
   * Back to billing. By default the periods that started while it was paused are not billed: billing
   * resumes with the first period that starts at or after `at`. `billMissedPeriods` bills them instead
   * (catch-up, oldest first).
   */
  | { readonly kind: "resume"; readonly billMissedPeriods?: boolean }
  | { readonly kind: "cancel" };

/**
 * What must still be true of the period's charge record (the one for the stored `nextPeriodStart`) when
 * the change lands: nothing; that no charge is in flight (pending or in doubt); or that there is none.
 */
export type ChargeCondition = "any" | "not-in-flight" | "absent";

export type ChangePlan =
  | {
      readonly kind: "update";
      readonly set: Readonly<Record<string, unknown>>;
      readonly remove: readonly string[];
      readonly charge: ChargeCondition;
      /** The record once the change has landed. */
      readonly next: StoredSubscription;
    }
  | { readonly kind: "unchanged"; readonly current: StoredSubscription }
  | { readonly kind: "invalid"; readonly problems: readonly FieldProblem[] };

/** The client built a record the run would refuse: a bug here, never written. */
export class UnbillableRecordError extends BillingJobError {
  override readonly name: string = "UnbillableRecordError";
}

/** The shard a new subscription goes to when the user names none: FNV-1a of its id, spread evenly. */
export function shardFor(subscriptionId: string, shardCount: number): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(subscriptionId)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash % shardCount;
}

export type StoredRead =
  | { readonly ok: true; readonly subscription: StoredSubscription }
  | { readonly ok: false; readonly problems: readonly FieldProblem[] };

/** A stored item as the client sees it, or why the run would not bill it as it stands. */
export function readStoredSubscription(raw: Readonly<Record<string, unknown>>): StoredRead {
  const checked = validateSubscription(raw);
  if (!checked.ok) return { ok: false, problems: [{ field: checked.field, reason: checked.reason }] };
  // Each bookkeeping field on its own: one that is malformed is left out, the record is still read.
  const kept: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(subscriptionBookkeepingSchema.shape)) {
    const read = schema.safeParse(raw[key]);
    if (read.success && read.data !== undefined) kept[key] = read.data;
  }
  return { ok: true, subscription: { ...checked.subscription, ...kept } };
}

export type NewRecord =
  | { readonly ok: true; readonly record: StoredSubscription }
  | { readonly ok: false; readonly problems: readonly FieldProblem[] };

/**
 * The record to create from a user's input, at `at`: every field the run reads, the due index's key
 * when active, and revision 1. The input is checked here (`raw` may be anything).
 */
export function newSubscriptionRecord(raw: unknown, at: string, shardCount: number): NewRecord {
  const checked = checkSubscriptionInput(raw);
  const given = (raw as { shard?: unknown } | null)?.shard;
  const unbilled = Number.isSafeInteger(given) && (given as number) >= shardCount;
  if (!checked.ok) {
    if (!unbilled || checked.problems.some((p) => p.field === "shard")) return checked;
    // The shard first, where the checks meet it (after the id), with every other problem.
    const [first, ...rest] = checked.problems;
    const problem = shardProblem(given as number, shardCount);
    const problems =
      first?.field === "subscriptionId" ? [first, problem, ...rest] : [problem, ...checked.problems];
    return { ok: false, problems };
  }
  const input: SubscriptionInput = checked.input;
  const shard = input.shard ?? shardFor(input.subscriptionId, shardCount);
  if (shard >= shardCount) return { ok: false, problems: [shardProblem(shard, shardCount)] };
  const status: WritableStatus = input.status ?? "active";
  const record: StoredSubscription = {
    subscriptionId: input.subscriptionId,
    shard,
    customerId: input.customerId,
    paymentMethodId: input.paymentMethodId,
    amount: input.amount,
    currency: input.currency,
    interval: input.interval,
    ...inputAnchor(input),
    status,
    nextPeriodStart: input.nextPeriodStart,
    nextAttemptAt: input.nextPeriodStart,
    createdAt: at,
    updatedAt: at,
    ...(status === "active" && { dueShard: dueShardKey(shard) }),
    revision: 1,
  };
  return { ok: true, record: billableAsPlanned(record) };
}

function shardProblem(shard: number, shardCount: number): FieldProblem {
  return {
    field: "shard",
    reason: `shard ${shard} is billed by no run: SHARD_COUNT is ${shardCount} (shards 0 to ${shardCount - 1})`,
  };
}

/** A change to `current` at `at`, as attributes to set and remove, or why it cannot be made. */
export function planChange(current: StoredSubscription, change: SubscriptionChange, at: string): ChangePlan {
  switch (change.kind) {
    case "plan":
      return planTerms(current, change, at);
    case "payment-method":
      return planPaymentMethod(current, change.paymentMethodId, at);
    case "pause":
      if (current.status === "paused") return { kind: "unchanged", current };
      if (current.status !== "active") return notFrom(current, "an active subscription can be paused");
      return update(current, { status: "paused" }, ["dueShard"], "not-in-flight", at);
    case "resume":
      return planResume(current, change.billMissedPeriods === true, at);
    case "cancel":
      if (current.status === "canceled") return { kind: "unchanged", current };
      return update(current, { status: "canceled" }, ["dueShard"], "not-in-flight", at);
  }
}

function planTerms(
  current: StoredSubscription,
  change: Extract<SubscriptionChange, { kind: "plan" }>,
  at: string,
): ChangePlan {
  const interval = change.interval ?? current.interval;
  const calendarChanges =
    interval !== current.interval ||
    (change.anchorDay !== undefined && change.anchorDay !== current.anchorDay) ||
    (change.anchorMonth !== undefined && change.anchorMonth !== current.anchorMonth);
  // The new terms are checked as a user's input: the same rules (and words) as a new subscription's.
  const anchorDay = change.anchorDay ?? current.anchorDay;
  const anchorMonth =
    interval === "year"
      ? (change.anchorMonth ?? current.anchorMonth ?? Number(current.nextPeriodStart.slice(5, 7)))
      : undefined;
  // The paid-up time is kept: the next period starts on the new anchor, at or after the old next start.
  // Anchors out of range keep the old start, and the check below names them.
  const start =
    calendarChanges && anchorsInRange(interval, anchorDay, anchorMonth)
      ? firstPeriodStart(current.nextPeriodStart, interval, anchorDay, anchorMonth)
      : current.nextPeriodStart;
  const terms = {
    amount: change.amount ?? current.amount,
    currency: change.currency ?? current.currency,
    interval,
    anchorDay,
    ...(anchorMonth !== undefined && { anchorMonth }),
  };
  const checked = checkSubscriptionInput({ ...userFields(current), ...terms, nextPeriodStart: start });
  if (!checked.ok) return { kind: "invalid", problems: checked.problems };
  const set: Record<string, unknown> = { ...terms };
  const remove =
    calendarChanges && interval === "month" && current.anchorMonth !== undefined ? ["anchorMonth"] : [];
  if (calendarChanges) {
    set.nextPeriodStart = start;
    set.nextAttemptAt = start;
  }
  if (!differs(current, set) && remove.length === 0) return { kind: "unchanged", current };
  // A new calendar moves the period a charge would be claimed for: only with no charge for it at all.
  return update(current, set, remove, calendarChanges ? "absent" : "any", at);
}

function anchorsInRange(interval: unknown, anchorDay: unknown, anchorMonth: unknown): boolean {
  const whole = (v: unknown, max: number) =>
    Number.isInteger(v) && (v as number) >= 1 && (v as number) <= max;
  return (interval === "month" || (interval === "year" && whole(anchorMonth, 12))) && whole(anchorDay, 31);
}

function planPaymentMethod(current: StoredSubscription, paymentMethodId: string, at: string): ChangePlan {
  const checked = checkSubscriptionInput({ ...userFields(current), paymentMethodId });
  if (!checked.ok) return { kind: "invalid", problems: checked.problems };
  if (paymentMethodId === current.paymentMethodId) return { kind: "unchanged", current };
  return update(current, { paymentMethodId }, [], "any", at);
}

function planResume(current: StoredSubscription, billMissedPeriods: boolean, at: string): ChangePlan {
  if (current.status === "active") return { kind: "unchanged", current };
  if (current.status !== "paused") {
    return notFrom(
      current,
      "a paused subscription can be resumed",
      " (a past_due, needs_customer_action or quarantined one is reopened as docs/runbook.md says)",
    );
  }
  let start = current.nextPeriodStart;
  while (!billMissedPeriods && start < at) {
    start = periodAfter(start, current.interval, current.anchorDay, current.anchorMonth);
  }
  const set = {
    status: "active",
    nextPeriodStart: start,
    nextAttemptAt: start,
    dueShard: dueShardKey(current.shard),
  };
  return update(current, set, [], start === current.nextPeriodStart ? "any" : "absent", at);
}

/** The fields a user wrote, as a user's input, so a change is checked by the same rules as a creation. */
function userFields(s: StoredSubscription): Record<string, unknown> {
  return {
    subscriptionId: s.subscriptionId,
    customerId: s.customerId,
    paymentMethodId: s.paymentMethodId,
    amount: s.amount,
    currency: s.currency,
    interval: s.interval,
    anchorDay: s.anchorDay,
    ...(s.interval === "year" && { anchorMonth: s.anchorMonth }),
    nextPeriodStart: s.nextPeriodStart,
  };
}

function differs(current: StoredSubscription, set: Readonly<Record<string, unknown>>): boolean {
  return Object.entries(set).some(([k, v]) => (current as unknown as Record<string, unknown>)[k] !== v);
}

function notFrom(current: StoredSubscription, rule: string, note = ""): ChangePlan {
  return {
    kind: "invalid",
    problems: [{ field: "status", reason: `only ${rule}; this one is ${current.status}${note}` }],
  };
}

function update(
  current: StoredSubscription,
  changes: Readonly<Record<string, unknown>>,
  removing: readonly string[],
  charge: ChargeCondition,
  at: string,
): ChangePlan {
  const set: Record<string, unknown> = { ...changes, updatedAt: at, revision: (current.revision ?? 0) + 1 };
  const remove = new Set(removing);
  // The due index's key follows the status, whatever a hand edit left: in it exactly while active.
  const status = (set.status ?? current.status) as string;
  if (status === "active") {
    if (current.dueShard !== dueShardKey(current.shard)) set.dueShard = dueShardKey(current.shard);
    remove.delete("dueShard");
  } else if (current.dueShard !== undefined) {
    remove.add("dueShard");
  } else {
    remove.delete("dueShard");
  }
  const next = { ...current, ...set } as Record<string, unknown>;
  for (const key of remove) delete next[key];
  return {
    kind: "update",
    set,
    remove: [...remove],
    charge,
    next: billableAsPlanned(next as unknown as StoredSubscription),
  };
}

/**
 * The record, if the run would bill it or leave it alone on purpose: valid by the run's rules, in its
 * shard's due index exactly while active. Anything else is a bug in this module, refused before a write.
 */
export function billableAsPlanned(record: StoredSubscription): StoredSubscription {
  const checked = validateSubscription(record);
  if (!checked.ok) {
    throw new UnbillableRecordError(
      `the client built a record the run would quarantine (${checked.field}: ${checked.reason})`,
    );
  }
  const indexed = record.status === "active" ? dueShardKey(record.shard) : undefined;
  if (record.dueShard !== indexed) {
    throw new UnbillableRecordError(
      `the client built a ${record.status} record with dueShard ${String(record.dueShard)}, expected ${String(indexed)}`,
    );
  }
  return record;
}
