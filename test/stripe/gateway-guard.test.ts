/**
 * The send guard and the gateway's own retries, against the emulator over HTTP. The invariant: no
 * request leaves the process, first try or retry, unless the guard allowed it right then, and a retry
 * is the same request (same idempotency key), never a new attempt.
 */
import { describe, expect, it } from "vitest";
import type { StripeEmulator } from "../../dev/stripe-emulator";
import { systemClock, type Clock } from "../../functions/core/clock";
import type { NewPaymentIntent, SendGuard } from "../../functions/core/payments/payment-gateway";
import type { StripeGateway, StripeGatewayOptions } from "../../functions/stripe/stripe-gateway";
import { gatewayAt, renewalAt } from "./support/gateway";
import { useEmulator } from "../support/emulator";

const CONFIRM_ROUTE = "POST /v1/payment_intents/:id/confirm";
let emulator: StripeEmulator;

useEmulator((started) => (emulator = started));

function gateway(options: Partial<StripeGatewayOptions> = {}) {
  return gatewayAt(emulator.url, options);
}

/**
 * Allows the first `allowed` tries, then refuses with `reason`. Each try asks twice: before the SDK's
 * HTTP call and at the socket (functions/stripe/http-client.ts); `asked` counts the questions.
 */
function guardAllowing(allowed: number, reason = "lease lost"): SendGuard & { asked: () => number } {
  let asked = 0;
  return Object.assign(() => (++asked > 2 * allowed ? reason : null), { asked: () => asked });
}

function requests() {
  return emulator.snapshot().requestCounts;
}

/** A PaymentIntent created for `card`, ready to confirm, and the counts before anything else. */
async function readyToConfirm(card: "succeeds" | "declines" = "succeeds") {
  const request = await renewalAt(emulator.url, card);
  const outcome = await gateway().createPaymentIntent(request);
  if (outcome.kind !== "created") throw new Error(`expected created, got ${outcome.kind}`);
  return { request, pi: outcome.paymentIntent };
}

function confirm(g: StripeGateway, request: NewPaymentIntent, id: string, guard?: SendGuard) {
  return g.confirmPaymentIntent(id, request.paymentMethodId, `${request.idempotencyKey}:c1`, guard);
}

describe("a guard that refuses before the first try", () => {
  it.each([
    ["create", (g: StripeGateway, r: NewPaymentIntent, guard: SendGuard) => g.createPaymentIntent(r, guard)],
    ["confirm", (g: StripeGateway, r: NewPaymentIntent, guard: SendGuard) => confirm(g, r, "pi_x", guard)],
    [
      "cancel",
      (g: StripeGateway, _r: NewPaymentIntent, guard: SendGuard) => g.cancelPaymentIntent("pi_x", "k", guard),
    ],
    [
      "retrieve",
      (g: StripeGateway, _r: NewPaymentIntent, guard: SendGuard) => g.retrievePaymentIntent("pi_x", guard),
    ],
    [
      "find for period",
      (g: StripeGateway, r: NewPaymentIntent, guard: SendGuard) =>
        g.findPaymentIntentsForPeriod(
          { customerId: r.customerId, subscriptionId: "s", periodStart: "p", createdSince: 0 },
          guard,
        ),
    ],
    [
      "list the job's",
      (g: StripeGateway, _r: NewPaymentIntent, guard: SendGuard) => g.listJobPaymentIntents(0, guard),
    ],
  ])("protects the lease on %s: not sent, and no request reaches Stripe", async (_name, call) => {
    const request = await renewalAt(emulator.url, "succeeds");
    const before = requests().total;
    const guard = guardAllowing(0, "lease lost: safe time ended");
    expect(await call(gateway(), request, guard)).toEqual({
      kind: "not_sent",
      reason: "lease lost: safe time ended",
    });
    expect(requests().total).toBe(before);
  });
});

