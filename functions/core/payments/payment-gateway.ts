/**
 * The port to the payment provider. The Stripe adapter (functions/stripe/) implements it; nothing else in
 * the code sees an SDK type or error. Every outcome is a value, never an exception, because each one
 * decides what the ledger records next.
 */

export type PaymentIntentStatus =
  | "requires_payment_method"
  | "requires_confirmation"
  | "requires_action"
  | "processing"
  | "requires_capture"
  | "succeeded"
  | "canceled";

export interface PaymentIntentView {
  readonly id: string;
  readonly status: PaymentIntentStatus;
  readonly amount: number;
  readonly currency: string;
  readonly customerId: string | null;
  readonly latestChargeId: string | null;
  readonly metadata: Readonly<Record<string, string>>;
  /** Epoch seconds, Stripe's clock. */
  readonly created: number;
  /** Why the last confirmation failed, if it did. */
  readonly lastError: { readonly code: string | null; readonly declineCode: string | null } | null;
}

export interface NewPaymentIntent {
  readonly amount: number;
  readonly currency: string;
  readonly customerId: string;
  readonly paymentMethodId: string;
  readonly description: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly idempotencyKey: string;
}

/**
 * Asked right before each request leaves the process, the first try and every retry, after any wait
 * (rate limiter, backoff): null to send it, or why not. The billing run passes "the lease this renewal
 * acts under still has safe time", so a process that was paused, or whose lease was taken over, sends
 * nothing more. The ops CLI, which holds no lease, passes nothing.
 */
export type SendGuard = () => string | null;

/** Outcomes every call can have besides its own. */
export type CommonOutcome =
  /** The request may or may not have taken effect (timeout, dropped connection, 5xx). Look it up later. */
  | { readonly kind: "in_doubt"; readonly reason: string }
  /** The guard said no before the first try: nothing reached the provider. */
  | { readonly kind: "not_sent"; readonly reason: string }
  /** Refused before anything happened (429); retrying later is safe. */
  | { readonly kind: "rate_limited" }
  /** Refused as invalid (400/401/403/404); retrying the same request will not help. */
  | { readonly kind: "rejected"; readonly code: string | null; readonly message: string };

export type CreateOutcome =
  { readonly kind: "created"; readonly paymentIntent: PaymentIntentView } | CommonOutcome;

export type ConfirmOutcome =
  | { readonly kind: "succeeded"; readonly paymentIntentId: string; readonly chargeId: string | null }
  | {
      readonly kind: "declined";
      readonly paymentIntentId: string;
      readonly code: string;
      readonly declineCode: string | null;
    }
  /** Off-session payment needs the customer (3-D Secure): never retried off-session. */
  | { readonly kind: "needs_customer_action"; readonly paymentIntentId: string; readonly code: string }
  /** The PaymentIntent is not confirmable (already succeeded or canceled): retrieve it to learn which. */
  | { readonly kind: "unexpected_state"; readonly paymentIntentId: string; readonly message: string }
  | CommonOutcome;

export type RetrieveOutcome =
  | { readonly kind: "found"; readonly paymentIntent: PaymentIntentView }
  | { readonly kind: "not_found" }
  | CommonOutcome;

export type CancelOutcome =
  | { readonly kind: "canceled"; readonly paymentIntent: PaymentIntentView }
  /** Not cancelable (already succeeded, processing, or canceled before): retrieve it to learn which. */
  | { readonly kind: "unexpected_state"; readonly paymentIntentId: string; readonly message: string }
  | { readonly kind: "not_found" }
  | CommonOutcome;

export type FindOutcome =
  { readonly kind: "found"; readonly paymentIntents: readonly PaymentIntentView[] } | CommonOutcome;

export interface PeriodLookup {
  readonly customerId: string;
  readonly subscriptionId: string;
  readonly periodStart: string;
  /** Look only at PaymentIntents created at or after this (epoch seconds); keeps the list short. */
  readonly createdSince: number;
}

export interface PaymentGateway {
  /** Creates an unconfirmed PaymentIntent (moves no money). */
  createPaymentIntent(request: NewPaymentIntent, guard?: SendGuard): Promise<CreateOutcome>;
  /** Confirms off-session. A PaymentIntent succeeds at most once, whoever confirms it and how often. */
  confirmPaymentIntent(
    id: string,
    paymentMethodId: string,
    idempotencyKey: string,
    guard?: SendGuard,
  ): Promise<ConfirmOutcome>;
  /**
   * Cancels a PaymentIntent that has not succeeded, so Stripe refuses any later confirmation of it (a
   * late request from a paused process, a retry after the key was pruned).
   */
  cancelPaymentIntent(id: string, idempotencyKey: string, guard?: SendGuard): Promise<CancelOutcome>;
  retrievePaymentIntent(id: string, guard?: SendGuard): Promise<RetrieveOutcome>;
  /**
   * The period's PaymentIntents by a strongly consistent list (customer and creation time, filtered on
   * the period's metadata). Used when a create's outcome is unknown and no id was recorded.
   */
  findPaymentIntentsForPeriod(lookup: PeriodLookup, guard?: SendGuard): Promise<FindOutcome>;
  /**
   * The job's PaymentIntents (metadata `source`) created at or after `createdSince` (epoch seconds,
   * Stripe's clock), by a strongly consistent list of the account's. For the sweep of strays.
   */
  listJobPaymentIntents(createdSince: number, guard?: SendGuard): Promise<FindOutcome>;
}

/** Metadata every renewal PaymentIntent carries: how reconciliation and look-ups map it to the ledger. */
export function renewalMetadata(
  subscriptionId: string,
  periodStart: string,
  createGeneration: number,
): Record<string, string> {
  return {
    subscription_id: subscriptionId,
    period_start: periodStart,
    create_generation: String(createGeneration),
    source: JOB_METADATA_SOURCE,
  };
}

/** The create generation a PaymentIntent was made under (its metadata); 0 for those made before it was kept. */
export function createGenerationOf(pi: PaymentIntentView): number {
  const value = Number(pi.metadata.create_generation ?? "0");
  return Number.isSafeInteger(value) && value >= 0 ? value : -1;
}

/** The `source` metadata value that marks a PaymentIntent as this job's. */
export const JOB_METADATA_SOURCE = "lease-billing";

/** Epoch seconds, inclusive at both ends, on Stripe's clock. */
export interface CreatedRange {
  readonly gte: number;
  readonly lte: number;
}

/** A PaymentIntent with what reconciliation needs to know of its latest charge. */
export interface ReconcilablePaymentIntent extends PaymentIntentView {
  /** Minor units refunded of the latest charge; 0 when nothing was refunded or there is no charge. */
  readonly amountRefunded: number;
}

export type ListOutcome =
  { readonly kind: "found"; readonly paymentIntents: readonly ReconcilablePaymentIntent[] } | CommonOutcome;

export type ReconcileRetrieveOutcome =
  | { readonly kind: "found"; readonly paymentIntent: ReconcilablePaymentIntent }
  | { readonly kind: "not_found" }
  | CommonOutcome;

/**
 * Read-only look-ups for reconciliation (the ops CLI), apart from PaymentGateway because the billing run
 * never needs them. Both are strongly consistent (list and retrieve, never search).
 */
export interface PaymentIntentLister {
  /** Every PaymentIntent of the account created in `range`, newest first, with refunds. */
  listPaymentIntents(range: CreatedRange): Promise<ListOutcome>;
  /** One PaymentIntent with refunds, by id. */
  retrievePaymentIntentWithRefunds(id: string): Promise<ReconcileRetrieveOutcome>;
}
