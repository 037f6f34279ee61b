/**
 * Records rendered as Stripe objects of the pinned API version (api-version.ts): every field the
 * version's PaymentIntent, Charge, Refund, Customer and PaymentMethod carry, with the values an
 * off-session card payment has. Expandable fields are ids unless the request asked to expand them.
 */
import { docUrl } from "./errors";
import type { Json, JsonObject } from "./json";
import type {
  ChargeRecord,
  CustomerRecord,
  PaymentError,
  PaymentIntentRecord,
  PaymentMethodRecord,
  RefundRecord,
} from "./records";
import type { Store } from "./store";
import { testCard } from "./test-cards";

/** Paths to expand, e.g. `latest_charge` (list endpoints strip their leading `data.`). */
export type Expansions = ReadonlySet<string>;
const NONE: Expansions = new Set();

const NULL_ADDRESS: JsonObject = {
  city: null,
  country: null,
  line1: null,
  line2: null,
  postal_code: null,
  state: null,
};

function billingDetails(): JsonObject {
  return { address: NULL_ADDRESS, email: null, name: null, phone: null, tax_id: null };
}

function cardDetails(pm: PaymentMethodRecord): JsonObject {
  const card = testCard(pm.testCard);
  const brand = card?.brand ?? "visa";
  return {
    brand,
    checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "pass" },
    country: "US",
    display_brand: brand,
    exp_month: pm.expMonth,
    exp_year: pm.expYear,
    fingerprint: pm.fingerprint,
    funding: "credit",
    generated_from: null,
    last4: card?.last4 ?? "4242",
    networks: { available: [brand], preferred: null },
    regulated_status: "unregulated",
    three_d_secure_usage: { supported: true },
    wallet: null,
  };
}

export function renderPaymentMethod(pm: PaymentMethodRecord): JsonObject {
  return {
    id: pm.id,
    object: "payment_method",
    allow_redisplay: "unspecified",
    billing_details: billingDetails(),
    card: cardDetails(pm),
    created: pm.created,
    customer: pm.customer,
    customer_account: null,
    livemode: pm.livemode,
    metadata: { ...pm.metadata },
    type: "card",
  };
}

export function renderCustomer(customer: CustomerRecord): JsonObject {
  return {
    id: customer.id,
    object: "customer",
    address: null,
    balance: 0,
    created: customer.created,
    currency: null,
    customer_account: null,
    default_source: null,
    delinquent: false,
    description: customer.description,
    discount: null,
    email: customer.email,
    invoice_prefix: customer.id.slice(4, 12).toUpperCase(),
    invoice_settings: {
      custom_fields: null,
      default_payment_method: customer.defaultPaymentMethod,
      footer: null,
      rendering_options: null,
    },
    livemode: customer.livemode,
    metadata: { ...customer.metadata },
    name: customer.name,
    next_invoice_sequence: 1,
    phone: customer.phone,
    preferred_locales: [],
    shipping: null,
    tax_exempt: "none",
    test_clock: null,
  };
}

function outcome(charge: ChargeRecord): JsonObject {
  if (charge.status === "succeeded") {
    return {
      advice_code: null,
      network_advice_code: null,
      network_decline_code: null,
      network_status: "approved_by_network",
      reason: null,
      risk_level: "normal",
      risk_score: 32,
      seller_message: "Payment complete.",
      type: "authorized",
    };
  }
  const failure = charge.failure;
  return {
    advice_code: null,
    network_advice_code: null,
    network_decline_code: null,
    network_status: "declined_by_network",
    reason: failure?.declineCode ?? null,
    risk_level: "normal",
    risk_score: 32,
    seller_message: "The bank did not return any further details with this decline.",
    type: "issuer_declined",
  };
}

export function renderCharge(charge: ChargeRecord, store: Store): JsonObject {
  const pm = store.paymentMethods.get(charge.paymentMethod);
  const succeeded = charge.status === "succeeded";
  return {
    id: charge.id,
    object: "charge",
    amount: charge.amount,
    amount_captured: succeeded ? charge.amount : 0,
    amount_refunded: charge.amountRefunded,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: charge.balanceTransaction,
    billing_details: billingDetails(),
    calculated_statement_descriptor: "STRIPE EMULATOR",
    captured: succeeded,
    created: charge.created,
    currency: charge.currency,
    customer: charge.customer,
    description: charge.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: charge.failure?.code ?? null,
    failure_message: charge.failure?.message ?? null,
    fraud_details: {},
    livemode: charge.livemode,
    metadata: { ...charge.metadata },
    on_behalf_of: null,
    outcome: outcome(charge),
    paid: succeeded,
    payment_intent: charge.paymentIntent,
    payment_method: charge.paymentMethod,
    payment_method_details: {
      card: pm ? { ...cardDetails(pm), amount_authorized: succeeded ? charge.amount : null } : null,
      type: "card",
    },
    receipt_email: null,
    receipt_number: null,
    receipt_url: null,
    refunded: succeeded && charge.amountRefunded >= charge.amount,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: charge.status,
    transfer_data: null,
    transfer_group: null,
  };
}

