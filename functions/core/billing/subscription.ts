/**
 * The subscription record as stored, and the check every record passes before it is billed. Data read
 * from the table can have any shape (hand edits, bad imports), so validation takes `unknown`, never
 * coerces (a numeric string is bad data, not a number), and names the first field at fault. A record
 * that fails is quarantined with that reason; the run goes on. The rules themselves are the zod
 * definition in subscription-schema.ts, which the client and the import share.
 */
import type { BillingInterval } from "./calendar";
import type { CurrencyCode } from "./money";
import {
  readSubscriptionRecord,
  SUBSCRIPTION_STATUSES,
  type SubscriptionStatus,
} from "./subscription-schema";
import { UnreadableNumber } from "./unreadable-number";

export { UnreadableNumber, SUBSCRIPTION_STATUSES, type SubscriptionStatus };

export interface Subscription {
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

export type SubscriptionCheck =
  | { readonly ok: true; readonly subscription: Subscription }
  | { readonly ok: false; readonly reason: string; readonly field: string };

/** The `dueShard` value of a shard's billable subscriptions: the due index's partition key. */
export function dueShardKey(shard: number): string {
  return `shard-${shard}`;
}

/** Statuses that take a record out of billing on purpose. Any other status, however spelt, is billing's. */
const INACTIVE_STATUSES: readonly unknown[] = SUBSCRIPTION_STATUSES.filter((s) => s !== "active");

/**
 * Whether a stored record is meant to be billed: anything but a known inactive status. "ACTIVE", a
 * missing or garbled status count as billing's, so they are billed or quarantined, never skipped.
 */
export function looksActive(raw: Readonly<Record<string, unknown>>): boolean {
  return !INACTIVE_STATUSES.includes(raw.status);
}

/**
 * The record as a Subscription, or the first reason it cannot be billed and the field at fault. Fields
 * not in the type (index keys and the like) are left out of the result.
 */
export function validateSubscription(raw: unknown): SubscriptionCheck {
  const parsed = readSubscriptionRecord(raw);
  if (!parsed.ok) return { ok: false, field: parsed.field, reason: parsed.reason };
  const r = parsed.record;
  // Monthly billing ignores anchorMonth; one that is there (and sensible) is kept, as stored.
  const anchorMonth = r.anchorMonth ?? undefined;
  return {
    ok: true,
    subscription: {
      subscriptionId: r.subscriptionId,
      shard: r.shard,
      customerId: r.customerId,
      paymentMethodId: r.paymentMethodId,
      amount: r.amount,
      currency: r.currency,
      interval: r.interval,
      anchorDay: r.anchorDay,
      ...(anchorMonth !== undefined && { anchorMonth }),
      status: r.status,
      nextPeriodStart: r.nextPeriodStart,
      nextAttemptAt: r.nextAttemptAt,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
    },
  };
}
