/**
 * The contract suite: the behaviours in docs/stripe-emulator.md#what-it-models, checked over HTTP with the
 * official SDK. It runs against the emulator by default and, unchanged, against Stripe's test mode when
 * STRIPE_SECRET_KEY holds a test key (`STRIPE_SECRET_KEY=sk_test_... npx vitest run
 * test/stripe-emulator/contract.test.ts`). Whatever fails there is a difference of the emulator's.
 * Tests that need the emulator's clock, faults or admin API live in the other files of this folder.
 */
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contractTarget, rejection, type ContractTarget } from "./support/target";

/** Stripe's own suggestion for card-only integrations: no redirect-based methods, so no return_url. */
const NO_REDIRECTS = { automatic_payment_methods: { enabled: true, allow_redirects: "never" as const } };

/** The in-flight 409's error type is undocumented; the emulator chose this, and test mode can refute it. */
const IN_FLIGHT_TYPE = "invalid_request_error";

let target: ContractTarget;
let stripe: Stripe;

beforeAll(async () => {
  target = await contractTarget();
  stripe = target.client();
});
afterAll(async () => {
  await target?.close();
});

async function customerWithCard(card = "pm_card_visa"): Promise<{ customer: string; paymentMethod: string }> {
  const customer = await stripe.customers.create({ metadata: { contract_run: target.runId } });
  const pm = await stripe.paymentMethods.attach(card, { customer: customer.id });
  return { customer: customer.id, paymentMethod: pm.id };
}

function chargeOffSession(
  params: { customer?: string; payment_method: string; amount?: number; metadata?: Record<string, string> },
  idempotencyKey?: string,
) {
  return stripe.paymentIntents.create(
    {
      amount: params.amount ?? 1500,
      currency: "usd",
      ...(params.customer !== undefined && { customer: params.customer }),
      payment_method: params.payment_method,
      metadata: { contract_run: target.runId, ...params.metadata },
      confirm: true,
      off_session: true,
      ...NO_REDIRECTS,
    },
    idempotencyKey === undefined ? {} : { idempotencyKey },
  );
}

describe("requests and errors", () => {
  it("answers a missing or malformed key with 401 invalid_request_error", async () => {
    const bad = target.client({ apiKey: "not_a_real_key" });
    const error = await rejection(bad.customers.create({}));
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(error.statusCode).toBe(401);
    expect(error.rawType).toBe("invalid_request_error");
  });

  it("gives every response a fresh Request-Id and states its API version", async () => {
    const customer = await stripe.customers.create({});
    const first = await stripe.customers.retrieve(customer.id);
    const second = await stripe.customers.retrieve(customer.id);
    expect(first.lastResponse.requestId).toMatch(/^req_/);
    expect(second.lastResponse.requestId).toMatch(/^req_/);
    expect(first.lastResponse.requestId).not.toBe(second.lastResponse.requestId);
    expect(first.lastResponse.apiVersion).toBe(Stripe.API_VERSION);
  });

  it("answers an unknown endpoint with 404 Unrecognized request URL", async () => {
    const error = await rejection(stripe.rawRequest("GET", "/v1/this_endpoint_does_not_exist", {}));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.statusCode).toBe(404);
    expect(error.message).toMatch(/^Unrecognized request URL \(GET: \/v1\/this_endpoint_does_not_exist\)/);
  });

  it("answers a missing object with 404 resource_missing", async () => {
    const error = await rejection(stripe.paymentIntents.retrieve("pi_doesnotexist000000000000"));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.statusCode).toBe(404);
    expect(error.code).toBe("resource_missing");
  });

  it("refuses an unknown payment method with 400 resource_missing on payment_method", async () => {
    const error = await rejection(
      stripe.paymentIntents.create({
        amount: 1000,
        currency: "usd",
        payment_method: "pm_doesnotexist000000000",
      }),
    );
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe("resource_missing");
    expect(error.param).toBe("payment_method");
  });

  it("refuses an unknown parameter", async () => {
    const error = await rejection(
      stripe.paymentIntents.create({
        amount: 1000,
        currency: "usd",
        not_a_param: "x",
      } as Stripe.PaymentIntentCreateParams),
    );
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe("not_a_param");
  });

  it.each([
    ["51 keys", Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"]))],
    ["a 41-character key", { ["k".repeat(41)]: "v" }],
    ["a 501-character value", { k: "v".repeat(501) }],
  ])("refuses metadata with %s: 400 on param metadata", async (_label, metadata) => {
    const error = await rejection(stripe.customers.create({ metadata }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.param).toBe("metadata");
  });

  it("accepts metadata at the limits: 50 keys of 40 characters, values of 500", async () => {
    const metadata = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [
        `${String(i).padStart(2, "0")}${"k".repeat(38)}`,
        "v".repeat(500),
      ]),
    );
    const customer = await stripe.customers.create({ metadata });
    expect(Object.keys(customer.metadata)).toHaveLength(50);
  });
});

