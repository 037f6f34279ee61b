/**
 * Each fault mode does what the FaultPlan says, checked over HTTP: latency, the token bucket, random and
 * injected 429s and 500s (saved and replayed like Stripe's), timeouts and dropped connections that
 * committed first, the `paths` filter, and the seeded PRNG's determinism.
 */
import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startStripeEmulator, type StripeEmulator } from "../../dev/stripe-emulator";
import { AUTH, errorOf, raw } from "./support/http";
import { emulatorClient, rejection } from "./support/target";

let emulator: StripeEmulator;
let stripe: Stripe;

beforeAll(async () => {
  emulator = await startStripeEmulator({ seed: 42 });
  stripe = emulatorClient(emulator);
});
afterAll(async () => {
  await emulator?.stop();
});
beforeEach(() => {
  emulator.reset();
  emulator.setFaults({});
});

const params: Stripe.PaymentIntentCreateParams = {
  amount: 1800,
  currency: "eur",
  payment_method: "pm_card_visa",
  allowed_payment_method_types: ["card"],
  confirm: true,
  off_session: true,
};

const paymentIntents = () => emulator.snapshot().paymentIntents;

describe("latency", () => {
  it("delays every request by the plan's latency", async () => {
    const customer = await stripe.customers.create({});
    emulator.setFaults({ latencyMs: 200 });
    const started = performance.now();
    await stripe.customers.retrieve(customer.id);
    expect(performance.now() - started).toBeGreaterThanOrEqual(180);
  });

  it("takes a latency range from the seeded PRNG", async () => {
    emulator.setFaults({ latencyMs: { min: 50, max: 100 } });
    const started = performance.now();
    await stripe.customers.create({});
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });
});

describe("rate limits", () => {
  it("a token bucket answers 429 rate_limit beyond its rate, with Stripe's body, and saves nothing", async () => {
    emulator.setFaults({ rateLimit: { requestsPerSecond: 1, burst: 2 } });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        stripe.paymentIntents.create(params, { idempotencyKey: `k-bucket-${i}` }),
      ),
    );
    const limited = results.flatMap((r) =>
      r.status === "rejected" ? [r.reason as Stripe.errors.StripeError] : [],
    );
    expect(limited.length).toBeGreaterThanOrEqual(3);
    for (const error of limited) {
      expect(error).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
      expect(error.statusCode).toBe(429);
      expect(error.rawType).toBe("invalid_request_error");
      expect(error.code).toBe("rate_limit");
    }
    expect(paymentIntents()).toHaveLength(6 - limited.length);

    // Nothing was saved under a limited request's key: once the bucket refills, it executes afresh.
    emulator.setFaults({});
    const limitedIndex = results.findIndex((r) => r.status === "rejected");
    const retried = await stripe.paymentIntents.create(params, {
      idempotencyKey: `k-bucket-${limitedIndex}`,
    });
    expect(retried.lastResponse.headers["idempotent-replayed"]).toBeUndefined();
    expect(retried.status).toBe("succeeded");
  });

  it("rateLimit429Rate answers 429 at random, only on the plan's paths", async () => {
    emulator.setFaults({ rateLimit429Rate: 1, paths: ["/v1/payment_intents"] });
    const error = await rejection(stripe.paymentIntents.create(params));
    expect(error).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(paymentIntents()).toHaveLength(0);
    await expect(stripe.customers.create({})).resolves.toMatchObject({ object: "customer" });
  });

  it("a one-shot rate-limit strikes once", async () => {
    emulator.injectNext({ kind: "rate-limit" });
    const raw429 = await raw(emulator.url, {
      method: "POST",
      path: "/v1/customers",
      headers: AUTH,
      body: "",
    });
    expect(raw429.status).toBe(429);
    expect(errorOf(raw429)).toMatchObject({ type: "invalid_request_error", code: "rate_limit" });
    expect(raw429.headers["request-id"]).toMatch(/^req_/);
    await expect(stripe.customers.create({})).resolves.toMatchObject({ object: "customer" });
  });
});

