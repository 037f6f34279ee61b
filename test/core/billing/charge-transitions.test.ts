/**
 * The charge record's transitions: each constructor builds a record that `checkTransition` accepts,
 * and a transition from a state it may not start from does not compile (the `@ts-expect-error` lines
 * fail `npm run typecheck` the day such a call becomes legal).
 */
import { describe, expect, it } from "vitest";
import {
  checkTransition,
  claimed,
  confirmingAgain,
  creatingAgain,
  declined,
  inDoubt,
  needingCustomer,
  quarantined,
  recorded,
  restamped,
  retrying,
  succeeded,
  type ChargeRecord,
} from "../../../functions/core/billing/charge-state";

const PERIOD = "2026-11-01T00:00:00.000Z";
const at = (n: number) => ({ fence: 4, at: `2026-11-0${n}T00:00:00.000Z` });
const claim = claimed(
  {
    subscriptionId: "sub_1",
    periodStart: PERIOD,
    customerId: "cus_1",
    paymentMethodId: "pm_1",
    amount: 1500,
    currency: "usd",
  },
  "renew:create:sub_1:2026-11-01",
  at(1),
);

function accepted(from: ChargeRecord, to: ChargeRecord): void {
  expect(checkTransition(from, to)).toEqual({ ok: true });
}

describe("every constructor makes a transition the ledger accepts", () => {
  it("claim, record, confirm again, succeed", () => {
    const withPi = recorded(claim, "pi_1", at(2));
    accepted(claim, withPi);
    const again = confirmingAgain(withPi, "pi_1", at(3));
    accepted(withPi, again);
    expect(again.confirmAttempt).toBe(withPi.confirmAttempt + 1);
    accepted(again, succeeded(again, { paymentIntentId: "pi_1", chargeId: "ch_1" }, at(4)));
  });

  it("in doubt, then a new create generation", () => {
    const doubt = inDoubt(claim, "create: timeout", undefined, at(2));
    accepted(claim, doubt);
    accepted(doubt, creatingAgain(doubt, "renew:create:sub_1:2026-11-01:g1", at(3)));
  });

  it("a decline cancels its PaymentIntent, and the retry starts a new one", () => {
    const withPi = recorded(claim, "pi_1", at(2));
    const refused = declined(
      withPi,
      {
        paymentIntentId: "pi_1",
        code: "card_declined",
        declineCode: null,
        retryAt: "2026-11-02T00:00:00.000Z",
      },
      at(3),
    );
    accepted(withPi, refused);
    expect(refused.canceledPaymentIntentIds).toEqual(["pi_1"]);
    const retry = retrying({ ...refused, canceledPaymentIntentIds: ["pi_1"] }, "pm_2", "k:g1", at(4));
    accepted(refused, retry);
    expect(retry.paymentIntentId).toBeUndefined();
    expect(retry.createGeneration).toBe(1);
  });

  it("needs customer action and quarantine, and a re-stamp of a settled record", () => {
    const withPi = recorded(claim, "pi_1", at(2));
    const customer = needingCustomer(withPi, "pi_1", "authentication_required", at(3));
    accepted(withPi, customer);
    accepted(customer, restamped(customer, at(4)));
    accepted(
      withPi,
      quarantined(withPi, { reason: "gone", field: "resource_missing", canceled: "pi_1" }, at(3)),
    );
  });
});

describe("the ledger refuses what attempt fencing forbids", () => {
  it("a decline recorded while its PaymentIntent is not canceled", () => {
    const withPi = recorded(claim, "pi_1", at(2));
    const refused = declined(
      withPi,
      { paymentIntentId: "pi_1", code: "card_declined", declineCode: null, retryAt: null },
      at(3),
    );
    expect(checkTransition(withPi, { ...refused, canceledPaymentIntentIds: [] })).toMatchObject({
      ok: false,
    });
  });

  it("a PaymentIntent replaced outside a dunning retry", () => {
    const withPi = recorded(claim, "pi_1", at(2));
    expect(checkTransition(withPi, { ...withPi, paymentIntentId: "pi_2", version: 3 })).toMatchObject({
      ok: false,
    });
  });
});

describe("wrong transitions do not compile", () => {
  it("are type errors", () => {
    const paid = succeeded(
      recorded(claim, "pi_1", at(2)),
      { paymentIntentId: "pi_1", chargeId: null },
      at(3),
    );
    const refused = declined(
      recorded(claim, "pi_1", at(2)),
      { paymentIntentId: "pi_1", code: "card_declined", declineCode: null, retryAt: null },
      at(3),
    );
    const build = () => {
      // @ts-expect-error a succeeded period is final: it cannot succeed again
      succeeded(paid, { paymentIntentId: "pi_2", chargeId: null }, at(4));
      // @ts-expect-error a decline is not confirmed again: a retry is a new PaymentIntent
      confirmingAgain(refused, "pi_1", at(4));
      // @ts-expect-error only a create in doubt moves to the next create generation
      creatingAgain(claim, "k:g1", at(4));
      // @ts-expect-error a retry starts only from a decline whose PaymentIntent is canceled
      retrying(refused, "pm_2", "k:g1", at(4));
    };
    expect(build).toBeTypeOf("function");
  });
});
