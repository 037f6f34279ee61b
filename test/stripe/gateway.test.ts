/**
 * The payment gateway over the real Stripe SDK, against the emulator over HTTP: every kind of answer
 * maps to its typed outcome, and no SDK error escapes to the billing code.
 */
import { describe, expect, it } from "vitest";
import type { StripeEmulator } from "../../dev/stripe-emulator";
import { stripeClient, type TestCard } from "../../dev/seed";
import { PaymentProviderConfigError, type StripeGatewayOptions } from "../../functions/stripe/stripe-gateway";
import {
  JOB_METADATA_SOURCE,
  renewalMetadata,
  type NewPaymentIntent,
} from "../../functions/core/payments/payment-gateway";
import { gatewayAt, KEY, PERIOD, renewalAt } from "./support/gateway";
import { useEmulator } from "../support/emulator";

let emulator: StripeEmulator;

useEmulator((started) => (emulator = started));

function gateway(options: Partial<StripeGatewayOptions> = {}) {
  return gatewayAt(emulator.url, options);
}

function renewal(card: TestCard): Promise<NewPaymentIntent> {
  return renewalAt(emulator.url, card);
}

async function created(request: NewPaymentIntent) {
  const outcome = await gateway().createPaymentIntent(request);
  if (outcome.kind !== "created") throw new Error(`expected created, got ${outcome.kind}`);
  return outcome.paymentIntent;
}

function chargesOf(paymentIntentId: string) {
  return emulator.snapshot().charges.filter((c) => c.payment_intent === paymentIntentId);
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
    expect(chargesOf(first.id)).toHaveLength(0);
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
    "a %s on every try of a confirm is in doubt (the gateway's retries, same key, learn nothing more)",
    async (kind) => {
      const request = await renewal("succeeds");
      const pi = await created(request);
      emulator.injectNext({ kind, path: `/v1/payment_intents/${pi.id}/confirm`, count: 5 });
      const outcome = await gateway({ timeoutMs: 800 }).confirmPaymentIntent(
        pi.id,
        request.paymentMethodId,
        `${request.idempotencyKey}:c1`,
      );
      expect(outcome.kind).toBe("in_doubt");
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
      metadata: renewalMetadata("sub_someone_else", PERIOD, 1),
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

describe("cancel", () => {
  it("cancels an unconfirmed PaymentIntent; the same key replays it, a new key is refused", async () => {
    const request = await renewal("succeeds");
    const pi = await created(request);
    const outcome = await gateway().cancelPaymentIntent(pi.id, `${request.idempotencyKey}:x1`);
    expect(outcome).toMatchObject({ kind: "canceled", paymentIntent: { id: pi.id, status: "canceled" } });
    expect(await gateway().cancelPaymentIntent(pi.id, `${request.idempotencyKey}:x1`)).toEqual(outcome);
    expect(await gateway().cancelPaymentIntent(pi.id, `${request.idempotencyKey}:x2`)).toMatchObject({
      kind: "unexpected_state",
      paymentIntentId: pi.id,
    });
  });

  it("cancels a declined PaymentIntent (requires_payment_method), keeping why it was declined", async () => {
    const request = await renewal("declines");
    const pi = await created(request);
    await gateway().confirmPaymentIntent(pi.id, request.paymentMethodId, `${request.idempotencyKey}:c1`);
    expect(await gateway().cancelPaymentIntent(pi.id, `${request.idempotencyKey}:x1`)).toMatchObject({
      kind: "canceled",
      paymentIntent: {
        status: "canceled",
        lastError: { code: "card_declined", declineCode: "generic_decline" },
      },
    });
  });

  it("refuses to cancel a succeeded PaymentIntent, and the charge stands", async () => {
    const request = await renewal("succeeds");
    const pi = await created(request);
    await gateway().confirmPaymentIntent(pi.id, request.paymentMethodId, `${request.idempotencyKey}:c1`);
    expect(await gateway().cancelPaymentIntent(pi.id, `${request.idempotencyKey}:x1`)).toMatchObject({
      kind: "unexpected_state",
      paymentIntentId: pi.id,
    });
    expect(await gateway().retrievePaymentIntent(pi.id)).toMatchObject({
      paymentIntent: { status: "succeeded" },
    });
    expect(chargesOf(pi.id).filter((c) => c.status === "succeeded" && !c.refunded)).toHaveLength(1);
  });

  it("reports an unknown id as not found", async () => {
    expect(await gateway().cancelPaymentIntent("pi_unknown123", "cancel:unknown")).toEqual({
      kind: "not_found",
    });
  });

  it("protects: a canceled PaymentIntent can never be confirmed, so a late confirm moves no money", async () => {
    const request = await renewal("succeeds");
    const pi = await created(request);
    await gateway().cancelPaymentIntent(pi.id, `${request.idempotencyKey}:x1`);
    expect(
      await gateway().confirmPaymentIntent(pi.id, request.paymentMethodId, `${request.idempotencyKey}:c1`),
    ).toMatchObject({ kind: "unexpected_state", paymentIntentId: pi.id });
    expect(chargesOf(pi.id)).toHaveLength(0);
    expect(emulator.snapshot().paymentIntents.find((p) => p.id === pi.id)?.confirmations).toBe(0);
  });
});

describe("the job's PaymentIntents", () => {
  /** `count` PaymentIntents straight through the SDK, with the job's metadata or another's. */
  async function createMany(count: number, source: string | null): Promise<string[]> {
    const stripe = stripeClient(KEY, emulator.url);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const pi = await stripe.paymentIntents.create({
        amount: 1000,
        currency: "eur",
        metadata: source === null ? { note: "not the job's" } : { source, subscription_id: `sub_${i}` },
      });
      ids.push(pi.id);
    }
    return ids;
  }

  it("lists, over every page, the job's PaymentIntents created since the given time, and no others", async () => {
    await createMany(2, JOB_METADATA_SOURCE); // created before `since`
    emulator.advanceClock(3_600_000);
    const since = Math.floor(emulator.now() / 1000);
    const mine = await createMany(104, JOB_METADATA_SOURCE); // more than one page of 100
    await createMany(3, null);
    await createMany(2, "another-integration");
    const outcome = await gateway().listJobPaymentIntents(since);
    expect(outcome.kind).toBe("found");
    const found = outcome.kind === "found" ? outcome.paymentIntents.map((p) => p.id) : [];
    expect(found.sort()).toEqual([...mine].sort());
    expect(emulator.snapshot().requestCounts.byRoute["GET /v1/payment_intents"]).toBe(2);
  });

  it("protects the lease: the guard is asked before every page, and a refusal sends no further page", async () => {
    await createMany(101, JOB_METADATA_SOURCE);
    let asked = 0;
    // The first page asks twice (before the SDK's HTTP call, at the socket); the second is refused.
    const outcome = await gateway().listJobPaymentIntents(0, () => (++asked > 2 ? "lease lost" : null));
    expect(outcome).toEqual({ kind: "not_sent", reason: "lease lost" });
    expect(asked).toBe(3);
    expect(emulator.snapshot().requestCounts.byRoute["GET /v1/payment_intents"]).toBe(1);
  });
});
