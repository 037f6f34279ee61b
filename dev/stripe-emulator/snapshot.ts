/** The admin view of the emulator's state: what `GET /__emulator/state` and `snapshot()` return. */
import type { FaultPlan } from "./faults";
import type { RequestCounts } from "./request-log";
import type { Store } from "./store";

export interface PaymentIntentSummary {
  id: string;
  status: string;
  amount: number;
  currency: string;
  customer: string | null;
  payment_method: string | null;
  metadata: Record<string, string>;
  created: number;
  latest_charge: string | null;
  /** Keys of the requests that created, confirmed or canceled it (SDK-generated keys included). */
  idempotencyKeys: string[];
  /** Payment attempts that reached the card (successful, declined or needing action). */
  confirmations: number;
}

export interface ChargeSummary {
  id: string;
  payment_intent: string;
  amount: number;
  currency: string;
  status: "succeeded" | "failed";
  refunded: boolean;
  amount_refunded: number;
  created: number;
}

export interface RefundSummary {
  id: string;
  charge: string;
  payment_intent: string;
  amount: number;
  currency: string;
  status: string;
  created: number;
}

export interface CustomerSummary {
  id: string;
  email: string | null;
  name: string | null;
  metadata: Record<string, string>;
  created: number;
}

export interface AdminSnapshot {
  now: number;
  apiVersion: string;
  paymentIntents: PaymentIntentSummary[];
  charges: ChargeSummary[];
  refunds: RefundSummary[];
  customers: CustomerSummary[];
  requestCounts: RequestCounts;
  faults: FaultPlan;
  pendingInjections: number;
  /** Requests a `hold` fault is keeping (GET /__emulator/held lists them). */
  heldRequests: number;
}

const bySeq = <T extends { seq: number }>(a: T, b: T): number => a.seq - b.seq;

export function buildSnapshot(
  store: Store,
  extras: Pick<
    AdminSnapshot,
    "now" | "apiVersion" | "requestCounts" | "faults" | "pendingInjections" | "heldRequests"
  >,
): AdminSnapshot {
  return {
    now: extras.now,
    apiVersion: extras.apiVersion,
    paymentIntents: [...store.paymentIntents.values()].sort(bySeq).map((pi) => ({
      id: pi.id,
      status: pi.status,
      amount: pi.amount,
      currency: pi.currency,
      customer: pi.customer,
      payment_method: pi.paymentMethod,
      metadata: { ...pi.metadata },
      created: pi.created,
      latest_charge: pi.latestCharge,
      idempotencyKeys: [...pi.idempotencyKeys],
      confirmations: pi.confirmations,
    })),
    charges: [...store.charges.values()].sort(bySeq).map((ch) => ({
      id: ch.id,
      payment_intent: ch.paymentIntent,
      amount: ch.amount,
      currency: ch.currency,
      status: ch.status,
      refunded: ch.status === "succeeded" && ch.amountRefunded >= ch.amount,
      amount_refunded: ch.amountRefunded,
      created: ch.created,
    })),
    refunds: [...store.refunds.values()].sort(bySeq).map((re) => ({
      id: re.id,
      charge: re.charge,
      payment_intent: re.paymentIntent,
      amount: re.amount,
      currency: re.currency,
      status: re.status,
      created: re.created,
    })),
    customers: [...store.customers.values()].sort(bySeq).map((c) => ({
      id: c.id,
      email: c.email,
      name: c.name,
      metadata: { ...c.metadata },
      created: c.created,
    })),
    requestCounts: extras.requestCounts,
    faults: extras.faults,
    pendingInjections: extras.pendingInjections,
    heldRequests: extras.heldRequests,
  };
}
