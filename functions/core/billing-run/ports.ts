/**
 * What the billing run needs from storage, as ports. The DynamoDB adapters (functions/aws/) implement
 * them; every write here is fenced by the lease token it is given.
 */
import { BillingJobError } from "../errors";
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
  /** A record too broken to bill: leaves the due index, whatever its period, if still as it was read. */
  | {
      readonly kind: "quarantine-invalid";
      readonly subscriptionId: string;
      readonly reason: string;
      readonly observedUpdatedAt: unknown;
    };

export type SaveResult =
  | { readonly ok: true }
  /** Another contender holds the lease now: nothing written; stop. */
  | { readonly ok: false; readonly reason: "fenced-out" }
  /** The charge record changed since it was read (or the subscription moved); here is the record now. */
  | { readonly ok: false; readonly reason: "conflict"; readonly current: ChargeRecord | null };

/**
 * A stored record this code cannot read as it is (a number beyond JavaScript's exact range, a charge
 * record of no known shape): the run quarantines the subscription with this reason and goes on.
 */
export class UnreadableRecordError extends BillingJobError {
  override readonly name: string = "UnreadableRecordError";

  constructor(
    readonly field: string,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

export type QuarantineResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: "fenced-out" }
  /** The subscription is gone, or changed since it was read (someone fixed it): nothing written. */
  | { readonly ok: false; readonly reason: "gone" };

export interface SubscriptionPage {
  readonly items: readonly Readonly<Record<string, unknown>>[];
  /** Opaque; null once the whole table was read. */
  readonly cursor: string | null;
}

export interface SubscriptionSource {
  /** Every subscription, a page at a time (a scan: for the reachability sweep only). */
  scanSubscriptions(cursor: string | null, pageSize: number): Promise<SubscriptionPage>;
  /** Due subscriptions of a shard at `asOf`, oldest first, a page at a time (an index: may lag writes). */
  queryDue(shard: number, asOf: string, pageSize: number, cursor: string | null): Promise<DuePage>;
  /**
   * The subscription as stored, strongly consistent; unknown shape (validated by the caller). A number
   * that cannot be read exactly comes as an UnreadableNumber, never rounded.
   */
  getSubscription(subscriptionId: string): Promise<Record<string, unknown> | null>;
}

export interface ChargeLedger {
  /** The period's record, strongly consistent; UnreadableRecordError if it is of no known shape. */
  getCharge(subscriptionId: string, periodStart: string): Promise<ChargeRecord | null>;
  /**
   * Takes a subscription out of billing (status quarantined, out of the due index) without a charge
   * record, fenced by `token`; only if it is still as it was read (`updatedAt`, when it had one).
   */
  quarantineSubscription(
    token: LeaseToken,
    subscriptionId: string,
    reason: string,
    observedUpdatedAt: unknown,
  ): Promise<QuarantineResult>;
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
