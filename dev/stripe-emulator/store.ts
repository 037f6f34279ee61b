/**
 * The emulator's state, in memory. Handlers run synchronously against it, so each request's changes are
 * atomic: Node runs one handler at a time, and nothing awaits in the middle of a state change.
 * Objects are global, not per account (see docs/stripe-emulator.md); idempotency keys are per account.
 */
import type {
  ChargeRecord,
  CustomerRecord,
  PaymentIntentRecord,
  PaymentMethodRecord,
  RefundRecord,
} from "./records";
import { SearchIndex } from "./search-index";

/** The persisted form of the store (stateFile). */
export interface StoreData {
  readonly seq: number;
  readonly customers: CustomerRecord[];
  readonly paymentMethods: PaymentMethodRecord[];
  readonly paymentIntents: PaymentIntentRecord[];
  readonly charges: ChargeRecord[];
  readonly refunds: RefundRecord[];
}

export class Store {
  readonly customers = new Map<string, CustomerRecord>();
  readonly paymentMethods = new Map<string, PaymentMethodRecord>();
  readonly paymentIntents = new Map<string, PaymentIntentRecord>();
  readonly charges = new Map<string, ChargeRecord>();
  readonly refunds = new Map<string, RefundRecord>();
  readonly searchIndex: SearchIndex;
  private seq = 0;

  constructor(searchIndexingDelayMs: number) {
    this.searchIndex = new SearchIndex(searchIndexingDelayMs);
  }

  nextSeq(): number {
    return ++this.seq;
  }

  /** Call after every change to a PaymentIntent, so that Search sees it after the indexing delay. */
  paymentIntentChanged(pi: PaymentIntentRecord, nowMs: number): void {
    this.searchIndex.record(pi, nowMs);
  }

  clear(): void {
    this.customers.clear();
    this.paymentMethods.clear();
    this.paymentIntents.clear();
    this.charges.clear();
    this.refunds.clear();
    this.searchIndex.clear();
  }

  toData(): StoreData {
    return {
      seq: this.seq,
      customers: [...this.customers.values()],
      paymentMethods: [...this.paymentMethods.values()],
      paymentIntents: [...this.paymentIntents.values()],
      charges: [...this.charges.values()],
      refunds: [...this.refunds.values()],
    };
  }

  /** Restores persisted state; restored PaymentIntents are searchable at once. */
  load(data: StoreData, nowMs: number): void {
    this.clear();
    this.seq = data.seq;
    for (const c of data.customers) this.customers.set(c.id, c);
    for (const pm of data.paymentMethods) this.paymentMethods.set(pm.id, pm);
    for (const pi of data.paymentIntents) {
      this.paymentIntents.set(pi.id, pi);
      this.searchIndex.record(pi, nowMs, 0);
    }
    for (const ch of data.charges) this.charges.set(ch.id, ch);
    for (const re of data.refunds) this.refunds.set(re.id, re);
  }
}

/** Newest first, as Stripe lists: by `created`, then by creation order within the same second. */
export function newestFirst<T extends { created: number; seq: number }>(a: T, b: T): number {
  return b.created - a.created || b.seq - a.seq;
}