describe("amounts", () => {
  const create = (amount: number, currency: string) =>
    stripe.paymentIntents.create({ amount, currency, ...NO_REDIRECTS });

  it.each([
    [49, "usd"],
    [49, "eur"],
    [29, "gbp"],
    [49, "jpy"],
  ])("refuses %i %s as amount_too_small", async (amount, currency) => {
    const error = await rejection(create(amount, currency));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe("amount_too_small");
    expect(error.param).toBe("amount");
  });

  it.each([
    [50, "usd"],
    [50, "eur"],
    [30, "gbp"],
    [50, "jpy"],
    [99_999_999, "usd"],
  ])("accepts %i %s", async (amount, currency) => {
    const pi = await create(amount, currency);
    expect(pi.amount).toBe(amount);
    expect(pi.currency).toBe(currency);
  });

  it("refuses more than 8 digits as amount_too_large", async () => {
    const error = await rejection(create(100_000_000, "usd"));
    expect(error.code).toBe("amount_too_large");
  });

  it("refuses an unknown currency and a non-integer amount", async () => {
    const currency = await rejection(create(1000, "xyz"));
    expect(currency.statusCode).toBe(400);
    expect(currency.param).toBe("currency");
    const fractional = await rejection(create(10.5, "usd"));
    expect(fractional.statusCode).toBe(400);
    expect(fractional.param).toBe("amount");
  });
});

