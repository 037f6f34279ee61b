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
} as const;
