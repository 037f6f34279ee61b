/**
 * The gateway against a local HTTP stub, for answers the emulator does not give: a 409 that clears, a
 * 5xx without Stripe-Should-Retry, Stripe-Should-Retry: true on a 4xx, and error bodies that echo the
 * secret key (as issue reports showed Stripe errors can).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BillingJobError } from "../../functions/core/errors";
import {
  PaymentProviderConfigError,
  StripeApiFailure,
  type StripeGatewayOptions,
} from "../../functions/stripe/stripe-gateway";
import type { NewPaymentIntent } from "../../functions/core/payments/payment-gateway";
import { gatewayAt } from "./support/gateway";
import {
  startHttpStub,
  stripeError,
  stubPaymentIntent,
  type HttpStub,
  type StubAnswer,
} from "./support/http-stub";

/** Shaped unlike a Stripe key on purpose: only the gateway's knowledge of its key can scrub it. */
const KEY = "sk_test_stub-key.with+odd/shape";
const OTHER_KEY = "rk_live_51SomeoneElsesRestrictedKey";
const ECHO = `Invalid request made with ${KEY} (also seen: ${OTHER_KEY})`;

let stub: HttpStub;
let script: StubAnswer[] = [];

beforeAll(async () => {
  stub = await startHttpStub(
    () => script.shift() ?? stripeError(500, { type: "api_error", message: "no script" }),
  );
});
afterAll(async () => {
  await stub?.close();
});
beforeEach(() => {
  script = [];
  stub.requests.length = 0;
});

function gateway(options: Partial<StripeGatewayOptions> = {}) {
  return gatewayAt(stub.url, { apiKey: KEY, random: () => 0, ...options });
}

const REQUEST: NewPaymentIntent = {
  amount: 2500,
  currency: "eur",
  customerId: "cus_stub",
  paymentMethodId: "pm_stub",
  description: "stub renewal",
  metadata: { subscription_id: "sub_stub" },
  idempotencyKey: "renew:create:sub_stub",
};

const CREATED: StubAnswer = { status: 200, body: stubPaymentIntent() };

function keysSent(): (string | string[] | undefined)[] {
  return stub.requests.map((r) => r.headers["idempotency-key"]);
}

describe("retries the gateway owns", () => {
  it("retries a 409 (the same key in flight) with the same key, and takes the answer that follows", async () => {
    script = [
      stripeError(409, {
        type: "invalid_request_error",
        code: "idempotency_key_in_use",
        message: "There is currently another in-progress request using this Stripe-Idempotency-Key.",
      }),
      CREATED,
    ];
    expect(await gateway().createPaymentIntent(REQUEST)).toMatchObject({ kind: "created" });
    expect(keysSent()).toEqual([REQUEST.idempotencyKey, REQUEST.idempotencyKey]);
  });

  it("retries a 5xx without Stripe-Should-Retry up to maxNetworkRetries, same key, then is in doubt", async () => {
    const unavailable = stripeError(503, { type: "api_error", message: "Service unavailable" });
    script = [unavailable, unavailable, unavailable, unavailable];
    expect(await gateway({ maxNetworkRetries: 2 }).createPaymentIntent(REQUEST)).toMatchObject({
      kind: "in_doubt",
      reason: expect.stringMatching(/503/),
    });
    expect(keysSent()).toEqual([REQUEST.idempotencyKey, REQUEST.idempotencyKey, REQUEST.idempotencyKey]);
  });

  it("retries a 4xx that Stripe marks Stripe-Should-Retry: true", async () => {
    script = [
      stripeError(
        400,
        { type: "invalid_request_error", message: "Try again" },
        { "Stripe-Should-Retry": "true" },
      ),
      CREATED,
    ];
    expect(await gateway().createPaymentIntent(REQUEST)).toMatchObject({ kind: "created" });
    expect(stub.requests).toHaveLength(2);
  });

  it("reports a 429 after an unknown outcome as in doubt, not as rate limited (the first try may have worked)", async () => {
    script = [
      stripeError(500, { type: "api_error", message: "boom" }),
      stripeError(429, { type: "invalid_request_error", code: "rate_limit", message: "Too many requests" }),
    ];
    expect(
      await gateway({ maxNetworkRetries: 1, rateLimitRetries: 0 }).createPaymentIntent(REQUEST),
    ).toMatchObject({
      kind: "in_doubt",
      reason: expect.stringMatching(/500.*then rate limited/),
    });
  });
});

describe("protects the key: no outcome or thrown error carries it", () => {
  function expectScrubbed(value: unknown): void {
    const text = JSON.stringify(value);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(OTHER_KEY);
    expect(text).toContain("[redacted]");
  }

  it.each([
    [
      "a 400 (rejected)",
      stripeError(400, { type: "invalid_request_error", code: "parameter_invalid", message: ECHO }),
    ],
    [
      "a 402 on create (in doubt)",
      stripeError(402, { type: "card_error", code: "card_declined", message: ECHO }),
    ],
    [
      "a 500 (in doubt)",
      stripeError(500, { type: "api_error", message: ECHO }, { "Stripe-Should-Retry": "false" }),
    ],
  ])("%s", async (_name, answer) => {
    script = [answer];
    expectScrubbed(await gateway().createPaymentIntent(REQUEST));
  });

  it("an unexpected state on confirm and on cancel", async () => {
    const refusal = stripeError(400, {
      type: "invalid_request_error",
      code: "payment_intent_unexpected_state",
      message: ECHO,
    });
    script = [refusal, refusal];
    expectScrubbed(await gateway().confirmPaymentIntent("pi_stub_1", "pm_stub", "confirm:1"));
    expectScrubbed(await gateway().cancelPaymentIntent("pi_stub_1", "cancel:1"));
  });

  it("an unknown outcome followed by a guard refusal", async () => {
    script = [stripeError(500, { type: "api_error", message: ECHO })];
    let asked = 0;
    // The first try asks twice (before the SDK's HTTP call, at the socket); the retry is refused.
    const outcome = await gateway().createPaymentIntent(REQUEST, () => (++asked > 2 ? "lease lost" : null));
    expect(outcome).toMatchObject({
      kind: "in_doubt",
      reason: expect.stringMatching(/not retried: lease lost$/),
    });
    expectScrubbed(outcome);
  });

  it("a 401: thrown as a configuration error whose message and whole cause chain are scrubbed", async () => {
    script = [stripeError(401, { type: "invalid_request_error", message: ECHO })];
    const error = await gateway()
      .createPaymentIntent(REQUEST)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(PaymentProviderConfigError);
    expect(error).toBeInstanceOf(BillingJobError);
    const cause = (error as Error).cause;
    expect(cause).toBeInstanceOf(StripeApiFailure);
    expect(cause).toMatchObject({ statusCode: 401, requestId: "req_stub_1" });
    for (let e: unknown = error; e instanceof Error; e = e.cause) {
      expect(`${e.name} ${e.message} ${e.stack}`).not.toContain(KEY);
      expect(e.message).not.toContain(OTHER_KEY);
    }
  });
});
