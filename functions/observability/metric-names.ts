/**
 * Metric names and the namespace, shared by the handler (which emits them as EMF through Powertools
 * Metrics) and the CDK stack (whose alarms watch them). One list, so an alarm can never watch a metric
 * that nobody emits.
 */
export const METRICS_NAMESPACE = "LeaseBilling";
/** Powertools adds `service` as a default dimension; alarms must use the same value. */
export const SERVICE_NAME = "lease-billing";

export const METRIC = {
  chargesSucceeded: "ChargesSucceeded",
  chargesDeclined: "ChargesDeclined",
  chargesNeedingAction: "ChargesNeedingCustomerAction",
  chargesInDoubt: "ChargesInDoubt",
  chargesQuarantined: "ChargesQuarantined",
  /** Emitted with an extra `currency` dimension, in minor units. */
  amountCharged: "AmountCharged",
  leaseAcquired: "LeaseAcquired",
  leaseLost: "LeaseLost",
  runDuration: "RunDuration",
  subscriptionsLeftDue: "SubscriptionsLeftDue",
  /** 1 each time a leader finishes a run with nothing left due: the heartbeat the "billing stopped" alarm watches. */
  runCompleted: "RunCompleted",
  /** Records meant for billing that no run could reach where they were; the sweep quarantined them. */
  unreachableSubscriptions: "UnreachableSubscriptions",
  /** The job's PaymentIntents that were not the ledger's for their period, canceled by the sweep. */
  strayPaymentIntentsCanceled: "StrayPaymentIntentsCanceled",
  /** After each run that led a shard: renewals due and not settled, over the billable shards (backlog.ts). */
  dueBacklog: "DueBacklog",
  /** After each run that led a shard: how long the oldest due renewal has waited, in seconds; 0 if none. */
  oldestDueAge: "OldestDueAgeSeconds",
  /** Stripe requests one invocation paced (budget-pacer.ts); their sum over leaders meets the budget. */
  stripeRequests: "StripeRequests",
  /** 429s Stripe answered for the account's rate, per invocation. */
  stripeRateLimited: "StripeRateLimited",
  /** The most leaders an invocation's counts of the lease table saw (its share was the budget over this). */
  leadersActive: "LeadersActive",
  /** 1 each time a contender took over a lease whose holder had not released it. */
  leaseTakeovers: "LeaseTakeovers",
  /** 1 each time an invocation that stopped for its time budget invoked the next link of its run. */
  continuationLinksSent: "ContinuationLinksSent",
  /** 1 each time that Invoke failed: the run waits for the next schedule tick instead. */
  continuationLinksFailed: "ContinuationLinksFailed",
} as const;