export function renderRefund(refund: RefundRecord): JsonObject {
  return {
    id: refund.id,
    object: "refund",
    amount: refund.amount,
    balance_transaction: refund.balanceTransaction,
    charge: refund.charge,
    created: refund.created,
    currency: refund.currency,
    customer: refund.customer,
    customer_account: null,
    destination_details: {
      card: { reference_status: "pending", reference_type: "acquirer_reference_number", type: "refund" },
      type: "card",
    },
    metadata: { ...refund.metadata },
    payment_intent: refund.paymentIntent,
    payment_method: refund.paymentMethod,
    reason: refund.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: refund.status,
    transfer_reversal: null,
  };
}

/** A card error's fields, shared by `last_payment_error` and the 402 response body. */
export function paymentErrorFields(error: PaymentError, store: Store): JsonObject {
  const pm = store.paymentMethods.get(error.paymentMethodId);
  return {
    ...(error.chargeId !== null && { charge: error.chargeId }),
    code: error.code,
    decline_code: error.declineCode,
    doc_url: docUrl(error.code),
    message: error.message,
    ...(error.param !== undefined && { param: error.param }),
    ...(pm && { payment_method: renderPaymentMethod(pm) }),
    type: "card_error",
  };
}

function nextAction(pi: PaymentIntentRecord): Json {
  const action = pi.nextAction;
  if (!action) return null;
  if (action.kind === "redirect_to_url") {
    return {
      type: "redirect_to_url",
      redirect_to_url: {
        return_url: action.returnUrl,
        url: `https://hooks.stripe.com/3d_secure_2/hosted?payment_intent=${pi.id}`,
      },
    };
  }
  return {
    type: "use_stripe_sdk",
    use_stripe_sdk: {
      type: "three_d_secure_redirect",
      stripe_js: `https://hooks.stripe.com/redirect/authenticate/${pi.id}`,
    },
  };
}

/**
 * The payment method types the PaymentIntent can be paid with. The emulator has cards only, so this is
 * `card` unless `allowed_payment_method_types` leaves cards out or `excluded_payment_method_types` excludes them.
 */
export function paymentMethodTypes(
  pi: Pick<PaymentIntentRecord, "allowedPaymentMethodTypes" | "excludedPaymentMethodTypes">,
): string[] {
  const allowed = pi.allowedPaymentMethodTypes === null || pi.allowedPaymentMethodTypes.includes("card");
  const excluded = pi.excludedPaymentMethodTypes?.includes("card") ?? false;
  return allowed && !excluded ? ["card"] : [];
}

function expandable(
  id: string | null,
  path: string,
  expand: Expansions,
  render: (id: string) => Json | undefined,
): Json {
  if (id === null || !expand.has(path)) return id;
  return render(id) ?? id;
}

export function renderPaymentIntent(
  pi: PaymentIntentRecord,
  store: Store,
  expand: Expansions = NONE,
): JsonObject {
  return {
    id: pi.id,
    object: "payment_intent",
    allowed_payment_method_types: pi.allowedPaymentMethodTypes ? [...pi.allowedPaymentMethodTypes] : null,
    amount: pi.amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: pi.amountReceived,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: pi.automaticPaymentMethods
      ? { allow_redirects: pi.automaticPaymentMethods.allowRedirects, enabled: true }
      : null,
    canceled_at: pi.canceledAt,
    cancellation_reason: pi.cancellationReason,
    capture_method: "automatic_async",
    client_secret: pi.clientSecret,
    confirmation_method: "automatic",
    created: pi.created,
    currency: pi.currency,
    customer: expandable(pi.customer, "customer", expand, (id) => {
      const c = store.customers.get(id);
      return c && renderCustomer(c);
    }),
    customer_account: null,
    description: pi.description,
    excluded_payment_method_types: pi.excludedPaymentMethodTypes ? [...pi.excludedPaymentMethodTypes] : null,
    last_payment_error: pi.lastPaymentError ? paymentErrorFields(pi.lastPaymentError, store) : null,
    latest_charge: expandable(pi.latestCharge, "latest_charge", expand, (id) => {
      const ch = store.charges.get(id);
      return ch && renderCharge(ch, store);
    }),
    livemode: pi.livemode,
    managed_payments: null,
    metadata: { ...pi.metadata },
    next_action: nextAction(pi),
    on_behalf_of: null,
    payment_method: expandable(pi.paymentMethod, "payment_method", expand, (id) => {
      const pm = store.paymentMethods.get(id);
      return pm && renderPaymentMethod(pm);
    }),
    payment_method_configuration_details: pi.automaticPaymentMethods
      ? { id: "pmc_emulator_default", parent: null }
      : null,
    payment_method_options: {
      card: { installments: null, mandate_options: null, network: null, request_three_d_secure: "automatic" },
    },
    payment_method_types: paymentMethodTypes(pi),
    payment_record: null,
    processing: null,
    receipt_email: pi.receiptEmail,
    review: null,
    setup_future_usage: pi.setupFutureUsage,
    shipping: null,
    source: null,
    statement_descriptor: pi.statementDescriptor,
    statement_descriptor_suffix: pi.statementDescriptorSuffix,
    status: pi.status,
    transfer_data: null,
    transfer_group: null,
  };
}
