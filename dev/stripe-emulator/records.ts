/**
 * What the emulator stores. These are its own records, not Stripe's JSON: render.ts turns them into the
 * pinned API version's objects. Times are epoch seconds, as in Stripe's `created`.
 */
import type { Metadata } from "./metadata";
import type { Decline } from "./test-cards";

export type PaymentIntentStatus =
  | "requires_payment_method"
  | "requires_confirmation"
  | "requires_action"
  | "processing"
  | "requires_capture"
  | "canceled"
  | "succeeded";

/** The last failed payment attempt, shown as `last_payment_error`. */
export interface PaymentError extends Decline {
  readonly chargeId: string | null;
  readonly paymentMethodId: string;
}

/** What the customer must do before an on-session payment can go on (3-D Secure). */
export type NextAction =
  { readonly kind: "use_stripe_sdk" } | { readonly kind: "redirect_to_url"; readonly returnUrl: string };

export interface AutomaticPaymentMethods {
  readonly allowRedirects: "always" | "never";
}

export interface PaymentIntentRecord {
  readonly id: string;
  /** Creation order, to break ties between objects created in the same second. */
  readonly seq: number;
  readonly created: number;
  readonly livemode: boolean;
  readonly clientSecret: string;
  amount: number;
  currency: string;
  customer: string | null;
  paymentMethod: string | null;
  description: string | null;
  receiptEmail: string | null;
  statementDescriptor: string | null;
  statementDescriptorSuffix: string | null;
  setupFutureUsage: "on_session" | "off_session" | null;
  metadata: Metadata;
  /** Null when disabled with `automatic_payment_methods[enabled]=false`. */
  automaticPaymentMethods: AutomaticPaymentMethods | null;
  /** `allowed_payment_method_types` (this API version's replacement for `payment_method_types`). */
  allowedPaymentMethodTypes: string[] | null;
  excludedPaymentMethodTypes: string[] | null;
  status: PaymentIntentStatus;
  latestCharge: string | null;
  lastPaymentError: PaymentError | null;
  nextAction: NextAction | null;
  amountReceived: number;
  canceledAt: number | null;
  cancellationReason: string | null;
  /** Emulator bookkeeping for the admin snapshot: keys of requests that changed it, and attempts to pay. */
  idempotencyKeys: string[];
  confirmations: number;
}

export interface ChargeRecord {
  readonly id: string;
  readonly seq: number;
  readonly created: number;
  readonly livemode: boolean;
  readonly amount: number;
  readonly currency: string;
  readonly customer: string | null;
  readonly paymentIntent: string;
  readonly paymentMethod: string;
  readonly description: string | null;
  readonly metadata: Metadata;
  readonly status: "succeeded" | "failed";
  readonly failure: Decline | null;
  readonly balanceTransaction: string | null;
  amountRefunded: number;
}

export interface RefundRecord {
  readonly id: string;
  readonly seq: number;
  readonly created: number;
  readonly livemode: boolean;
  readonly amount: number;
  readonly currency: string;
  readonly charge: string;
  readonly paymentIntent: string;
  readonly customer: string | null;
  readonly paymentMethod: string;
  readonly reason: string | null;
  readonly metadata: Metadata;
  readonly status: "succeeded";
  readonly balanceTransaction: string;
}

export interface PaymentMethodRecord {
  readonly id: string;
  readonly seq: number;
  readonly created: number;
  readonly livemode: boolean;
  /** The test id it was made from (`pm_card_visa`...), which decides how it behaves. */
  readonly testCard: string;
  readonly expMonth: number;
  readonly expYear: number;
  readonly fingerprint: string;
  customer: string | null;
  metadata: Metadata;
}

export interface CustomerRecord {
  readonly id: string;
  readonly seq: number;
  readonly created: number;
  readonly livemode: boolean;
  email: string | null;
  name: string | null;
  description: string | null;
  phone: string | null;
  metadata: Metadata;
  defaultPaymentMethod: string | null;
}
