/**
 * The PaymentIntent state machine and the one transition that moves money: confirmation.
 *
 *   requires_payment_method --(payment method given)--> requires_confirmation --confirm--> succeeded
 *            ^                                                   |                 (one charge)
 *            +------------------ decline (402, failed charge) ---+--> requires_action (3-D Secure,
 *                                                                      on-session only)
 *   any of the above --cancel--> canceled
 *
 * A PaymentIntent succeeds at most once: confirming a succeeded or canceled one is refused with
 * `payment_intent_unexpected_state` and moves nothing. After a decline it can be confirmed again, with
 * another payment method (a dunning retry).
 */
import { ApiError, docUrl, invalidRequest } from "./errors";
import { newId } from "./random";
import type { ChargeRecord, PaymentIntentRecord, PaymentIntentStatus, PaymentMethodRecord } from "./records";
import { paymentErrorFields, paymentMethodTypes, renderPaymentIntent, type Expansions } from "./render";
import { ok, type ApiResult, type ExecContext } from "./route";
import { resolvePaymentMethod } from "./payment-methods";
import { testCard, type Decline } from "./test-cards";

const CONFIRMABLE: readonly PaymentIntentStatus[] = [
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
];

const CANCELABLE: readonly PaymentIntentStatus[] = [
  "requires_payment_method",
  "requires_capture",
  "requires_confirmation",
  "requires_action",
  "processing",
];

export const RETURN_URL_REQUIRED =
  "A `return_url` must be specified because this Payment Intent is configured to automatically accept the payment methods enabled in the Dashboard, some of which may require a full page redirect to succeed. If you do not want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.";

/** Payment method types that never redirect the customer; everything else may. */
const REDIRECT_FREE = new Set(["card", "card_present", "interac_present"]);

/**
 * Whether confirming needs a `return_url`: when automatic payment methods allow redirects (the default)
 * and the allowed types (all of the Dashboard's, unless `allowed_payment_method_types` narrows them)
 * may include a redirect-based method. Stripe asks for it even when the card at hand would not redirect.
 */
export function needsReturnUrl(
  automatic: PaymentIntentRecord["automaticPaymentMethods"],
  allowed: readonly string[] | null,
): boolean {
  if (automatic?.allowRedirects !== "always") return false;
  return allowed === null || allowed.some((type) => !REDIRECT_FREE.has(type));
}

export interface ConfirmOptions {
  readonly offSession: boolean;
  readonly returnUrl: string | undefined;
  /** Switches the payment method before paying (`payment_method` on confirm). */
  readonly paymentMethod: string | undefined;
  /** Replaces `allowed_payment_method_types` / `excluded_payment_method_types` when given on confirm. */
  readonly allowed?: string[] | undefined;
  readonly excluded?: string[] | undefined;
}

function unexpectedState(pi: PaymentIntentRecord, message: string, ctx: ExecContext): ApiError {
  return new ApiError(400, {
    type: "invalid_request_error",
    code: "payment_intent_unexpected_state",
    doc_url: docUrl("payment_intent_unexpected_state"),
    message,
    payment_intent: renderPaymentIntent(pi, ctx.store),
  });
}

export function recordKey(pi: PaymentIntentRecord, key: string | undefined): void {
  if (key !== undefined && !pi.idempotencyKeys.includes(key)) pi.idempotencyKeys.push(key);
}

/** Checks that a payment method may pay for this PaymentIntent's customer. */
export function checkOwnership(pi: PaymentIntentRecord, pm: PaymentMethodRecord): void {
  if (pm.customer !== null && pm.customer !== pi.customer) {
    throw invalidRequest(
      `The provided PaymentMethod ${pm.id} is attached to another Customer. Provide the Customer it is attached to, or another PaymentMethod.`,
      { param: "payment_method" },
    );
  }
}

/**
 * Confirms a PaymentIntent: refuses what the state machine forbids (thrown, 400), otherwise attempts the
 * payment and answers with the PaymentIntent (200) or the card error with the PaymentIntent inside (402).
 */