describe("PaymentIntents", () => {
  it("charges off-session once: succeeded, latest_charge set, one succeeded charge", async () => {
    const { customer, paymentMethod } = await customerWithCard();
    const pi = await chargeOffSession({ customer, payment_method: paymentMethod });
    expect(pi.status).toBe("succeeded");
    expect(pi.amount_received).toBe(1500);
    expect(typeof pi.latest_charge).toBe("string");
    const again = await stripe.paymentIntents.retrieve(pi.id, { expand: ["latest_charge"] });
    const charge = again.latest_charge as Stripe.Charge;
    expect(charge.status).toBe("succeeded");
    expect(charge.amount).toBe(1500);
    expect(charge.payment_intent).toBe(pi.id);
    expect(charge.paid).toBe(true);
  });

  it("refuses off_session without confirm=true", async () => {
    const { customer, paymentMethod } = await customerWithCard();
    const error = await rejection(
      stripe.paymentIntents.create({
        amount: 1000,
        currency: "usd",
        customer,
        payment_method: paymentMethod,
        off_session: true,
        ...NO_REDIRECTS,
      }),
    );
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe("off_session");
  });

  it("moves no money without confirm: requires_confirmation; confirming then succeeds, twice charges once", async () => {
    const { customer, paymentMethod } = await customerWithCard();
    const pi = await stripe.paymentIntents.create({
      amount: 2000,
      currency: "usd",
      customer,
      payment_method: paymentMethod,
      metadata: { contract_run: target.runId },
      ...NO_REDIRECTS,
    });
    expect(pi.status).toBe("requires_confirmation");
    expect(pi.latest_charge).toBeNull();
    expect(pi.amount_received).toBe(0);

    const confirmed = await stripe.paymentIntents.confirm(pi.id, { off_session: true });
    expect(confirmed.status).toBe("succeeded");
    const chargeId = confirmed.latest_charge;

    const error = await rejection(
      stripe.paymentIntents.confirm(pi.id, { off_session: true, payment_method: paymentMethod }),
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.code).toBe("payment_intent_unexpected_state");
    expect(error.payment_intent?.status).toBe("succeeded");
    expect((await stripe.paymentIntents.retrieve(pi.id)).latest_charge).toBe(chargeId);
  });

  it("cancels an unconfirmed one, and then refuses to confirm it", async () => {
    const { customer, paymentMethod } = await customerWithCard();
    const pi = await stripe.paymentIntents.create({
      amount: 1000,
      currency: "usd",
      customer,
      payment_method: paymentMethod,
      ...NO_REDIRECTS,
    });
    const canceled = await stripe.paymentIntents.cancel(pi.id);
    expect(canceled.status).toBe("canceled");
    expect(canceled.canceled_at).not.toBeNull();
    const error = await rejection(stripe.paymentIntents.confirm(pi.id, { off_session: true }));
    expect(error.code).toBe("payment_intent_unexpected_state");
    expect(error.payment_intent?.status).toBe("canceled");
  });

  it("refuses to cancel a succeeded one", async () => {
    const { customer, paymentMethod } = await customerWithCard();
    const pi = await chargeOffSession({ customer, payment_method: paymentMethod });
    const error = await rejection(stripe.paymentIntents.cancel(pi.id));
    expect(error.code).toBe("payment_intent_unexpected_state");
  });

  it("requires a return_url to confirm with redirect-capable automatic payment methods (the default)", async () => {
    const onSession = await rejection(
      stripe.paymentIntents.create({
        amount: 1000,
        currency: "usd",
        payment_method: "pm_card_visa",
        confirm: true,
      }),
    );
    expect(onSession).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(onSession.message).toMatch(/return_url/);

    const { customer, paymentMethod } = await customerWithCard();
    const pi = await stripe.paymentIntents.create({
      amount: 1000,
      currency: "usd",
      customer,
      payment_method: paymentMethod,
    });
    const offSession = await rejection(stripe.paymentIntents.confirm(pi.id, { off_session: true }));
    expect(offSession.message).toMatch(/return_url/);
    const withReturnUrl = await stripe.paymentIntents.confirm(pi.id, {
      off_session: true,
      return_url: "https://example.com/return",
    });
    expect(withReturnUrl.status).toBe("succeeded");
  });

  it("needs no return_url when allowed_payment_method_types leaves only cards", async () => {
    const { customer, paymentMethod } = await customerWithCard();
    const pi = await stripe.paymentIntents.create({
      amount: 1000,
      currency: "usd",
      customer,
      payment_method: paymentMethod,
      allowed_payment_method_types: ["card"],
      confirm: true,
      off_session: true,
    });
    expect(pi.status).toBe("succeeded");
    expect(pi.allowed_payment_method_types).toEqual(["card"]);
    expect(pi.payment_method_types).toEqual(["card"]);
  });

  it("does not take payment_method_types: this API version replaced it with allowed_payment_method_types", async () => {
    const error = await rejection(
      stripe.paymentIntents.create({
        amount: 1000,
        currency: "usd",
        payment_method_types: ["card"],
      } as Stripe.PaymentIntentCreateParams),
    );
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe("payment_method_types");
  });
});

