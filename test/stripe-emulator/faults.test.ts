/**
 * Each fault mode does what the FaultPlan says, checked over HTTP: latency, the token bucket, random and
 * injected 429s and 500s (saved and replayed like Stripe's), timeouts and dropped connections that
 * committed first, the `paths` filter, the seeded PRNG's determinism, and a paused process's requests
 * (held, or retried by the SDK) arriving after their idempotency keys expired.
 */
import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startStripeEmulator, type StripeEmulator } from "../../dev/stripe-emulator";
import { waitFor } from "../support/pause";
import { AUTH, errorOf, raw } from "./support/http";
import { emulatorClient, rejection, useEmulatorAndClient } from "./support/target";

let emulator: StripeEmulator;
let stripe: Stripe;

useEmulatorAndClient((started) => ({ emulator, stripe } = started), { seed: 42 });

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

  it("logs when a request was sent apart from when it executed: latency delays only the execution", async () => {
    emulator.setFaults({ latencyMs: 200 });
    const before = Date.now();
    await stripe.customers.create({});
    const entry = emulator.requestLog().entries.at(-1)!;
    expect(entry.sentAt).toBeGreaterThanOrEqual(before);
    expect(entry.at - entry.sentAt).toBeGreaterThanOrEqual(180);
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

/**
 * What a billing contender paused by SIGSTOP looks like from Stripe's side, once a standby has taken over
 * and settled the period and a day has gone by. Both protect the chaos suite's "attempts fenced" and
 * "no stray PaymentIntents" invariants: if the emulator did not run these late requests as new ones, the
 * checker could never see a superseded leader try a card again or leave a second PaymentIntent behind.
 */
describe("a paused process's requests, after its idempotency keys expired", () => {
  const HOUR = 3_600_000;
  const ZOMBIE = "sk_test_zombie";
  const STANDBY = "sk_test_standby";
  const CONFIRM = "^/v1/payment_intents/[^/]+/confirm$";
  let own: StripeEmulator;

  beforeAll(async () => {
    // One account, two senders: idempotency keys are shared as between two processes of one job.
    own = await startStripeEmulator({ seed: 5, singleAccount: true, freezeClock: true });
  });
  afterAll(async () => {
    await own?.stop();
  });
  beforeEach(() => own.reset());

  const client = (apiKey: string, o: { timeoutMs?: number; maxNetworkRetries?: number } = {}) =>
    emulatorClient(own, { apiKey, ...o });
  /** The period's PaymentIntent, created unconfirmed by the standby, on a card that declines. */
  const unconfirmed = async () => {
    const pi = await client(STANDBY).paymentIntents.create(
      { ...params, payment_method: "pm_card_visa_chargeDeclined", confirm: false, off_session: undefined },
      { idempotencyKey: "k-create" },
    );
    const confirmParams = { off_session: true, payment_method: pi.payment_method as string };
    return {
      pi,
      confirm: (apiKey: string, o = {}) =>
        client(apiKey, o).paymentIntents.confirm(pi.id, confirmParams, { idempotencyKey: "k-confirm" }),
    };
  };
  const executedConfirms = () =>
    own
      .requestLog()
      .entries.filter((e) => e.route === "POST /v1/payment_intents/:id/confirm" && e.executed)
      .map((e) => ({ apiKey: e.apiKey, cardAttempt: e.cardAttempt, outcome: e.outcome, held: e.heldMs > 0 }));

  it("(a) a confirm held in the paused process runs as a new card attempt once the clock passes its release point", async () => {
    const { pi, confirm } = await unconfirmed();
    own.injectNext({ kind: "hold", path: CONFIRM, apiKey: ZOMBIE, releaseAfterMs: 24 * HOUR + 60_000 });
    const late = rejection(confirm(ZOMBIE, { timeoutMs: 200 }));
    await waitFor(() => own.heldRequests().length === 1, 5_000, "the zombie's confirm to be held");
    expect(own.heldRequests()[0]).toMatchObject({
      apiKey: ZOMBIE,
      path: `/v1/payment_intents/${pi.id}/confirm`,
      idempotencyKey: "k-confirm",
      paymentIntent: pi.id,
      releaseAt: own.now() + 24 * HOUR + 60_000,
    });
    // The zombie's client gives up; nothing was executed or claimed, so the standby's confirm runs.
    expect(await late).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(await rejection(confirm(STANDBY))).toBeInstanceOf(Stripe.errors.StripeCardError);

    own.advanceClock(24 * HOUR);
    expect(own.heldRequests()).toHaveLength(1);
    const released = Date.now();
    own.advanceClock(HOUR);
    expect(own.heldRequests()).toHaveLength(0);
    await waitFor(() => executedConfirms().length === 2, 5_000, "the released confirm to execute");
    // It left the paused process only when released: that, not its first arrival, is when it was sent.
    const zombieConfirm = own.requestLog().entries.find((e) => e.apiKey === ZOMBIE && e.executed)!;
    expect(zombieConfirm.sentAt).toBeGreaterThanOrEqual(released);
    expect(executedConfirms()).toEqual([
      { apiKey: STANDBY, cardAttempt: true, outcome: 402, held: false },
      { apiKey: ZOMBIE, cardAttempt: true, outcome: 402, held: true },
    ]);
    expect(own.snapshot().paymentIntents[0]!.confirmations).toBe(2);
    expect(own.snapshot().charges.filter((c) => c.status === "failed")).toHaveLength(2);
  });

  it("(a) released while its key is still saved, the held confirm is only a replay", async () => {
    const { confirm } = await unconfirmed();
    own.injectNext({ kind: "hold", path: CONFIRM, apiKey: ZOMBIE });
    const late = confirm(ZOMBIE).catch((e: unknown) => e);
    await waitFor(() => own.heldRequests().length === 1, 5_000, "the zombie's confirm to be held");
    await rejection(confirm(STANDBY));
    own.advanceClock(23 * HOUR);
    expect(own.heldRequests()).toHaveLength(1); // no release point: only by hand
    expect(own.releaseHeld({ apiKey: ZOMBIE })).toBe(1);
    const answer = (await late) as Stripe.errors.StripeCardError;
    expect(answer.headers?.["idempotent-replayed"]).toBe("true");
    expect(executedConfirms()).toEqual([{ apiKey: STANDBY, cardAttempt: true, outcome: 402, held: false }]);
    expect(own.snapshot().paymentIntents[0]!.confirmations).toBe(1);
  });

  it("(a) a held create released after the window makes a second PaymentIntent for the period", async () => {
    own.injectNext({
      kind: "hold",
      path: "^/v1/payment_intents$",
      apiKey: ZOMBIE,
      releaseAfterMs: 25 * HOUR,
    });
    const createParams = { ...params, confirm: false, off_session: undefined, metadata: { period: "p1" } };
    const late = client(ZOMBIE).paymentIntents.create(createParams, { idempotencyKey: "k-create" });
    await waitFor(() => own.heldRequests().length === 1, 5_000, "the zombie's create to be held");
    expect(own.heldRequests()[0]).toMatchObject({ paymentIntent: null, metadata: { period: "p1" } });
    const first = await client(STANDBY).paymentIntents.create(createParams, { idempotencyKey: "k-create" });
    own.advanceClock(25 * HOUR);
    const second = await late;
    expect(second.id).not.toBe(first.id);
    expect(second.lastResponse.headers["idempotent-replayed"]).toBeUndefined();
    expect(own.snapshot().paymentIntents.map((p) => [p.metadata.period, p.status])).toEqual([
      ["p1", "requires_confirmation"],
      ["p1", "requires_confirmation"],
    ]);
    const creates = own.requestLog().entries.filter((e) => e.route === "POST /v1/payment_intents");
    expect(creates.map((e) => [e.apiKey, e.paymentIntent])).toEqual([
      [STANDBY, first.id],
      [ZOMBIE, second.id],
    ]);
  });

  it("a hold aimed at one sender lets the others through, and can be canceled before it strikes", async () => {
    own.injectNext({ kind: "hold", apiKey: ZOMBIE, count: 2 });
    await expect(client(STANDBY).customers.create({})).resolves.toMatchObject({ object: "customer" });
    expect(own.heldRequests()).toHaveLength(0);
    expect(own.cancelInjected(ZOMBIE)).toBe(2);
    await expect(client(ZOMBIE).customers.create({})).resolves.toMatchObject({ object: "customer" });
  });

  it("(b) the SDK's own retry after the process slept past the key's window is a new card attempt", async () => {
    const { confirm } = await unconfirmed();
    // The answer never comes while the process sleeps; on waking, its timer fires and the SDK retries.
    own.injectNext({ kind: "timeout", path: CONFIRM, apiKey: ZOMBIE });
    const pending = rejection(confirm(ZOMBIE, { timeoutMs: 300, maxNetworkRetries: 1 }));
    await waitFor(() => executedConfirms().length === 1, 5_000, "the first confirm to execute");
    own.advanceClock(25 * HOUR);
    expect(await pending).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(executedConfirms()).toEqual([
      { apiKey: ZOMBIE, cardAttempt: true, outcome: "timeout", held: false },
      { apiKey: ZOMBIE, cardAttempt: true, outcome: 402, held: false },
    ]);
    expect(own.snapshot().paymentIntents[0]!.confirmations).toBe(2);
  });

  it("(b) a dropped answer, then the same request with the same key after the window: executed again, not replayed", async () => {
    const { pi } = await unconfirmed();
    const send = () =>
      raw(own.url, {
        method: "POST",
        path: `/v1/payment_intents/${pi.id}/confirm`,
        headers: { Authorization: `Bearer ${ZOMBIE}`, "Idempotency-Key": "k-confirm" },
        body: `off_session=true&payment_method=${pi.payment_method as string}`,
      });
    own.injectNext({ kind: "drop-after-charge", path: CONFIRM, apiKey: ZOMBIE });
    await expect(send()).rejects.toMatchObject({ code: "ECONNRESET" });
    own.advanceClock(24 * HOUR);
    const retried = await send();
    expect(retried.status).toBe(402);
    expect(retried.headers["idempotent-replayed"]).toBeUndefined();
    expect(executedConfirms().map((e) => e.outcome)).toEqual(["dropped", 402]);
  });
});
