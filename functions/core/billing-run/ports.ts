/**
 * What the billing run needs from storage, as ports. The DynamoDB adapters (functions/aws/) implement
 * them; every write here is fenced by the lease token it is given.
 */
import type { LeaseToken } from "../lease/lease";
import type { ChargeRecord } from "../billing/charge-state";

export interface DueRef {
  readonly subscriptionId: string;
  readonly nextAttemptAt: string;
}

export interface DuePage {
  readonly items: readonly DueRef[];
  /** Opaque; null on the last page. */
  readonly cursor: string | null;
}

/**
 * A change to the subscription made in the same atomic write as the charge record, always conditioned on
 * the subscription still being at `periodStart` (so a period can never be advanced twice).
 */
export type SubscriptionChange =
  /** Claiming: the subscription must still be active and at this period. Nothing is written to it. */
  | { readonly kind: "expect-due"; readonly subscriptionId: string; readonly periodStart: string }
  /** Paid: move to the next period. */
  | {
      readonly kind: "advance";
      readonly subscriptionId: string;
      readonly periodStart: string;
      readonly nextPeriodStart: string;
    }
  /** Declined with a retry ahead: stay on this period, come due again at `nextAttemptAt`. */
  | {
      readonly kind: "reschedule";
      readonly subscriptionId: string;
      readonly periodStart: string;
      readonly nextAttemptAt: string;
    }
  /** Out of automatic billing until someone acts: leaves the due index. */
  | {
      readonly kind: "deactivate";
      readonly subscriptionId: string;
      readonly periodStart: string;
      readonly status: "past_due" | "needs_customer_action" | "quarantined";
      readonly reason: string;
    }
  /** A record too broken to bill (no readable period, say): leaves the due index, whatever its period. */
  | { readonly kind: "quarantine-invalid"; readonly subscriptionId: string; readonly reason: string };

export type SaveResult =
  | { readonly ok: true }
  /** Another contender holds the lease now: nothing written; stop. */
  | { readonly ok: false; readonly reason: "fenced-out" }
  /** The charge record changed since it was read (or the subscription moved); here is the record now. */
  | { readonly ok: false; readonly reason: "conflict"; readonly current: ChargeRecord | null };

export interface SubscriptionSource {
  /** Due subscriptions of a shard at `asOf`, oldest first, a page at a time (an index: may lag writes). */
  queryDue(shard: number, asOf: string, pageSize: number, cursor: string | null): Promise<DuePage>;
  /** The subscription as stored, strongly consistent; unknown shape (validated by the caller). */
  getSubscription(subscriptionId: string): Promise<Record<string, unknown> | null>;
}

export interface ChargeLedger {
  getCharge(subscriptionId: string, periodStart: string): Promise<ChargeRecord | null>;
  /**
   * Writes `next` if the stored record's version is still `expectedVersion` (null: no record yet), and
   * applies `subscription` in the same transaction, fenced by `token`.
   */
  saveCharge(
    token: LeaseToken,
    next: ChargeRecord,
    expectedVersion: number | null,
    subscription: SubscriptionChange,
  ): Promise<SaveResult>;
}
