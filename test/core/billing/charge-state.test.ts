import { describe, expect, it } from "vitest";
import {
  CHARGE_STATES,
  allowedTransition,
  checkTransition,
  inState,
  isChargeState,
  isTerminal,
  type ChargeRecord,
  type ChargeState,
  type DeclinedCharge,
  type PendingCharge,
} from "../../../functions/core/billing/charge-state";

const pending: PendingCharge = {
  state: "pending",
  subscriptionId: "sub_1",
  periodStart: "2026-01-31T00:00:00.000Z",
  customerId: "cus_1",
  paymentMethodId: "pm_card_visa",
  amount: 1200,
  currency: "usd",
  idempotencyKey: "renew:create:sub_1:2026-01-31",
  createGeneration: 0,
  confirmAttempt: 1,
  attempts: 1,
  fence: 3,
  version: 1,
  createdAt: "2026-01-31T00:00:01.000Z",
  updatedAt: "2026-01-31T00:00:01.000Z",
};

/** The next version of `from`, as the run would write it. */
function then(from: ChargeRecord, change: Partial<Record<string, unknown>>): ChargeRecord {
  return {
    ...from,
    version: from.version + 1,
    updatedAt: "2026-01-31T00:00:02.000Z",
    ...change,
  } as ChargeRecord;
}

const withIntent = then(pending, { paymentIntentId: "pi_1" });
const succeeded = then(withIntent, {
  state: "succeeded",
  chargeId: "ch_1",
  settledAt: "2026-01-31T00:00:02.000Z",
});
const declined = then(withIntent, {
  state: "declined",
  code: "card_declined",
  declineCode: "insufficient_funds",
  attempt: 1,
  retryAt: "2026-02-01T00:00:02.000Z",
  canceledPaymentIntentIds: ["pi_1"],
}) as DeclinedCharge;
const finalDecline = { ...declined, retryAt: null } as DeclinedCharge;
const needsAction = then(withIntent, {
  state: "needs_customer_action",
  code: "authentication_required",
  canceledPaymentIntentIds: ["pi_1"],
});
const inDoubt = then(pending, {
  state: "in_doubt",
  reason: "create: timeout",
  since: "2026-01-31T00:00:02.000Z",
});
const quarantined = then(pending, { state: "quarantined", reason: "Stripe refused it", field: "amount" });

describe("states", () => {
  it("are recognised by name", () => {
    for (const state of CHARGE_STATES) expect(isChargeState(state)).toBe(true);
    expect(isChargeState("refunded")).toBe(false);
  });

  it("narrow a record by state", () => {
    expect(inState(declined, "declined") && declined.retryAt).toBe("2026-02-01T00:00:02.000Z");
    expect(inState(declined, "pending")).toBe(false);
  });

  it("are terminal when no automatic step will change them", () => {
    expect(isTerminal(pending)).toBe(false);
    expect(isTerminal(inDoubt)).toBe(false);
    expect(isTerminal(declined)).toBe(false);
    expect(isTerminal(finalDecline)).toBe(true);
    expect(isTerminal(succeeded)).toBe(true);
    expect(isTerminal(needsAction)).toBe(true);
    expect(isTerminal(quarantined)).toBe(true);
  });
});

describe("the transition table", () => {
  const allowed: [ChargeState, ChargeState[]][] = [
    ["pending", ["pending", "succeeded", "declined", "needs_customer_action", "in_doubt", "quarantined"]],
    ["in_doubt", ["succeeded", "declined", "needs_customer_action", "pending", "in_doubt"]],
    ["declined", ["pending"]],
    ["succeeded", []],
    ["needs_customer_action", []],
    ["quarantined", []],
  ];

  it.each(allowed)("%s may become exactly %j", (from, targets) => {
    for (const to of CHARGE_STATES)
      expect(allowedTransition(from, to), `${from} → ${to}`).toBe(targets.includes(to));
  });
});