export function confirm(
  ctx: ExecContext,
  pi: PaymentIntentRecord,
  options: ConfirmOptions,
  expand: Expansions,
): ApiResult {
  if (pi.status === "succeeded") {
    throw unexpectedState(
      pi,
      "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed.",
      ctx,
    );
  }
  if (!CONFIRMABLE.includes(pi.status)) {
    throw unexpectedState(
      pi,
      `You cannot confirm this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be confirmed: ${CONFIRMABLE.join(", ")}.`,
      ctx,
    );
  }
  // Types given on confirm replace the PaymentIntent's, once the confirmation is accepted.
  const types = {
    allowedPaymentMethodTypes: options.allowed ?? pi.allowedPaymentMethodTypes,
    excludedPaymentMethodTypes: options.excluded ?? pi.excludedPaymentMethodTypes,
  };
  const pm =
    options.paymentMethod !== undefined
      ? resolvePaymentMethod(ctx, options.paymentMethod, "payment_method")
      : pi.paymentMethod !== null
        ? ctx.store.paymentMethods.get(pi.paymentMethod)
        : undefined;
  if (!pm) {
    throw invalidRequest(
      "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
      { param: "payment_method" },
    );
  }
  checkOwnership(pi, pm);
  if (!paymentMethodTypes(types).includes("card")) {
    throw invalidRequest(
      `The PaymentMethod provided (card) is not allowed for this PaymentIntent. Allowed payment method types: ${paymentMethodTypes(types).join(", ") || "none"}.`,
      { param: "payment_method", code: "payment_intent_incompatible_payment_method" },
    );
  }
  if (
    needsReturnUrl(pi.automaticPaymentMethods, pi.allowedPaymentMethodTypes) &&
    options.returnUrl === undefined
  ) {
    throw invalidRequest(RETURN_URL_REQUIRED);
  }
  if (pi.statementDescriptor !== null) {
    throw invalidRequest(
      "The `statement_descriptor` parameter is not supported for card payments. Use `statement_descriptor_suffix` instead.",
      { param: "statement_descriptor" },
    );
  }

  Object.assign(pi, types);
  pi.paymentMethod = pm.id;
  pi.confirmations += 1;
  ctx.effects.cardAttempt = true;
  recordKey(pi, ctx.idempotencyKey);
  const outcome = attemptPayment(pi, pm, options);
  const now = ctx.clock.nowSeconds();
  if (outcome.kind === "requires_action") {
    pi.status = "requires_action";
    pi.nextAction =
      options.returnUrl !== undefined
        ? { kind: "redirect_to_url", returnUrl: options.returnUrl }
        : { kind: "use_stripe_sdk" };
    ctx.store.paymentIntentChanged(pi, ctx.clock.now());
    return ok(renderPaymentIntent(pi, ctx.store, expand));
  }
  const charge = newCharge(ctx, pi, pm, now, outcome.kind === "declined" ? outcome.decline : null);
  pi.latestCharge = charge.id;
  pi.nextAction = null;
  if (outcome.kind === "succeeded") {
    pi.status = "succeeded";
    pi.amountReceived = pi.amount;
    pi.lastPaymentError = null;
    ctx.store.paymentIntentChanged(pi, ctx.clock.now());
    return ok(renderPaymentIntent(pi, ctx.store, expand));
  }
  // A decline leaves the PaymentIntent waiting for another payment method; the failed one is in the error.
  const error = { ...outcome.decline, chargeId: charge.id, paymentMethodId: pm.id };
  pi.status = "requires_payment_method";
  pi.paymentMethod = null;
  pi.lastPaymentError = error;
  ctx.store.paymentIntentChanged(pi, ctx.clock.now());
  return {
    status: 402,
    body: {
      error: {
        ...paymentErrorFields(error, ctx.store),
        payment_intent: renderPaymentIntent(pi, ctx.store, expand),
      },
    },
  };
}

type PaymentOutcome =
  { kind: "succeeded" } | { kind: "declined"; decline: Decline } | { kind: "requires_action" };

function attemptPayment(
  pi: PaymentIntentRecord,
  pm: PaymentMethodRecord,
  options: ConfirmOptions,
): PaymentOutcome {
  const behaviour = testCard(pm.testCard)?.charge ?? { kind: "succeeds" };
  switch (behaviour.kind) {
    case "succeeds":
      return { kind: "succeeded" };
    case "declines":
      return { kind: "declined", decline: behaviour.decline };
    case "requires_authentication":
      // Off-session there is nobody to authenticate: the issuer's answer is final.
      if (!options.offSession) return { kind: "requires_action" };
      return behaviour.offSession.kind === "succeeds"
        ? { kind: "succeeded" }
        : { kind: "declined", decline: behaviour.offSession.decline };
  }
}

function newCharge(
  ctx: ExecContext,
  pi: PaymentIntentRecord,
  pm: PaymentMethodRecord,
  created: number,
  failure: Decline | null,
): ChargeRecord {
  const charge: ChargeRecord = {
    id: newId("ch"),
    seq: ctx.store.nextSeq(),
    created,
    livemode: pi.livemode,
    amount: pi.amount,
    currency: pi.currency,
    customer: pi.customer,
    paymentIntent: pi.id,
    paymentMethod: pm.id,
    description: pi.description,
    metadata: { ...pi.metadata },
    status: failure ? "failed" : "succeeded",
    failure,
    balanceTransaction: failure ? null : newId("txn"),
    amountRefunded: 0,
  };
  ctx.store.charges.set(charge.id, charge);
  return charge;
}

export function cancel(
  ctx: ExecContext,
  pi: PaymentIntentRecord,
  reason: string | undefined,
  expand: Expansions,
): ApiResult {
  if (!CANCELABLE.includes(pi.status)) {
    throw unexpectedState(
      pi,
      `You cannot cancel this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(", ")}.`,
      ctx,
    );
  }
  pi.status = "canceled";
  pi.canceledAt = ctx.clock.nowSeconds();
  pi.cancellationReason = reason ?? null;
  pi.nextAction = null;
  recordKey(pi, ctx.idempotencyKey);
  ctx.store.paymentIntentChanged(pi, ctx.clock.now());
  return ok(renderPaymentIntent(pi, ctx.store, expand));
}
