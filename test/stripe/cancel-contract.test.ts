/**
 * Contract tests for canceling a PaymentIntent, in the style of test/stripe-emulator/contract.test.ts:
 * raw SDK calls, no emulator internals, so the file runs unchanged against Stripe's test mode
 * (`STRIPE_SECRET_KEY=sk_test_... npx vitest run test/stripe/cancel-contract.test.ts`). What the gateway's
 * cancel relies on: which statuses are cancelable, that a refused cancel changes nothing, that cancel is
 * idempotent like any POST, and that a canceled PaymentIntent can never be confirmed.
 */
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contractTarget, rejection, type ContractTarget } from "../stripe-emulator/support/target";

const NO_REDIRECTS = { automatic_payment_methods: { enabled: true, allow_redirects: "never" as const } };

let target: ContractTarget;
let stripe: Stripe;

beforeAll(async () => {
  target = await contractTarget();
  stripe = target.client();
});
afterAll(async () => {
  await target?.close();
});

async function unconfirmed(card = "pm_card_visa"): Promise<Stripe.PaymentIntent> {
  const customer = await stripe.customers.create({ metadata: { contract_run: target.runId } });
  const pm = await stripe.paymentMethods.attach(card, { customer: customer.id });
  return stripe.paymentIntents.create({
    amount: 1200,
    currency: "usd",
    customer: customer.id,
    payment_method: pm.id,
    metadata: { contract_run: target.runId },
    ...NO_REDIRECTS,
  });
}

describe("cancel", () => {
  it("cancels requires_confirmation with an optional reason; the same key replays the answer", async () => {
    const pi = await unconfirmed();
    const key = target.key("cancel");
    const canceled = await stripe.paymentIntents.cancel(
      pi.id,
      { cancellation_reason: "abandoned" },
      { idempotencyKey: key },
    );
    expect(canceled).toMatchObject({
      status: "canceled",
      cancellation_reason: "abandoned",
      amount_received: 0,
    });
    expect(canceled.canceled_at).not.toBeNull();
    const replay = await stripe.paymentIntents.cancel(
      pi.id,
      { cancellation_reason: "abandoned" },
      { idempotencyKey: key },
    );
    expect(replay.id).toBe(pi.id);
    expect(replay.lastResponse.headers?.["idempotent-replayed"]).toBe("true");
  });

  it("cancels requires_payment_method after a decline, keeping last_payment_error", async () => {
    const pi = await unconfirmed("pm_card_chargeCustomerFail");
    const declined = await rejection(stripe.paymentIntents.confirm(pi.id, { off_session: true }));
    expect(declined.payment_intent?.status).toBe("requires_payment_method");
    const canceled = await stripe.paymentIntents.cancel(pi.id);
    expect(canceled.status).toBe("canceled");
    expect(canceled.last_payment_error).toMatchObject({
      code: "card_declined",
      decline_code: "generic_decline",
    });
  });

  it("refuses to cancel a canceled one with payment_intent_unexpected_state, and changes nothing", async () => {
    const pi = await unconfirmed();
    const first = await stripe.paymentIntents.cancel(pi.id, { cancellation_reason: "duplicate" });
    const error = await rejection(stripe.paymentIntents.cancel(pi.id, { cancellation_reason: "abandoned" }));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe("payment_intent_unexpected_state");
    const after = await stripe.paymentIntents.retrieve(pi.id);
    expect(after).toMatchObject({
      status: "canceled",
      canceled_at: first.canceled_at,
      cancellation_reason: "duplicate",
    });
  });

  it("refuses to cancel a succeeded one, and the payment stands", async () => {
    const pi = await unconfirmed();
    const succeeded = await stripe.paymentIntents.confirm(pi.id, { off_session: true });
    const error = await rejection(stripe.paymentIntents.cancel(pi.id));
    expect(error.code).toBe("payment_intent_unexpected_state");
    expect(error.payment_intent?.status).toBe("succeeded");
    const after = await stripe.paymentIntents.retrieve(pi.id);
    expect(after).toMatchObject({
      status: "succeeded",
      latest_charge: succeeded.latest_charge,
      amount_received: 1200,
    });
  });

  it("never lets a canceled one be confirmed: refused with payment_intent_unexpected_state, no charge", async () => {
    const pi = await unconfirmed();
    await stripe.paymentIntents.cancel(pi.id);
    const error = await rejection(
      stripe.paymentIntents.confirm(pi.id, { off_session: true }, { idempotencyKey: target.key("late") }),
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.code).toBe("payment_intent_unexpected_state");
    const after = await stripe.paymentIntents.retrieve(pi.id);
    expect(after).toMatchObject({ status: "canceled", latest_charge: null, amount_received: 0 });
  });

  it("answers an unknown id with 404 resource_missing", async () => {
    const error = await rejection(stripe.paymentIntents.cancel("pi_does_not_exist_123"));
    expect(error.statusCode).toBe(404);
    expect(error.code).toBe("resource_missing");
  });

  it("refuses an unknown cancellation_reason as a parameter error", async () => {
    const pi = await unconfirmed();
    const error = await rejection(
      stripe.paymentIntents.cancel(pi.id, {
        cancellation_reason: "because" as Stripe.PaymentIntentCancelParams.CancellationReason,
      }),
    );
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe("cancellation_reason");
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe("requires_confirmation");
  });
});
