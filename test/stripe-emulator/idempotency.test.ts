/**
 * The emulator's idempotency layer where only the emulator can be steered: keys held in flight by
 * latency, crashes after the charge, and the 24-hour expiry on the emulator's clock.
 */
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { startStripeEmulator, type StripeEmulator } from "../../dev/stripe-emulator";
import { AUTH, raw } from "./support/http";
import { emulatorClient, rejection, useEmulatorAndClient } from "./support/target";

const DAY_MS = 24 * 60 * 60 * 1000;
let emulator: StripeEmulator;
let stripe: Stripe;

useEmulatorAndClient((started) => ({ emulator, stripe } = started), { seed: 1 });

const params: Stripe.PaymentIntentCreateParams = {
  amount: 2500,
  currency: "usd",
  payment_method: "pm_card_visa",
  allowed_payment_method_types: ["card"],
  confirm: true,
  off_session: true,
  metadata: { subscription_id: "sub_1", period: "2026-11" },
};

const succeededCharges = () => emulator.snapshot().charges.filter((c) => c.status === "succeeded");

describe("a key in flight", () => {
  it("concurrent creates with one key make one PaymentIntent; the others get 409 while it is in flight", async () => {
    emulator.setFaults({ latencyMs: 300 });
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () =>
        stripe.paymentIntents.create(params, { idempotencyKey: "k-concurrent" }),
      ),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    const refused = results.flatMap((r) =>
      r.status === "rejected" ? [r.reason as Stripe.errors.StripeError] : [],
    );
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(4);
    for (const error of refused) {
      expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
      expect(error.statusCode).toBe(409);
      expect(error.code).toBe("idempotency_key_in_use");
    }
    const snapshot = emulator.snapshot();
    expect(snapshot.paymentIntents).toHaveLength(1);
    expect(snapshot.paymentIntents[0]!.idempotencyKeys).toEqual(["k-concurrent"]);
    expect(succeededCharges()).toHaveLength(1);
    // Nothing was saved for the 409s: a retry now replays the first request's result.
    const retry = await stripe.paymentIntents.create(params, { idempotencyKey: "k-concurrent" });
    expect(retry.id).toBe(snapshot.paymentIntents[0]!.id);
    expect(retry.lastResponse.headers["idempotent-replayed"]).toBe("true");
  });

  it("the SDK's own retries turn those 409s into replays of the one PaymentIntent", async () => {
    emulator.setFaults({ latencyMs: 200 });
    const retrying = emulatorClient(emulator, { maxNetworkRetries: 2 });
    const results = await Promise.all(
      Array.from({ length: 3 }, () =>
        retrying.paymentIntents.create(params, { idempotencyKey: "k-sdk-retries" }),
      ),
    );
    expect(new Set(results.map((pi) => pi.id)).size).toBe(1);
    expect(emulator.snapshot().requestCounts.byStatus["409"]).toBeGreaterThan(0);
    expect(succeededCharges()).toHaveLength(1);
  });

  it("two confirmations of one PaymentIntent with different keys charge once", async () => {
    const pi = await stripe.paymentIntents.create({ ...params, confirm: false, off_session: undefined });
    emulator.setFaults({ latencyMs: 150 });
    const results = await Promise.allSettled([
      stripe.paymentIntents.confirm(pi.id, { off_session: true }, { idempotencyKey: "confirm-a" }),
      stripe.paymentIntents.confirm(pi.id, { off_session: true }, { idempotencyKey: "confirm-b" }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = results.find((r) => r.status === "rejected")!.reason as Stripe.errors.StripeError;
    expect(refused.code).toBe("payment_intent_unexpected_state");
    expect(succeededCharges()).toHaveLength(1);
    expect(emulator.snapshot().paymentIntents[0]!.confirmations).toBe(1);
  });
});

describe("what is saved under a key", () => {
  it("a body change under the same key is refused, and executes nothing", async () => {
    await stripe.paymentIntents.create(params, { idempotencyKey: "k-body" });
    const error = await rejection(
      stripe.paymentIntents.create({ ...params, amount: 2600 }, { idempotencyKey: "k-body" }),
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    const metadataChanged = await rejection(
      stripe.paymentIntents.create(
        { ...params, metadata: { subscription_id: "sub_2" } },
        { idempotencyKey: "k-body" },
      ),
    );
    expect(metadataChanged).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(emulator.snapshot().paymentIntents).toHaveLength(1);
  });

  it("parameter order does not matter, values do", async () => {
    const body = "amount=1000&currency=usd&allowed_payment_method_types[0]=card&metadata[a]=1&metadata[b]=2";
    const reordered =
      "metadata[b]=2&currency=usd&metadata[a]=1&allowed_payment_method_types[0]=card&amount=1000";
    const headers = { ...AUTH, "Idempotency-Key": "k-order" };
    const first = await raw(emulator.url, { method: "POST", path: "/v1/payment_intents", headers, body });
    const second = await raw(emulator.url, {
      method: "POST",
      path: "/v1/payment_intents",
      headers,
      body: reordered,
    });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect((second.body as { id: string }).id).toBe((first.body as { id: string }).id);
  });

  it("the same key on another PaymentIntent's confirm is an idempotency_error", async () => {
    const a = await stripe.paymentIntents.create({ ...params, confirm: false, off_session: undefined });
    const b = await stripe.paymentIntents.create({ ...params, confirm: false, off_session: undefined });
    await stripe.paymentIntents.confirm(a.id, { off_session: true }, { idempotencyKey: "k-confirm" });
    const error = await rejection(
      stripe.paymentIntents.confirm(b.id, { off_session: true }, { idempotencyKey: "k-confirm" }),
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect((await stripe.paymentIntents.retrieve(b.id)).status).toBe("requires_confirmation");
  });

  it("keys are scoped to the API key: another account's key is a different key", async () => {
    const other = emulatorClient(emulator, { apiKey: "sk_test_another_account" });
    const mine = await stripe.paymentIntents.create(params, { idempotencyKey: "k-account" });
    const theirs = await other.paymentIntents.create(params, { idempotencyKey: "k-account" });
    expect(theirs.id).not.toBe(mine.id);
    expect(theirs.lastResponse.headers["idempotent-replayed"]).toBeUndefined();
  });

  it("a replay after a crash (connection dropped after the charge) returns the same object, replayed", async () => {
    emulator.injectNext({ kind: "drop-after-charge", path: "/v1/payment_intents" });
    const body =
      "amount=2500&currency=usd&payment_method=pm_card_visa&allowed_payment_method_types[0]=card&confirm=true&off_session=true";
    const headers = { ...AUTH, "Idempotency-Key": "k-crash" };
    const crashed = await raw(emulator.url, {
      method: "POST",
      path: "/v1/payment_intents",
      headers,
      body,
    }).then(
      () => null,
      (error: NodeJS.ErrnoException) => error,
    );
    expect(crashed?.code).toBe("ECONNRESET");
    const committed = emulator.snapshot();
    expect(committed.paymentIntents).toHaveLength(1);
    expect(committed.paymentIntents[0]!.status).toBe("succeeded");

    const replay = await raw(emulator.url, { method: "POST", path: "/v1/payment_intents", headers, body });
    expect(replay.status).toBe(200);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect((replay.body as { id: string }).id).toBe(committed.paymentIntents[0]!.id);
    expect(succeededCharges()).toHaveLength(1);
  });

  it("the SDK retries a dropped connection once with its key, even with retries off, and gets the replay", async () => {
    emulator.injectNext({ kind: "drop-after-charge", path: "/v1/payment_intents" });
    const pi = await stripe.paymentIntents.create(params);
    expect(pi.status).toBe("succeeded");
    expect(pi.lastResponse.headers["idempotent-replayed"]).toBe("true");
    expect(emulator.snapshot().paymentIntents).toHaveLength(1);
    expect(emulator.snapshot().requestCounts.byStatus).toMatchObject({ dropped: 1, "200": 1 });
  });
});

describe("24-hour expiry on the emulator clock", () => {
  it("replays until exactly 24 hours, then the same key creates a new object", async () => {
    // A frozen clock, so that the boundary is exact: it moves only when the test moves it.
    const frozen = await startStripeEmulator({ freezeClock: true, startTime: Date.UTC(2026, 10, 1) });
    const client = emulatorClient(frozen);
    const first = await client.paymentIntents.create(params, { idempotencyKey: "k-day" });
    frozen.advanceClock(DAY_MS - 1);
    const replay = await client.paymentIntents.create(params, { idempotencyKey: "k-day" });
    expect(replay.id).toBe(first.id);
    frozen.advanceClock(1);
    const fresh = await client.paymentIntents.create(params, { idempotencyKey: "k-day" });
    expect(fresh.id).not.toBe(first.id);
    expect(fresh.lastResponse.headers["idempotent-replayed"]).toBeUndefined();
    expect(frozen.snapshot().charges.filter((c) => c.status === "succeeded")).toHaveLength(2);
    await frozen.stop();
  });

  it("a running clock moved past 24 hours expires the key too", async () => {
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: "k-day-running" });
    emulator.advanceClock(DAY_MS);
    const fresh = await stripe.paymentIntents.create(params, { idempotencyKey: "k-day-running" });
    expect(fresh.id).not.toBe(first.id);
    expect(fresh.lastResponse.headers["idempotent-replayed"]).toBeUndefined();
    expect(succeededCharges()).toHaveLength(2);
  });

  it("after expiry a confirm key meets the PaymentIntent's own state: it still charges only once", async () => {
    const pi = await stripe.paymentIntents.create({ ...params, confirm: false, off_session: undefined });
    await stripe.paymentIntents.confirm(pi.id, { off_session: true }, { idempotencyKey: "k-zombie" });
    emulator.advanceClock(DAY_MS + 1);
    const error = await rejection(
      stripe.paymentIntents.confirm(pi.id, { off_session: true }, { idempotencyKey: "k-zombie" }),
    );
    expect(error.code).toBe("payment_intent_unexpected_state");
    expect(succeededCharges()).toHaveLength(1);
  });
});