describe("declines", () => {
  it.each([
    ["pm_card_visa_chargeDeclined", "card_declined", "generic_decline"],
    ["pm_card_visa_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"],
    ["pm_card_visa_chargeDeclinedLostCard", "card_declined", "lost_card"],
    ["pm_card_visa_chargeDeclinedStolenCard", "card_declined", "stolen_card"],
    ["pm_card_visa_chargeDeclinedVelocityLimitExceeded", "card_declined", "card_velocity_exceeded"],
    ["pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"],
    ["pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc"],
    ["pm_card_chargeDeclinedProcessingError", "processing_error", "processing_error"],
  ])(
    "%s: 402 card_error %s / %s, the PaymentIntent waits for a payment method",
    async (card, code, declineCode) => {
      const error = await rejection(chargeOffSession({ payment_method: card }));
      expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
      expect(error.statusCode).toBe(402);
      expect(error.rawType).toBe("card_error");
      expect(error.code).toBe(code);
      expect(error.decline_code).toBe(declineCode);
      expect(error.charge).toMatch(/^ch_/);
      expect(error.doc_url).toMatch(/^https:\/\/stripe\.com\/docs\/error-codes\//);
      expect(error.payment_intent?.status).toBe("requires_payment_method");
      expect(error.payment_intent?.last_payment_error?.decline_code).toBe(declineCode);
    },
  );

  it("a declined PaymentIntent can be confirmed again with another card (a dunning retry)", async () => {
    const error = await rejection(
      chargeOffSession({ payment_method: "pm_card_visa_chargeDeclinedInsufficientFunds" }),
    );
    const id = error.payment_intent!.id;
    const retried = await stripe.paymentIntents.confirm(id, {
      off_session: true,
      payment_method: "pm_card_visa",
    });
    expect(retried.status).toBe("succeeded");
    expect(retried.latest_charge).not.toBe(error.charge);
    expect(retried.last_payment_error).toBeNull();
  });

  it("decline cards cannot be attached to a customer", async () => {
    const customer = await stripe.customers.create({});
    const error = await rejection(
      stripe.paymentMethods.attach("pm_card_visa_chargeDeclined", { customer: customer.id }),
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error.code).toBe("card_declined");
  });

  it("attaching a test id makes a new pm_ attached to the customer; chargeCustomerFail attaches and then declines", async () => {
    const { customer, paymentMethod } = await customerWithCard("pm_card_chargeCustomerFail");
    expect(paymentMethod).toMatch(/^pm_/);
    expect(paymentMethod).not.toBe("pm_card_chargeCustomerFail");
    expect((await stripe.paymentMethods.retrieve(paymentMethod)).customer).toBe(customer);
    const error = await rejection(chargeOffSession({ customer, payment_method: paymentMethod }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error.code).toBe("card_declined");
    expect(error.decline_code).toBe("generic_decline");
  });
});

describe("3-D Secure cards", () => {
  it("pm_card_authenticationRequired off-session: 402 authentication_required, requires_payment_method", async () => {
    const { customer, paymentMethod } = await customerWithCard("pm_card_authenticationRequired");
    const error = await rejection(chargeOffSession({ customer, payment_method: paymentMethod }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error.code === "authentication_required" || error.decline_code === "authentication_required").toBe(
      true,
    );
    expect(error.payment_intent?.status).toBe("requires_payment_method");
  });

  it("pm_card_authenticationRequired on-session: requires_action, no money moved", async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 1000,
      currency: "usd",
      payment_method: "pm_card_authenticationRequired",
      confirm: true,
      ...NO_REDIRECTS,
    });
    expect(pi.status).toBe("requires_action");
    expect(pi.next_action).not.toBeNull();
    expect(pi.amount_received).toBe(0);
  });

  it("pm_card_authenticationRequiredSetupForOffSession succeeds off-session", async () => {
    const { customer, paymentMethod } = await customerWithCard(
      "pm_card_authenticationRequiredSetupForOffSession",
    );
    const pi = await chargeOffSession({ customer, payment_method: paymentMethod });
    expect(pi.status).toBe("succeeded");
  });

  it("pm_card_authenticationRequiredChargeDeclinedInsufficientFunds declines off-session with insufficient_funds", async () => {
    const { customer, paymentMethod } = await customerWithCard(
      "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds",
    );
    const error = await rejection(chargeOffSession({ customer, payment_method: paymentMethod }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error.decline_code).toBe("insufficient_funds");
  });
});

describe("idempotency", () => {
  it("replays a create: same object, Idempotent-Replayed, key echoed", async () => {
    const { customer, paymentMethod } = await customerWithCard();
    const key = target.key("replay");
    const first = await chargeOffSession({ customer, payment_method: paymentMethod }, key);
    const second = await chargeOffSession({ customer, payment_method: paymentMethod }, key);
    expect(second.id).toBe(first.id);
    expect(second.latest_charge).toBe(first.latest_charge);
    expect(first.lastResponse.headers["idempotency-key"]).toBe(key);
    expect(first.lastResponse.headers["idempotent-replayed"]).toBeUndefined();
    expect(second.lastResponse.headers["idempotent-replayed"]).toBe("true");
    expect(second.lastResponse.requestId).not.toBe(first.lastResponse.requestId);
  });

  it("refuses the same key with other parameters: 400 idempotency_error", async () => {
    const { customer, paymentMethod } = await customerWithCard();
    const key = target.key("params");
    await chargeOffSession({ customer, payment_method: paymentMethod, amount: 1500 }, key);
    const error = await rejection(
      chargeOffSession({ customer, payment_method: paymentMethod, amount: 1600 }, key),
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(error.statusCode).toBe(400);
    expect(error.rawType).toBe("idempotency_error");
    expect(error.message).toMatch(/same parameters/);
  });

  it("refuses the same key on another endpoint: keys are per account, not per endpoint", async () => {
    const key = target.key("endpoint");
    await stripe.customers.create({}, { idempotencyKey: key });
    const error = await rejection(
      stripe.paymentIntents.create(
        { amount: 1000, currency: "usd", ...NO_REDIRECTS },
        { idempotencyKey: key },
      ),
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
  });

  it("replays a declined create's 402, with the same PaymentIntent and charge", async () => {
    const key = target.key("decline");
    const first = await rejection(chargeOffSession({ payment_method: "pm_card_visa_chargeDeclined" }, key));
    const second = await rejection(chargeOffSession({ payment_method: "pm_card_visa_chargeDeclined" }, key));
    expect(second).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(second.payment_intent?.id).toBe(first.payment_intent?.id);
    expect(second.charge).toBe(first.charge);
    expect(second.headers?.["idempotent-replayed"]).toBe("true");
  });

  it("saves nothing for a request refused before execution: a corrected retry with the key executes", async () => {
    const key = target.key("validation");
    const params = { amount: 1000, currency: "usd", ...NO_REDIRECTS };
    const refused = await rejection(
      stripe.paymentIntents.create({ ...params, bogus_parameter: "x" } as Stripe.PaymentIntentCreateParams, {
        idempotencyKey: key,
      }),
    );
    expect(refused.statusCode).toBe(400);
    const created = await stripe.paymentIntents.create(params, { idempotencyKey: key });
    expect(created.lastResponse.headers["idempotent-replayed"]).toBeUndefined();
  });

  it("refuses a key longer than 255 characters; 255 is fine", async () => {
    const long = await rejection(stripe.customers.create({}, { idempotencyKey: "k".repeat(256) }));
    expect(long.statusCode).toBe(400);
    const ok = await stripe.customers.create(
      {},
      { idempotencyKey: `${target.runId}-${"k".repeat(255)}`.slice(0, 255) },
    );
    expect(ok.id).toMatch(/^cus_/);
  });

  it("ignores Idempotency-Key on GET", async () => {
    const customer = await stripe.customers.create({});
    const key = target.key("get");
    const first = await stripe.customers.retrieve(customer.id, {}, { idempotencyKey: key });
    const second = await stripe.customers.retrieve(customer.id, {}, { idempotencyKey: key });
    expect(second.lastResponse.headers["idempotent-replayed"]).toBeUndefined();
    expect(second.id).toBe(first.id);
  });

  it("concurrent requests with one key make one PaymentIntent; any refused one is a 409 idempotency_key_in_use", async () => {
    const { customer, paymentMethod } = await customerWithCard();
    const key = target.key("concurrent");
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => chargeOffSession({ customer, payment_method: paymentMethod }, key)),
    );
    const ids = new Set(results.flatMap((r) => (r.status === "fulfilled" ? [r.value.id] : [])));
    expect(ids.size).toBe(1);
    for (const r of results) {
      if (r.status === "rejected") {
        const error = r.reason as Stripe.errors.StripeError;
        expect(error.statusCode).toBe(409);
        expect(error.code).toBe("idempotency_key_in_use");
        expect(error.rawType).toBe(IN_FLIGHT_TYPE);
      }
    }
  });
});

describe("list and search", () => {
  it("lists a customer's PaymentIntents at once, newest first, with cursor pagination", async () => {
    const { customer, paymentMethod } = await customerWithCard();
    const created: string[] = [];
    for (let i = 0; i < 3; i++) {
      const pi = await stripe.paymentIntents.create({
        amount: 1000 + i,
        currency: "usd",
        customer,
        payment_method: paymentMethod,
        ...NO_REDIRECTS,
      });
      created.push(pi.id);
    }
    const since = (await stripe.paymentIntents.retrieve(created[0]!)).created;
    const first = await stripe.paymentIntents.list({ customer, created: { gte: since }, limit: 2 });
    expect(first.object).toBe("list");
    expect(first.data).toHaveLength(2);
    expect(first.has_more).toBe(true);
    const second = await stripe.paymentIntents.list({
      customer,
      created: { gte: since },
      limit: 2,
      starting_after: first.data[1]!.id,
    });
    expect(second.has_more).toBe(false);
    const all = [...first.data, ...second.data];
    expect(new Set(all.map((pi) => pi.id))).toEqual(new Set(created));
    const times = all.map((pi) => pi.created);
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const none = await stripe.paymentIntents.list({ customer, created: { gt: since + 3600 } });
    expect(none.data).toEqual([]);
  });

  it("expands data.latest_charge in a list", async () => {
    const { customer, paymentMethod } = await customerWithCard();
    await chargeOffSession({ customer, payment_method: paymentMethod });
    const list = await stripe.paymentIntents.list({ customer, expand: ["data.latest_charge"] });
    expect((list.data[0]!.latest_charge as Stripe.Charge).object).toBe("charge");
  });

  it("finds a PaymentIntent by metadata and status with Search, eventually", async () => {
    const { customer, paymentMethod } = await customerWithCard();
    const tag = target.key("search");
    const pi = await chargeOffSession({
      customer,
      payment_method: paymentMethod,
      metadata: { search_tag: tag },
    });
    const query = `metadata['search_tag']:'${tag}' AND status:'succeeded'`;
    const deadline = Date.now() + 120_000;
    let found: Stripe.ApiSearchResult<Stripe.PaymentIntent> | undefined;
    while (Date.now() < deadline) {
      found = await stripe.paymentIntents.search({ query, limit: 10 });
      if (found.data.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(found?.object).toBe("search_result");
    expect(found?.data.map((p) => p.id)).toEqual([pi.id]);
    expect(found?.has_more).toBe(false);
    expect(found?.next_page).toBeNull();
  }, 150_000);
});

describe("refunds", () => {
  it("refunds part, then the rest; refuses more than what is left", async () => {
    const { customer, paymentMethod } = await customerWithCard();
    const pi = await chargeOffSession({ customer, payment_method: paymentMethod, amount: 2000 });
    const partial = await stripe.refunds.create({ payment_intent: pi.id, amount: 500 });
    expect(partial.status).toBe("succeeded");
    expect(partial.amount).toBe(500);
    expect(partial.charge).toBe(pi.latest_charge);
    const tooMuch = await rejection(
      stripe.refunds.create({ charge: pi.latest_charge as string, amount: 1501 }),
    );
    expect(tooMuch.statusCode).toBe(400);
    const rest = await stripe.refunds.create({ charge: pi.latest_charge as string });
    expect(rest.amount).toBe(1500);
    expect((await stripe.refunds.retrieve(rest.id)).amount).toBe(1500);
    const charge = (await stripe.paymentIntents.retrieve(pi.id, { expand: ["latest_charge"] }))
      .latest_charge as Stripe.Charge;
    expect(charge.amount_refunded).toBe(2000);
    expect(charge.refunded).toBe(true);
  });
});