describe("a guard that refuses a retry", () => {
  it.each(["timeout", "drop-after-charge"] as const)(
    "protects the lease after a %s: in doubt, and exactly one request reached Stripe (no hidden SDK retry)",
    async (kind) => {
      const { request, pi } = await readyToConfirm();
      emulator.injectNext({ kind, path: `/v1/payment_intents/${pi.id}/confirm` });
      const guard = guardAllowing(1);
      const outcome = await confirm(gateway({ timeoutMs: 500, maxNetworkRetries: 3 }), request, pi.id, guard);
      expect(outcome).toMatchObject({
        kind: "in_doubt",
        reason: expect.stringMatching(/not retried: lease lost$/),
      });
      // Twice for the try that went, once for the retry it refused.
      expect(guard.asked()).toBe(3);
      expect(requests().byRoute[CONFIRM_ROUTE]).toBe(1);
      // The one request did execute: this is why the outcome is in doubt, not "not sent".
      expect(emulator.snapshot().paymentIntents.find((p) => p.id === pi.id)?.confirmations).toBe(1);
    },
  );

  it("protects the lease after a 429 (nothing done): not sent, after the one refused request", async () => {
    const request = await renewalAt(emulator.url, "succeeds");
    emulator.injectNext({ kind: "rate-limit", path: "/v1/payment_intents" });
    const guard = guardAllowing(1);
    const outcome = await gateway({ rateLimitRetries: 3 }).createPaymentIntent(request, guard);
    expect(outcome).toEqual({ kind: "not_sent", reason: "lease lost" });
    expect(requests().byRoute["POST /v1/payment_intents"]).toBe(1);
    expect(emulator.snapshot().paymentIntents).toHaveLength(0);
  });

  it("asks the guard after the rate limiter's wait and after the backoff, right before each try", async () => {
    const { request, pi } = await readyToConfirm();
    emulator.injectNext({ kind: "timeout", path: `/v1/payment_intents/${pi.id}/confirm` });
    const order: string[] = [];
    const clock: Clock = {
      now: () => systemClock.now(),
      sleep: async (ms, signal) => (order.push("backoff"), systemClock.sleep(ms, signal)),
    };
    const g = gateway({
      clock,
      timeoutMs: 500,
      random: () => 0.5,
      beforeRequest: async () => void order.push("rate limiter"),
    });
    const outcome = await confirm(g, request, pi.id, () => (order.push("guard"), null));
    expect(outcome.kind).toBe("succeeded");
    // Each try: before the SDK's HTTP call, and at the socket.
    expect(order).toEqual(["rate limiter", "guard", "guard", "backoff", "rate limiter", "guard", "guard"]);
  });
});

describe("retries", () => {
  it("protects exactly-once: a retry after a timeout reuses the idempotency key and replays the charge", async () => {
    const { request, pi } = await readyToConfirm();
    emulator.injectNext({ kind: "timeout", path: `/v1/payment_intents/${pi.id}/confirm` });
    const outcome = await confirm(gateway({ timeoutMs: 500 }), request, pi.id);
    expect(outcome).toMatchObject({ kind: "succeeded", paymentIntentId: pi.id });
    const counts = requests();
    expect(counts.byRoute[CONFIRM_ROUTE]).toBe(2);
    expect(counts.replayed).toBe(1);
    const state = emulator.snapshot();
    // Only our keys: the SDK generated none of its own (stripe-node-retry-...).
    expect(state.paymentIntents.find((p) => p.id === pi.id)?.idempotencyKeys).toEqual([
      request.idempotencyKey,
      `${request.idempotencyKey}:c1`,
    ]);
    expect(state.charges.filter((c) => c.payment_intent === pi.id)).toHaveLength(1);
  });

  it("does not retry a saved 500 (Stripe-Should-Retry: false): one request, in doubt", async () => {
    const { request, pi } = await readyToConfirm();
    emulator.injectNext({ kind: "error500", path: `/v1/payment_intents/${pi.id}/confirm` });
    const outcome = await confirm(gateway({ maxNetworkRetries: 3 }), request, pi.id);
    expect(outcome).toMatchObject({ kind: "in_doubt", reason: expect.stringMatching(/500/) });
    expect(requests().byRoute[CONFIRM_ROUTE]).toBe(1);
  });

  it("retries an unknown outcome at most maxNetworkRetries times", async () => {
    const { request, pi } = await readyToConfirm();
    emulator.injectNext({
      kind: "drop-after-charge",
      path: `/v1/payment_intents/${pi.id}/confirm`,
      count: 10,
    });
    const outcome = await confirm(gateway({ maxNetworkRetries: 2, random: () => 0 }), request, pi.id);
    expect(outcome.kind).toBe("in_doubt");
    expect(requests().byRoute[CONFIRM_ROUTE]).toBe(3);
  });
});
