/** PaymentMethod endpoints: attach to a customer, retrieve. */
import { resourceMissing } from "../errors";
import { readExpand } from "../expand";
import { ParamReader } from "../params";
import { attachPaymentMethod, resolvePaymentMethod } from "../payment-methods";
import { renderPaymentMethod } from "../render";
import { defineRoute, ok } from "../route";
import { defineRetrieveRoute } from "./retrieve";

export const attachPaymentMethodRoute = defineRoute({
  method: "POST",
  pattern: "/v1/payment_methods/:id/attach",
  validate({ params, path }) {
    const r = new ParamReader(params);
    const customer = r.requiredString("customer");
    readExpand(r, []);
    r.done();
    return { id: path.id!, customer };
  },
  execute(ctx, input) {
    if (!ctx.store.customers.has(input.customer))
      throw resourceMissing("customer", input.customer, "customer");
    const pm = resolvePaymentMethod(ctx, input.id, "payment_method", 404);
    attachPaymentMethod(ctx, pm, input.customer);
    return ok(renderPaymentMethod(pm));
  },
});

export const retrievePaymentMethod = defineRetrieveRoute(
  "/v1/payment_methods/:id",
  (ctx, id) => resolvePaymentMethod(ctx, id, "payment_method", 404),
  renderPaymentMethod,
);
