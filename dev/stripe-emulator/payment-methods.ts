/**
 * PaymentMethods as payments use them: Stripe's test ids (`pm_card_visa`...) become fresh `pm_...`
 * objects when used, carrying the test card's behaviour; attaching to a customer runs the card check that
 * decline cards fail, with a 402 as Stripe.
 */
import { ApiError, docUrl, invalidRequest, resourceMissing } from "./errors";
import { newId, randomToken } from "./random";
import type { PaymentMethodRecord } from "./records";
import type { ExecContext } from "./route";
import { testCard } from "./test-cards";

/** A stored PaymentMethod, or a new one made from a test id; otherwise `resource_missing` on `param`. */
export function resolvePaymentMethod(
  ctx: ExecContext,
  id: string,
  param: string,
  status = 400,
): PaymentMethodRecord {
  const stored = ctx.store.paymentMethods.get(id);
  if (stored) return stored;
  if (!testCard(id)) throw resourceMissing("PaymentMethod", id, param, status);
  const year = new Date(ctx.clock.now()).getUTCFullYear();
  const pm: PaymentMethodRecord = {
    id: newId("pm"),
    seq: ctx.store.nextSeq(),
    created: ctx.clock.nowSeconds(),
    livemode: ctx.livemode,
    testCard: id,
    expMonth: 12,
    expYear: year + 3,
    fingerprint: randomToken(16),
    customer: null,
    metadata: {},
  };
  ctx.store.paymentMethods.set(pm.id, pm);
  return pm;
}

/** Attaches to a customer after the card check; decline cards fail it with their card error. */
export function attachPaymentMethod(ctx: ExecContext, pm: PaymentMethodRecord, customerId: string): void {
  if (pm.customer === customerId) return;
  if (pm.customer !== null) {
    throw invalidRequest("The payment method you provided has already been attached to a customer.", {
      param: "payment_method",
    });
  }
  const card = testCard(pm.testCard);
  if (card && !card.attachable && card.charge.kind === "declines") {
    const d = card.charge.decline;
    throw new ApiError(402, {
      type: "card_error",
      code: d.code,
      decline_code: d.declineCode,
      doc_url: docUrl(d.code),
      message: d.message,
      ...(d.param !== undefined && { param: d.param }),
    });
  }
  pm.customer = customerId;
}
