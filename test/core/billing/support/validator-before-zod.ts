/**
 * The run's subscription validator as it was before it was rewritten on the zod definition
 * (functions/core/billing/subscription-schema.ts), kept unchanged as the oracle of
 * test/core/billing/subscription-schema.test.ts: the rewrite must accept, refuse and explain exactly as
 * this did. Only the imports, the exports not needed here, and this comment differ from the original.
 */
import {
  daysInMonth,
  isBillingInterval,
  isCanonicalTimestamp,
  isOnAnchor,
  type BillingInterval,
} from "../../../../functions/core/billing/calendar";
import { checkAmount, type CurrencyCode } from "../../../../functions/core/billing/money";
import { UnreadableNumber, describeUnreadable } from "../../../../functions/core/billing/unreadable-number";

type SubscriptionStatus = "active" | "past_due" | "needs_customer_action" | "quarantined" | "canceled";

const SUBSCRIPTION_STATUSES: readonly SubscriptionStatus[] = [
  "active",
  "past_due",
  "needs_customer_action",
  "quarantined",
  "canceled",
];

interface Subscription {
  readonly subscriptionId: string;
  /** Which lease shard bills it. */
  readonly shard: number;
  /** Stripe customer (`cus_...`). */
  readonly customerId: string;
  /** Saved card for off-session charges (`pm_...`). */
  readonly paymentMethodId: string;
  /** Minor units of `currency`, frozen into each period's charge when it is claimed. */
  readonly amount: number;
  readonly currency: CurrencyCode;
  readonly interval: BillingInterval;
  /** 1..31; days past a month's end clamp to its last day (docs/billing-policy.md). */
  readonly anchorDay: number;
  /** 1..12; yearly subscriptions only. */
  readonly anchorMonth?: number;
  readonly status: SubscriptionStatus;
  /** Start of the oldest period not yet paid. */
  readonly nextPeriodStart: string;
  /** When the run should next look at it: the period start, or a decline's retry time. */
  readonly nextAttemptAt: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

type SubscriptionCheck =
  | { readonly ok: true; readonly subscription: Subscription }
  | { readonly ok: false; readonly reason: string; readonly field: string };

/** Why a record cannot be billed: the first field at fault. */
class Problem {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {}
}

function shown(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value instanceof UnreadableNumber) return describeUnreadable(value);
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  return typeof value;
}

function text(r: Record<string, unknown>, field: string, why: string): string | Problem {
  const value = r[field];
  return typeof value === "string" && value.trim() !== ""
    ? value
    : new Problem(field, `${field} is missing: ${why}`);
}

function wholeNumber(r: Record<string, unknown>, field: string, min: number, max: number): number | Problem {
  const value = r[field];
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
    ? value
    : new Problem(field, `${field} must be a whole number from ${min} to ${max}, got ${shown(value)}`);
}

function timestamp(r: Record<string, unknown>, field: string): string | Problem {
  const value = r[field];
  return isCanonicalTimestamp(value)
    ? value
    : new Problem(
        field,
        `${field} must be a UTC timestamp like 2026-01-31T00:00:00.000Z, got ${shown(value)}`,
      );
}

function isStatus(value: unknown): value is SubscriptionStatus {
  return SUBSCRIPTION_STATUSES.includes(value as SubscriptionStatus);
}

function check(raw: unknown): Subscription | Problem {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return new Problem("record", "the record is not an object");
  }
  const r = raw as Record<string, unknown>;

  const subscriptionId = text(r, "subscriptionId", "every record needs its id");
  if (subscriptionId instanceof Problem) return subscriptionId;
  const shard = wholeNumber(r, "shard", 0, Number.MAX_SAFE_INTEGER);
  if (shard instanceof Problem) return shard;
  const status = r.status;
  if (!isStatus(status)) {
    return new Problem(
      "status",
      `status must be one of ${SUBSCRIPTION_STATUSES.join(", ")}, got ${shown(status)}`,
    );
  }

  const customerId = text(r, "customerId", "there is no customer to charge");
  if (customerId instanceof Problem) return customerId;
  const paymentMethodId = text(r, "paymentMethodId", "there is no saved card to charge");
  if (paymentMethodId instanceof Problem) return paymentMethodId;
  if (!paymentMethodId.startsWith("pm_")) {
    return new Problem(
      "paymentMethodId",
      `paymentMethodId must be a Stripe payment method (pm_...), got ${shown(paymentMethodId)}`,
    );
  }

  const money = checkAmount(r.amount, r.currency);
  if (!money.ok) return new Problem(money.field, money.reason);

  const interval = r.interval;
  if (!isBillingInterval(interval)) {
    return new Problem("interval", `interval must be "month" or "year", got ${shown(interval)}`);
  }
  const anchorDay = wholeNumber(r, "anchorDay", 1, 31);
  if (anchorDay instanceof Problem) return anchorDay;
  let anchorMonth: number | undefined;
  if (interval === "year") {
    const month = wholeNumber(r, "anchorMonth", 1, 12);
    if (month instanceof Problem) return month;
    // 29 February is a real anchor (28 Feb in common years); 30 February or 31 April is not.
    if (anchorDay > daysInMonth(2028, month)) {
      return new Problem("anchorDay", `anchorDay ${anchorDay} does not exist in month ${month}`);
    }
    anchorMonth = month;
  } else if (r.anchorMonth !== undefined && r.anchorMonth !== null) {
    // Ignored by monthly billing, but a value that is there must still make sense.
    const month = wholeNumber(r, "anchorMonth", 1, 12);
    if (month instanceof Problem) return month;
    anchorMonth = month;
  }

  const nextPeriodStart = timestamp(r, "nextPeriodStart");
  if (nextPeriodStart instanceof Problem) return nextPeriodStart;
  if (!isOnAnchor(nextPeriodStart, interval, anchorDay, anchorMonth)) {
    const anchor = interval === "year" ? `day ${anchorDay} of month ${anchorMonth}` : `day ${anchorDay}`;
    return new Problem(
      "nextPeriodStart",
      `nextPeriodStart ${nextPeriodStart} is not on the anchor (${anchor})`,
    );
  }
  const nextAttemptAt = timestamp(r, "nextAttemptAt");
  if (nextAttemptAt instanceof Problem) return nextAttemptAt;
  if (nextAttemptAt < nextPeriodStart) {
    // The due index would offer it before its period starts; a period is never charged early.
    return new Problem(
      "nextAttemptAt",
      `nextAttemptAt ${nextAttemptAt} is before nextPeriodStart ${nextPeriodStart}: a period is never charged before it starts`,
    );
  }
  const createdAt = timestamp(r, "createdAt");
  if (createdAt instanceof Problem) return createdAt;
  const updatedAt = timestamp(r, "updatedAt");
  if (updatedAt instanceof Problem) return updatedAt;

  return {
    subscriptionId,
    shard,
    customerId,
    paymentMethodId,
    amount: money.amount,
    currency: money.currency,
    interval,
    anchorDay,
    ...(anchorMonth !== undefined && { anchorMonth }),
    status,
    nextPeriodStart,
    nextAttemptAt,
    createdAt,
    updatedAt,
  };
}

/**
 * The record as a Subscription, or the first reason it cannot be billed and the field at fault. Fields
 * not in the type (index keys and the like) are left out of the result.
 */
export function validateSubscriptionBeforeZod(raw: unknown): SubscriptionCheck {
  const checked = check(raw);
  return checked instanceof Problem
    ? { ok: false, reason: checked.reason, field: checked.field }
    : { ok: true, subscription: checked };
}
