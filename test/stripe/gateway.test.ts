/**
 * The payment gateway over the real Stripe SDK, against the emulator over HTTP: every kind of answer
 * maps to its typed outcome, and no SDK error escapes to the billing code.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startStripeEmulator, type StripeEmulator } from "../../dev/stripe-emulator";
import { stripeClient, TEST_CARDS } from "../../dev/seed";
import { systemClock } from "../../functions/core/clock";
import { PaymentProviderConfigError, StripeGateway } from "../../functions/stripe/stripe-gateway";
import { renewalMetadata, type NewPaymentIntent } from "../../functions/core/payments/payment-gateway";

const KEY = "sk_test_gatewayTests";
const PERIOD = "2026-11-01T00:00:00.000Z";
let emulator: StripeEmulator;
let sequence = 0;

beforeAll(async () => {
  emulator = await startStripeEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});
beforeEach(() => {
  emulator.setFaults({});
  emulator.reset(); // also drops one-shot faults a previous test left queued
});

function gateway(options: { timeoutMs?: number; rateLimitRetries?: number; apiKey?: string } = {}) {
  const url = new URL(emulator.url);
  return new StripeGateway({
    apiKey: options.apiKey ?? KEY,
    host: url.hostname,
    port: Number(url.port),
    protocol: "http",
    clock: systemClock,
    timeoutMs: options.timeoutMs ?? 2_000,
    maxNetworkRetries: 1,
    rateLimitRetries: options.rateLimitRetries ?? 0,
  });
}

/** A customer with a saved card of the given kind, and a create request for one period. */
async function renewal(card: keyof typeof TEST_CARDS): Promise<NewPaymentIntent> {
  const stripe = stripeClient(KEY, emulator.url);
  const customer = await stripe.customers.create({});
  const pm = await stripe.paymentMethods.attach(TEST_CARDS[card], { customer: customer.id });
  const subscriptionId = `sub_gw_${++sequence}`;
  return {
    amount: 2500,
    currency: "eur",
    customerId: customer.id,
    paymentMethodId: pm.id,
    description: "test renewal",
    metadata: renewalMetadata(subscriptionId, PERIOD),
    idempotencyKey: `renew:create:${subscriptionId}`,
  };
}

async function created(request: NewPaymentIntent) {
  const outcome = await gateway().createPaymentIntent(request);
  if (outcome.kind !== "created") throw new Error(`expected created, got ${outcome.kind}`);
  return outcome.paymentIntent;
}

describe("create", () => {
  it("creates an unconfirmed PaymentIntent that moves no money, and replays it for the same key", async () => {
    const request = await renewal("succeeds");
    const first = await created(request);
    expect(first).toMatchObject({
      status: "requires_confirmation",
      amount: 2500,
      currency: "eur",
      latestChargeId: null,
    });
    expect((await created(request)).id).toBe(first.id);
    expect(emulator.snapshot().charges.filter((c) => c.payment_intent === first.id)).toHaveLength(0);
  });

  it("a refused request (unknown card) is rejected with Stripe's code", async () => {
    const request = { ...(await renewal("succeeds")), paymentMethodId: "pm_does_not_exist" };
    expect(await gateway().createPaymentIntent(request)).toMatchObject({
      kind: "rejected",
      code: "resource_missing",
    });
  });

  it("the same key with another amount is rejected (an idempotency error), not replayed", async () => {
    const request = await renewal("succeeds");
    await created(request);
    expect(await gateway().createPaymentIntent({ ...request, amount: 9999 })).toMatchObject({
      kind: "rejected",
    });
  });
});