describe("checkTransition", () => {
  it("accepts the run's ordinary moves", () => {
    expect(checkTransition(pending, withIntent)).toEqual({ ok: true });
    expect(checkTransition(withIntent, succeeded)).toEqual({ ok: true });
    expect(checkTransition(withIntent, declined)).toEqual({ ok: true });
    expect(checkTransition(pending, inDoubt)).toEqual({ ok: true });
    expect(checkTransition(inDoubt, then(inDoubt, { state: "pending", paymentIntentId: "pi_1" }))).toEqual({
      ok: true,
    });
  });

  it("lets a decline with a retry ahead reopen as a new PaymentIntent, with the customer's new card", () => {
    const retry = then(declined, {
      state: "pending",
      paymentIntentId: undefined,
      createGeneration: 1,
      idempotencyKey: "renew:create:sub_1:2026-01-31:g1",
      attempts: 2,
      confirmAttempt: 2,
      paymentMethodId: "pm_new",
    });
    expect(checkTransition(declined, retry)).toEqual({ ok: true });
  });

  it("refuses a retry that would confirm the declined PaymentIntent again, or leave it uncanceled", () => {
    const sameIntent = then(declined, { state: "pending", attempts: 2, confirmAttempt: 2 });
    expect(checkTransition(declined, sameIntent)).toMatchObject({
      ok: false,
      reason: /never confirmed again/,
    });
    const notCanceled = { ...declined, canceledPaymentIntentIds: [] } as DeclinedCharge;
    expect(checkTransition(withIntent, notCanceled)).toMatchObject({ ok: false, reason: /canceled/ });
    const dropped = then(notCanceled, {
      state: "pending",
      paymentIntentId: undefined,
      createGeneration: 1,
      idempotencyKey: "renew:create:sub_1:2026-01-31:g1",
    });
    expect(checkTransition(notCanceled, dropped)).toMatchObject({ ok: false, reason: /canceled/ });
  });

  it("refuses to reopen a decline with no retries left", () => {
    const retry = then(finalDecline, { state: "pending", attempts: 2, confirmAttempt: 2 });
    expect(checkTransition(finalDecline, retry)).toMatchObject({ ok: false, reason: /final/ });
  });

  it("refuses to leave succeeded, needs_customer_action or quarantined", () => {
    expect(checkTransition(succeeded, then(succeeded, { state: "pending" }))).toMatchObject({ ok: false });
    expect(checkTransition(needsAction, then(needsAction, { state: "pending" }))).toMatchObject({
      ok: false,
    });
    expect(checkTransition(quarantined, then(quarantined, { state: "pending" }))).toMatchObject({
      ok: false,
    });
  });

  it("allows a settled record to be re-stamped, and nothing more", () => {
    expect(checkTransition(succeeded, then(succeeded, { fence: 4 }))).toEqual({ ok: true });
    expect(checkTransition(finalDecline, then(finalDecline, {}))).toEqual({ ok: true });
    expect(checkTransition(succeeded, then(succeeded, { chargeId: "ch_2" }))).toMatchObject({
      ok: false,
      reason: /re-stamped/,
    });
  });

  it("keeps amount, currency, customer and period frozen", () => {
    for (const change of [
      { amount: 1300 },
      { currency: "eur" },
      { customerId: "cus_2" },
      { periodStart: "2026-02-28T00:00:00.000Z" },
      { subscriptionId: "sub_2" },
    ]) {
      expect(checkTransition(pending, then(pending, change)), JSON.stringify(change)).toMatchObject({
        ok: false,
        reason: /frozen/,
      });
    }
  });

  it("never replaces or drops the recorded PaymentIntent", () => {
    expect(checkTransition(withIntent, then(withIntent, { paymentIntentId: "pi_2" }))).toMatchObject({
      ok: false,
    });
    expect(checkTransition(withIntent, then(withIntent, { paymentIntentId: undefined }))).toMatchObject({
      ok: false,
    });
  });

  it("changes the create key only with a new create generation", () => {
    expect(checkTransition(pending, then(pending, { idempotencyKey: "other" }))).toMatchObject({ ok: false });
    expect(checkTransition(pending, then(pending, { createGeneration: 1 }))).toMatchObject({ ok: false });
    expect(
      checkTransition(
        inDoubt,
        then(inDoubt, { state: "pending", createGeneration: 1, idempotencyKey: "g1" }),
      ),
    ).toEqual({ ok: true });
  });

  it("moves versions by one and never moves fences or counters backwards", () => {
    expect(checkTransition(pending, { ...withIntent, version: 3 })).toMatchObject({
      ok: false,
      reason: /version/,
    });
    expect(checkTransition(pending, then(pending, { fence: 2 }))).toMatchObject({
      ok: false,
      reason: /fence/,
    });
    expect(checkTransition(withIntent, then(withIntent, { confirmAttempt: 0 }))).toMatchObject({ ok: false });
    expect(checkTransition(withIntent, then(withIntent, { attempts: 0 }))).toMatchObject({ ok: false });
  });
});
