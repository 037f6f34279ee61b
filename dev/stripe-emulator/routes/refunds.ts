/** Refunds of a succeeded charge, whole or partial; the charge's `amount_refunded` and `refunded` follow. */
import { invalidRequest, resourceMissing } from "../errors";
import { readExpand } from "../expand";
import { ParamReader } from "../params";
import { newId } from "../random";
import type { ChargeRecord, RefundRecord } from "../records";
import { renderRefund } from "../render";
import { defineRoute, ok, type ExecContext } from "../route";
import { defineRetrieveRoute } from "./retrieve";

function chargeToRefund(ctx: ExecContext, input: { charge?: string; paymentIntent?: string }): ChargeRecord {
  if (input.charge !== undefined) {
    const charge = ctx.store.charges.get(input.charge);
    if (!charge) throw resourceMissing("charge", input.charge, "charge");
    if (charge.status !== "succeeded") {
      throw invalidRequest(`Charge ${charge.id} has not succeeded and cannot be refunded.`, {
        param: "charge",
      });
    }
    return charge;
  }
  const id = input.paymentIntent!;
  const pi = ctx.store.paymentIntents.get(id);
  if (!pi) throw resourceMissing("payment_intent", id, "payment_intent");
  const charge = pi.latestCharge !== null ? ctx.store.charges.get(pi.latestCharge) : undefined;
  if (pi.status !== "succeeded" || !charge || charge.status !== "succeeded") {
    throw invalidRequest(`This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, {
      param: "payment_intent",
    });
  }
  return charge;
}

export const createRefund = defineRoute({
  method: "POST",
  pattern: "/v1/refunds",
  validate({ params }) {
    const r = new ParamReader(params);
    const charge = r.optionalString("charge");
    const paymentIntent = r.optionalString("payment_intent");
    if (charge === undefined && paymentIntent === undefined) {
      throw invalidRequest(
        "One of the following params should be provided for this request: payment_intent or charge.",
      );
    }
    if (charge !== undefined && paymentIntent !== undefined) {
      throw invalidRequest("You may only specify one of these parameters: charge, payment_intent.", {
        param: "charge",
      });
    }
    const amount = r.integer("amount");
    if (amount !== undefined && amount <= 0) {
      throw invalidRequest(`Invalid positive integer: ${amount}`, { param: "amount" });
    }
    const input = {
      ...(charge !== undefined && { charge }),
      ...(paymentIntent !== undefined && { paymentIntent }),
      amount,
      reason: r.oneOf("reason", ["duplicate", "fraudulent", "requested_by_customer"] as const) ?? null,
      metadata: r.metadata(),
    };
    readExpand(r, []);
    r.ignore("instructions_email", "refund_application_fee", "reverse_transfer");
    r.done();
    return input;
  },
  execute(ctx, input) {
    const charge = chargeToRefund(ctx, input);
    const remaining = charge.amount - charge.amountRefunded;
    if (remaining === 0) {
      throw invalidRequest(`Charge ${charge.id} has already been refunded.`, {
        code: "charge_already_refunded",
      });
    }
    const amount = input.amount ?? remaining;
    if (amount > remaining) {
      throw invalidRequest(
        `Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`,
        { param: "amount", code: "amount_too_large" },
      );
    }
    const refund: RefundRecord = {
      id: newId("re"),
      seq: ctx.store.nextSeq(),
      created: ctx.clock.nowSeconds(),
      livemode: ctx.livemode,
      amount,
      currency: charge.currency,
      charge: charge.id,
      paymentIntent: charge.paymentIntent,
      customer: charge.customer,
      paymentMethod: charge.paymentMethod,
      reason: input.reason,
      metadata: input.metadata,
      status: "succeeded",
      balanceTransaction: newId("txn"),
    };
    charge.amountRefunded += amount;
    ctx.store.refunds.set(refund.id, refund);
    return ok(renderRefund(refund));
  },
});

export const retrieveRefund = defineRetrieveRoute(
  "/v1/refunds/:id",
  (ctx, id) => {
    const refund = ctx.store.refunds.get(id);
    if (!refund) throw resourceMissing("refund", id, "id", 404);
    return refund;
  },
  renderRefund,
);
