/** Customers: create and retrieve, with an optional payment method attached at creation. */
import { readExpand } from "../expand";
import { resourceMissing } from "../errors";
import { ParamReader } from "../params";
import { newId } from "../random";
import type { CustomerRecord } from "../records";
import { renderCustomer } from "../render";
import { defineRoute, ok } from "../route";
import { attachPaymentMethod, resolvePaymentMethod } from "../payment-methods";
import { defineRetrieveRoute } from "./retrieve";

export const createCustomer = defineRoute({
  method: "POST",
  pattern: "/v1/customers",
  validate({ params }) {
    const r = new ParamReader(params);
    const input = {
      email: r.optionalString("email") ?? null,
      name: r.optionalString("name") ?? null,
      description: r.optionalString("description") ?? null,
      phone: r.optionalString("phone") ?? null,
      metadata: r.metadata(),
      paymentMethod: r.optionalString("payment_method"),
      defaultPaymentMethod: r.hash("invoice_settings")?.optionalString("default_payment_method"),
    };
    readExpand(r, []);
    r.ignore("address", "preferred_locales", "shipping", "tax_exempt", "test_clock");
    r.done();
    return input;
  },
  execute(ctx, input) {
    const customer: CustomerRecord = {
      id: newId("cus"),
      seq: ctx.store.nextSeq(),
      created: ctx.clock.nowSeconds(),
      livemode: ctx.livemode,
      email: input.email,
      name: input.name,
      description: input.description,
      phone: input.phone,
      metadata: input.metadata,
      defaultPaymentMethod: null,
    };
    let attached: string | null = null;
    if (input.paymentMethod !== undefined) {
      const pm = resolvePaymentMethod(ctx, input.paymentMethod, "payment_method");
      attachPaymentMethod(ctx, pm, customer.id);
      attached = pm.id;
    }
    if (input.defaultPaymentMethod !== undefined) {
      const isAttached = input.defaultPaymentMethod === attached;
      if (!isAttached)
        throw resourceMissing(
          "PaymentMethod",
          input.defaultPaymentMethod,
          "invoice_settings[default_payment_method]",
        );
      customer.defaultPaymentMethod = attached;
    }
    ctx.store.customers.set(customer.id, customer);
    return ok(renderCustomer(customer));
  },
});

export const retrieveCustomer = defineRetrieveRoute(
  "/v1/customers/:id",
  (ctx, id) => {
    const customer = ctx.store.customers.get(id);
    if (!customer) throw resourceMissing("customer", id, "id", 404);
    return customer;
  },
  renderCustomer,
);