describe("500s", () => {
  it("a 500 before the commit is saved under the key and replayed, and the SDK is told not to retry", async () => {
    emulator.injectNext({ kind: "error500", path: "/v1/payment_intents" });
    const retrying = emulatorClient(emulator, { maxNetworkRetries: 2 });
    const error = await rejection(retrying.paymentIntents.create(params, { idempotencyKey: "k-500" }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(error.statusCode).toBe(500);
    expect(error.rawType).toBe("api_error");
    expect(error.headers?.["stripe-should-retry"]).toBe("false");
    expect(emulator.snapshot().requestCounts.total).toBe(1);
    expect(paymentIntents()).toHaveLength(0);

    const replay = await rejection(stripe.paymentIntents.create(params, { idempotencyKey: "k-500" }));
    expect(replay.statusCode).toBe(500);
    expect(replay.headers?.["idempotent-replayed"]).toBe("true");
    expect(paymentIntents()).toHaveLength(0);
  });

  it("a 500 after the commit: the charge happened, the answer is a 500, and it is replayed", async () => {
    emulator.injectNext({ kind: "error500-after-commit", path: "/v1/payment_intents" });
    const error = await rejection(stripe.paymentIntents.create(params, { idempotencyKey: "k-500-after" }));
    expect(error.statusCode).toBe(500);
    expect(paymentIntents()).toHaveLength(1);
    expect(paymentIntents()[0]!.status).toBe("succeeded");
    const replay = await rejection(stripe.paymentIntents.create(params, { idempotencyKey: "k-500-after" }));
    expect(replay.statusCode).toBe(500);
    // The way out is a strongly consistent lookup.
    const listed = await stripe.paymentIntents.list({ limit: 10 });
    expect(listed.data.map((pi) => pi.status)).toEqual(["succeeded"]);
  });

  it("a 500 without a key saves nothing and lets the SDK retry", async () => {
    emulator.injectNext({ kind: "error500", path: "/v1/customers/" });
    const customer = await stripe.customers.create({});
    const retrying = emulatorClient(emulator, { maxNetworkRetries: 1 });
    const found = await retrying.customers.retrieve(customer.id);
    expect(found.id).toBe(customer.id);
    expect(emulator.snapshot().requestCounts.byStatus["500"]).toBe(1);
  });

  it("error500Rate strikes half the time before and half after the commit", async () => {
    emulator.setFaults({ error500Rate: 1, paths: ["/v1/payment_intents"] });
    const results = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) =>
        stripe.paymentIntents.create(params, { idempotencyKey: `k-rate-${i}` }),
      ),
    );
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    const committed = paymentIntents().length;
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(16);
  });

  it("faults follow the seed: the same plan and seed fail the same requests", async () => {
    const outcomes = async (): Promise<number[]> => {
      const seeded = await startStripeEmulator({ seed: 7, faults: { error500Rate: 0.5 } });
      const client = emulatorClient(seeded);
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const status = await client.customers.create({}).then(
          () => 200,
          (e: Stripe.errors.StripeError) => e.statusCode ?? 0,
        );
        statuses.push(status);
      }
      await seeded.stop();
      return statuses;
    };
    const first = await outcomes();
    expect(first).toContain(500);
    expect(first).toContain(200);
    expect(await outcomes()).toEqual(first);
  });
});

describe("no response", () => {
  it("a timeout: the client gives up, the admin state shows the commit, a retry replays it", async () => {
    emulator.injectNext({ kind: "timeout", path: "/v1/payment_intents" });
    const impatient = emulatorClient(emulator, { timeoutMs: 300 });
    const error = await rejection(impatient.paymentIntents.create(params, { idempotencyKey: "k-timeout" }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(error.message).toMatch(/timeout/);
    expect(paymentIntents()).toHaveLength(1);
    expect(paymentIntents()[0]!.status).toBe("succeeded");
    expect(emulator.snapshot().requestCounts.byStatus.timeout).toBe(1);

    const retry = await stripe.paymentIntents.create(params, { idempotencyKey: "k-timeout" });
    expect(retry.id).toBe(paymentIntents()[0]!.id);
    expect(retry.lastResponse.headers["idempotent-replayed"]).toBe("true");
  });

  it("timeoutRate holds responses at random on the plan's paths", async () => {
    emulator.setFaults({ timeoutRate: 1, paths: ["^/v1/customers$"] });
    const impatient = emulatorClient(emulator, { timeoutMs: 200 });
    await expect(rejection(impatient.customers.create({}))).resolves.toBeInstanceOf(
      Stripe.errors.StripeConnectionError,
    );
    expect(emulator.snapshot().customers).toHaveLength(1);
    const pi = await stripe.paymentIntents.create(params);
    expect(pi.status).toBe("succeeded");
  });

  it("stop() closes held sockets: the client fails at once instead of waiting for its timeout", async () => {
    const own = await startStripeEmulator();
    own.injectNext({ kind: "timeout" });
    const patient = emulatorClient(own, { timeoutMs: 30_000 });
    const pending = rejection(patient.customers.create({}));
    while (own.snapshot().requestCounts.total === 0) await new Promise((r) => setTimeout(r, 10));
    const started = performance.now();
    await own.stop();
    const error = await pending;
    expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("dropAfterChargeRate destroys the socket after committing", async () => {
    emulator.setFaults({ dropAfterChargeRate: 1, paths: ["/v1/payment_intents"] });
    const body =
      "amount=1800&currency=eur&payment_method=pm_card_visa&allowed_payment_method_types[0]=card&confirm=true&off_session=true";
    const error = await raw(emulator.url, {
      method: "POST",
      path: "/v1/payment_intents",
      headers: { ...AUTH, "Idempotency-Key": "k-drop-rate" },
      body,
    }).then(
      () => null,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(error?.code).toBe("ECONNRESET");
    expect(paymentIntents()).toHaveLength(1);
  });

  it("one-shot faults honour path and count, then stop", async () => {
    emulator.injectNext({ kind: "error500", path: "/v1/customers", count: 2 });
    expect(emulator.snapshot().pendingInjections).toBe(2);
    await expect(stripe.paymentIntents.create(params)).resolves.toMatchObject({ status: "succeeded" });
    expect((await rejection(stripe.customers.create({}))).statusCode).toBe(500);
    expect((await rejection(stripe.customers.create({}))).statusCode).toBe(500);
    await expect(stripe.customers.create({})).resolves.toMatchObject({ object: "customer" });
    expect(emulator.snapshot().pendingInjections).toBe(0);
  });
});