describe("confirm", () => {
  it("succeeds with the charge id, and a second confirmation charges nothing more", async () => {
    const request = await renewal("succeeds");
    const pi = await created(request);
    const outcome = await gateway().confirmPaymentIntent(
      pi.id,
      request.paymentMethodId,
      `${request.idempotencyKey}:c1`,
    );
    expect(outcome).toMatchObject({
      kind: "succeeded",
      paymentIntentId: pi.id,
      chargeId: expect.stringMatching(/^ch_/),
    });
    // The same key replays the success; a new key is refused by the state machine.
    expect(
      await gateway().confirmPaymentIntent(pi.id, request.paymentMethodId, `${request.idempotencyKey}:c1`),
    ).toMatchObject({ kind: "succeeded" });
    expect(
      await gateway().confirmPaymentIntent(pi.id, request.paymentMethodId, `${request.idempotencyKey}:c2`),
    ).toMatchObject({ kind: "unexpected_state" });
    expect(
      emulator.snapshot().charges.filter((c) => c.payment_intent === pi.id && c.status === "succeeded"),
    ).toHaveLength(1);
  });

  it("a decline carries Stripe's code and decline code", async () => {
    const request = await renewal("declines");
    const pi = await created(request);
    expect(
      await gateway().confirmPaymentIntent(pi.id, request.paymentMethodId, `${request.idempotencyKey}:c1`),
    ).toEqual({
      kind: "declined",
      paymentIntentId: pi.id,
      code: "card_declined",
      declineCode: "generic_decline",
    });
  });

  it("a card that needs 3-D Secure off-session needs the customer", async () => {
    const request = await renewal("needsAuthentication");
    const pi = await created(request);
    expect(
      await gateway().confirmPaymentIntent(pi.id, request.paymentMethodId, `${request.idempotencyKey}:c1`),
    ).toMatchObject({
      kind: "needs_customer_action",
      paymentIntentId: pi.id,
    });
  });
});

describe("unknown outcomes and limits", () => {
  it.each(["error500", "error500-after-commit", "timeout", "drop-after-charge"] as const)(
    "a %s on confirm is in doubt (the SDK's own retry replays the saved answer, or finds the key in flight)",
    async (kind) => {
      const request = await renewal("succeeds");
      const pi = await created(request);
      emulator.injectNext({ kind, path: `/v1/payment_intents/${pi.id}/confirm`, count: 5 });
      const outcome = await gateway({ timeoutMs: 800 }).confirmPaymentIntent(
        pi.id,
        request.paymentMethodId,
        `${request.idempotencyKey}:c1`,
      );
      // A drop after the charge can be healed by the SDK's retry replaying the saved success.
      if (kind === "drop-after-charge") expect(["in_doubt", "succeeded"]).toContain(outcome.kind);
      else expect(outcome.kind).toBe("in_doubt");
    },
  );

  it("a 429 is retried by the gateway, then reported as rate limited", async () => {
    const request = await renewal("succeeds");
    emulator.injectNext({ kind: "rate-limit", path: "/v1/payment_intents", count: 1 });
    expect((await gateway({ rateLimitRetries: 2 }).createPaymentIntent(request)).kind).toBe("created");
    emulator.injectNext({ kind: "rate-limit", path: "/v1/payment_intents", count: 3 });
    expect(
      await gateway({ rateLimitRetries: 1 }).createPaymentIntent({
        ...request,
        idempotencyKey: `${request.idempotencyKey}:b`,
      }),
    ).toEqual({ kind: "rate_limited" });
  });

  it("a refused API key stops the run instead of failing each charge", async () => {
    const request = await renewal("succeeds");
    await expect(gateway({ apiKey: "not-a-key" }).createPaymentIntent(request)).rejects.toBeInstanceOf(
      PaymentProviderConfigError,
    );
  });
});

describe("look-ups", () => {
  it("retrieves a PaymentIntent, and reports an unknown id as not found", async () => {
    const request = await renewal("succeeds");
    const pi = await created(request);
    expect(await gateway().retrievePaymentIntent(pi.id)).toMatchObject({
      kind: "found",
      paymentIntent: { id: pi.id },
    });
    expect(await gateway().retrievePaymentIntent("pi_unknown123")).toEqual({ kind: "not_found" });
  });

  it("finds the period's PaymentIntents by listing the customer's, filtered on the period's metadata", async () => {
    const request = await renewal("succeeds");
    const pi = await created(request);
    const other = await created({
      ...request,
      metadata: renewalMetadata("sub_someone_else", PERIOD),
      idempotencyKey: `${request.idempotencyKey}:x`,
    });
    const found = await gateway().findPaymentIntentsForPeriod({
      customerId: request.customerId,
      subscriptionId: request.metadata.subscription_id!,
      periodStart: PERIOD,
      createdSince: 0,
    });
    expect(found.kind === "found" && found.paymentIntents.map((p) => p.id)).toEqual([pi.id]);
    expect(other.id).not.toBe(pi.id);
  });
});
