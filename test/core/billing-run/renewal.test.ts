/**
 * The renewal state machine with its ports faked in memory and the provider scripted: each unknown or
 * odd provider answer leads where docs/billing-run.md says, and never to a second PaymentIntent being
 * confirmed. Invariant 1 (docs/design.md#invariant-1): one charge per period.
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../functions/core/clock";
import type { ChargeRecord } from "../../../functions/core/billing/charge-state";
import type { Subscription } from "../../../functions/core/billing/subscription";
import { createKeyFor } from "../../../functions/core/billing/idempotency";
import { DEFAULT_RETRY_SCHEDULE } from "../../../functions/core/billing/retry-policy";
import type {
  ChargeLedger,
  QuarantineResult,
  SaveResult,
  SubscriptionChange,
} from "../../../functions/core/billing-run/ports";
import { renewSubscription, type RenewalContext } from "../../../functions/core/billing-run/renewal";
import type {
  CancelOutcome,
  ConfirmOutcome,
  CreateOutcome,
  FindOutcome,
  PaymentGateway,
  PaymentIntentView,
  RetrieveOutcome,
  SendGuard,
} from "../../../functions/core/payments/payment-gateway";

const PERIOD = "2026-11-01T00:00:00.000Z";
const subscription: Subscription = {
  subscriptionId: "sub_1",
  shard: 0,
  customerId: "cus_1",
  paymentMethodId: "pm_1",
  amount: 1500,
  currency: "usd",
  interval: "month",
  anchorDay: 1,
  status: "active",
  nextPeriodStart: PERIOD,
  nextAttemptAt: PERIOD,
  createdAt: PERIOD,
  updatedAt: PERIOD,
};

class MemoryLedger implements ChargeLedger {
  readonly records = new Map<string, ChargeRecord>();
  readonly changes: SubscriptionChange[] = [];
  async getCharge(id: string, period: string) {
    return this.records.get(`${id}@${period}`) ?? null;
  }
  async saveCharge(
    _token: unknown,
    next: ChargeRecord,
    expected: number | null,
    change: SubscriptionChange,
  ): Promise<SaveResult> {
    const key = `${next.subscriptionId}@${next.periodStart}`;
    const current = this.records.get(key) ?? null;
    if ((current?.version ?? null) !== expected) return { ok: false, reason: "conflict", current };
    this.records.set(key, next);
    this.changes.push(change);
    return { ok: true };
  }
  async quarantineSubscription(): Promise<QuarantineResult> {
    return { ok: true };
  }
}

const pi = (
  id: string,
  status: PaymentIntentView["status"],
  lastError: PaymentIntentView["lastError"] = null,
): PaymentIntentView => ({
  id,
  status,
  amount: 1500,
  currency: "usd",
  customerId: "cus_1",
  latestChargeId: status === "succeeded" ? `ch_${id}` : null,
  metadata: { subscription_id: "sub_1", period_start: PERIOD, create_generation: "0" },
  created: 0,
  lastError,
});

/** A provider that answers from scripts, and records what was asked. */
function scripted(script: {
  create?: CreateOutcome[];
  confirm?: ConfirmOutcome[];
  retrieve?: RetrieveOutcome[];
  find?: FindOutcome[];
  cancel?: CancelOutcome[];
}) {
  const calls: string[] = [];
  const next = <T>(list: T[] | undefined, what: string): T => {
    const value = list?.shift();
    if (value === undefined) throw new Error(`unexpected ${what}`);
    return value;
  };
  const gateway: PaymentGateway = {
    createPaymentIntent: async (r) => (
      calls.push(`create ${r.idempotencyKey}`),
      next(script.create, "create")
    ),
    confirmPaymentIntent: async (id, _pm, key) => (
      calls.push(`confirm ${id} ${key}`),
      next(script.confirm, "confirm")
    ),
    retrievePaymentIntent: async (id) => (calls.push(`retrieve ${id}`), next(script.retrieve, "retrieve")),
    findPaymentIntentsForPeriod: async () => (calls.push("find"), next(script.find, "find")),
    cancelPaymentIntent: async (id) => (calls.push(`cancel ${id}`), next(script.cancel, "cancel")),
    listJobPaymentIntents: async () => (calls.push("list"), next(script.find, "list")),
  };
  return { gateway, calls };
}

function context(
  ledger: ChargeLedger,
  gateway: PaymentGateway,
  guard: SendGuard = () => null,
): RenewalContext {
  return {
    guard,
    token: { leaseKey: "billing/shard-0", owner: "o", fence: 3 },
    ledger,
    gateway,
    clock: new ManualClock(Date.parse("2026-11-23T12:00:00.000Z")),
    retrySchedule: DEFAULT_RETRY_SCHEDULE,
  };
}

const AS_OF = "2026-11-23T12:00:00.000Z";

describe("the happy path", () => {
  it("claims, creates unconfirmed, records, confirms and settles, advancing the subscription", async () => {
    const ledger = new MemoryLedger();
    const { gateway, calls } = scripted({
      create: [{ kind: "created", paymentIntent: pi("pi_1", "requires_confirmation") }],
      confirm: [{ kind: "succeeded", paymentIntentId: "pi_1", chargeId: "ch_1" }],
    });
    const result = await renewSubscription(context(ledger, gateway), subscription, AS_OF);
    expect(result).toMatchObject({
      kind: "settled",
      outcome: "succeeded",
      advancedTo: "2026-12-01T00:00:00.000Z",
    });
    expect(calls).toEqual([
      `create ${createKeyFor("sub_1", PERIOD)}`,
      expect.stringMatching(/^confirm pi_1 /),
    ]);
    expect(ledger.changes.map((c) => c.kind)).toEqual(["expect-due", "expect-due", "advance"]);
  });
});

describe("unknown outcomes", () => {
  it("a create in doubt is resolved by listing, and the found PaymentIntent is reused, not a new one created", async () => {
    const ledger = new MemoryLedger();
    const first = scripted({ create: [{ kind: "in_doubt", reason: "timeout" }] });
    expect(await renewSubscription(context(ledger, first.gateway), subscription, AS_OF)).toMatchObject({
      outcome: "in_doubt",
    });

    const second = scripted({
      find: [{ kind: "found", paymentIntents: [pi("pi_9", "requires_confirmation")] }],
      confirm: [{ kind: "succeeded", paymentIntentId: "pi_9", chargeId: "ch_9" }],
    });
    expect(await renewSubscription(context(ledger, second.gateway), subscription, AS_OF)).toMatchObject({
      outcome: "succeeded",
    });
    expect(second.calls).toEqual(["find", expect.stringMatching(/^confirm pi_9 /)]);
  });

  it("a create in doubt that never executed is created again under the next key generation", async () => {
    const ledger = new MemoryLedger();
    await renewSubscription(
      context(ledger, scripted({ create: [{ kind: "in_doubt", reason: "500" }] }).gateway),
      subscription,
      AS_OF,
    );
    const second = scripted({
      find: [{ kind: "found", paymentIntents: [] }],
      create: [{ kind: "created", paymentIntent: pi("pi_2", "requires_confirmation") }],
      confirm: [{ kind: "succeeded", paymentIntentId: "pi_2", chargeId: "ch_2" }],
    });
    await renewSubscription(context(ledger, second.gateway), subscription, AS_OF);
    expect(second.calls[1]).toBe(`create ${createKeyFor("sub_1", PERIOD, 1)}`);
    expect(createKeyFor("sub_1", PERIOD, 1)).not.toBe(createKeyFor("sub_1", PERIOD, 0));
  });

  it("a confirmation in doubt is resolved by retrieving the recorded PaymentIntent", async () => {
    const ledger = new MemoryLedger();
    const first = scripted({
      create: [{ kind: "created", paymentIntent: pi("pi_3", "requires_confirmation") }],
      confirm: [{ kind: "in_doubt", reason: "connection dropped" }],
    });
    await renewSubscription(context(ledger, first.gateway), subscription, AS_OF);
    const second = scripted({ retrieve: [{ kind: "found", paymentIntent: pi("pi_3", "succeeded") }] });
    expect(await renewSubscription(context(ledger, second.gateway), subscription, AS_OF)).toMatchObject({
      outcome: "succeeded",
    });
    expect(second.calls).toEqual(["retrieve pi_3"]); // no second confirmation, no new PaymentIntent
  });

  it("a confirmation that never executed is confirmed again under the next attempt key", async () => {
    const ledger = new MemoryLedger();
    const first = scripted({
      create: [{ kind: "created", paymentIntent: pi("pi_4", "requires_confirmation") }],
      confirm: [{ kind: "in_doubt", reason: "500" }],
    });
    await renewSubscription(context(ledger, first.gateway), subscription, AS_OF);
    const second = scripted({
      retrieve: [{ kind: "found", paymentIntent: pi("pi_4", "requires_confirmation") }],
      confirm: [{ kind: "succeeded", paymentIntentId: "pi_4", chargeId: "ch_4" }],
    });
    await renewSubscription(context(ledger, second.gateway), subscription, AS_OF);
    const firstKey = first.calls[1]!.split(" ")[2];
    const secondKey = second.calls[1]!.split(" ")[2];
    expect(secondKey).not.toBe(firstKey);
  });

  it("a confirmation refused as unexpected state (already succeeded) settles as succeeded without charging", async () => {
    const ledger = new MemoryLedger();
    const { gateway, calls } = scripted({
      create: [{ kind: "created", paymentIntent: pi("pi_5", "requires_confirmation") }],
      confirm: [{ kind: "unexpected_state", paymentIntentId: "pi_5", message: "already succeeded" }],
      retrieve: [{ kind: "found", paymentIntent: pi("pi_5", "succeeded") }],
    });
    expect(await renewSubscription(context(ledger, gateway), subscription, AS_OF)).toMatchObject({
      outcome: "succeeded",
    });
    expect(calls.filter((c) => c.startsWith("confirm"))).toHaveLength(1);
  });
});

describe("declines and authentication", () => {
  it("a decline is recorded with its codes and a retry, and the subscription is rescheduled", async () => {
    const ledger = new MemoryLedger();
    const { gateway } = scripted({
      create: [{ kind: "created", paymentIntent: pi("pi_6", "requires_confirmation") }],
      confirm: [
        {
          kind: "declined",
          paymentIntentId: "pi_6",
          code: "card_declined",
          declineCode: "insufficient_funds",
        },
      ],
      cancel: [{ kind: "canceled", paymentIntent: pi("pi_6", "canceled") }],
    });
    const result = await renewSubscription(context(ledger, gateway), subscription, AS_OF);
    expect(result).toMatchObject({
      outcome: "declined",
      record: { declineCode: "insufficient_funds", retryAt: "2026-11-24T12:00:00.000Z" },
    });
    expect(ledger.changes.at(-1)).toMatchObject({
      kind: "reschedule",
      nextAttemptAt: "2026-11-24T12:00:00.000Z",
    });
  });

  it("authentication required takes the subscription out of automatic billing, with no retry", async () => {
    const ledger = new MemoryLedger();
    const { gateway } = scripted({
      create: [{ kind: "created", paymentIntent: pi("pi_7", "requires_confirmation") }],
      confirm: [{ kind: "needs_customer_action", paymentIntentId: "pi_7", code: "authentication_required" }],
      cancel: [{ kind: "canceled", paymentIntent: pi("pi_7", "canceled") }],
    });
    await renewSubscription(context(ledger, gateway), subscription, AS_OF);
    expect(ledger.changes.at(-1)).toMatchObject({ kind: "deactivate", status: "needs_customer_action" });
  });
});

describe("rate limits", () => {
  it("a rate-limited create leaves the claim pending for later, with nothing else changed", async () => {
    const ledger = new MemoryLedger();
    const { gateway } = scripted({ create: [{ kind: "rate_limited" }] });
    expect(await renewSubscription(context(ledger, gateway), subscription, AS_OF)).toMatchObject({
      kind: "rate_limited",
    });
    expect([...ledger.records.values()].map((r) => r.state)).toEqual(["pending"]);
  });
});

/**
 * Invariant 7 (docs/design.md): every card attempt is the current leader's decision. A PaymentIntent
 * whose refusal the ledger records is canceled first, a dunning retry is a new PaymentIntent, and
 * nothing is sent once the lease has no safe time.
 */
describe("card attempts are fenced", () => {
  const declinedConfirm: ConfirmOutcome = {
    kind: "declined",
    paymentIntentId: "pi_d",
    code: "card_declined",
    declineCode: "generic_decline",
  };

  it("cancels a declined PaymentIntent before recording the decline", async () => {
    const ledger = new MemoryLedger();
    const { gateway, calls } = scripted({
      create: [{ kind: "created", paymentIntent: pi("pi_d", "requires_confirmation") }],
      confirm: [declinedConfirm],
      cancel: [{ kind: "canceled", paymentIntent: pi("pi_d", "canceled") }],
    });
    const result = await renewSubscription(context(ledger, gateway), subscription, AS_OF);
    expect(result).toMatchObject({
      outcome: "declined",
      record: { state: "declined", paymentIntentId: "pi_d", canceledPaymentIntentIds: ["pi_d"] },
    });
    expect(calls.slice(-2)).toEqual([expect.stringMatching(/^confirm pi_d /), "cancel pi_d"]);
  });

  it("leaves the decline in doubt when the cancel's outcome is unknown, and settles it later without confirming", async () => {
    const ledger = new MemoryLedger();
    const first = scripted({
      create: [{ kind: "created", paymentIntent: pi("pi_d", "requires_confirmation") }],
      confirm: [declinedConfirm],
      cancel: [{ kind: "in_doubt", reason: "timeout" }],
    });
    expect(await renewSubscription(context(ledger, first.gateway), subscription, AS_OF)).toMatchObject({
      outcome: "in_doubt",
      record: { state: "in_doubt", paymentIntentId: "pi_d" },
    });
    const failed = { code: "card_declined", declineCode: "generic_decline" };
    const second = scripted({
      retrieve: [{ kind: "found", paymentIntent: pi("pi_d", "requires_payment_method", failed) }],
      cancel: [{ kind: "canceled", paymentIntent: pi("pi_d", "canceled", failed) }],
    });
    expect(await renewSubscription(context(ledger, second.gateway), subscription, AS_OF)).toMatchObject({
      outcome: "declined",
      record: { canceledPaymentIntentIds: ["pi_d"] },
    });
    expect(second.calls).toEqual(["retrieve pi_d", "cancel pi_d"]); // the card is not tried again
  });

  it("records a success when the PaymentIntent to cancel turns out to have succeeded", async () => {
    const ledger = new MemoryLedger();
    const { gateway } = scripted({
      create: [{ kind: "created", paymentIntent: pi("pi_d", "requires_confirmation") }],
      confirm: [declinedConfirm],
      cancel: [{ kind: "unexpected_state", paymentIntentId: "pi_d", message: "status succeeded" }],
      retrieve: [{ kind: "found", paymentIntent: pi("pi_d", "succeeded") }],
    });
    expect(await renewSubscription(context(ledger, gateway), subscription, AS_OF)).toMatchObject({
      outcome: "succeeded",
      record: { state: "succeeded", paymentIntentId: "pi_d" },
    });
  });

  it("retries a due decline with a new PaymentIntent under the next create generation, never the old one", async () => {
    const ledger = new MemoryLedger();
    await renewSubscription(
      context(
        ledger,
        scripted({
          create: [{ kind: "created", paymentIntent: pi("pi_d", "requires_confirmation") }],
          confirm: [declinedConfirm],
          cancel: [{ kind: "canceled", paymentIntent: pi("pi_d", "canceled") }],
        }).gateway,
      ),
      subscription,
      AS_OF,
    );
    const retryDay = "2026-11-25T12:00:00.000Z";
    const retried = { ...subscription, nextAttemptAt: "2026-11-24T12:00:00.000Z", paymentMethodId: "pm_new" };
    const second = scripted({
      create: [{ kind: "created", paymentIntent: pi("pi_r", "requires_confirmation") }],
      confirm: [{ kind: "succeeded", paymentIntentId: "pi_r", chargeId: "ch_r" }],
    });
    const result = await renewSubscription(context(ledger, second.gateway), retried, retryDay);
    expect(result).toMatchObject({
      outcome: "succeeded",
      record: { paymentIntentId: "pi_r", canceledPaymentIntentIds: ["pi_d"], paymentMethodId: "pm_new" },
    });
    expect(second.calls).toEqual([
      `create ${createKeyFor("sub_1", PERIOD, 1)}`,
      expect.stringMatching(/^confirm pi_r /),
    ]);
  });

  it("sends nothing once the lease has no safe time, and leaves the period due", async () => {
    const ledger = new MemoryLedger();
    const gateway: PaymentGateway = {
      ...scripted({}).gateway,
      createPaymentIntent: async (_request, guard) => {
        const reason = guard?.();
        return reason ? { kind: "not_sent", reason } : { kind: "rate_limited" };
      },
    };
    const result = await renewSubscription(
      context(ledger, gateway, () => "the lease has no safe time left"),
      subscription,
      AS_OF,
    );
    expect(result).toEqual({ kind: "stopped", reason: "the lease has no safe time left" });
    expect([...ledger.records.values()].map((r) => r.state)).toEqual(["pending"]);
    expect(ledger.changes.map((c) => c.kind)).toEqual(["expect-due"]);
  });

  it("cancels the period's strays when a look-up finds several PaymentIntents", async () => {
    const ledger = new MemoryLedger();
    await renewSubscription(
      context(ledger, scripted({ create: [{ kind: "in_doubt", reason: "timeout" }] }).gateway),
      subscription,
      AS_OF,
    );
    const stray = {
      ...pi("pi_old", "requires_confirmation"),
      metadata: { ...pi("x", "canceled").metadata, create_generation: "7" },
    };
    const second = scripted({
      find: [{ kind: "found", paymentIntents: [stray, pi("pi_mine", "requires_confirmation")] }],
      cancel: [{ kind: "canceled", paymentIntent: pi("pi_old", "canceled") }],
      confirm: [{ kind: "succeeded", paymentIntentId: "pi_mine", chargeId: "ch_m" }],
    });
    expect(await renewSubscription(context(ledger, second.gateway), subscription, AS_OF)).toMatchObject({
      outcome: "succeeded",
      record: { paymentIntentId: "pi_mine" },
    });
    expect(second.calls).toContain("cancel pi_old");
    expect(second.calls.filter((c) => c.startsWith("confirm"))).toEqual([
      expect.stringMatching(/^confirm pi_mine /),
    ]);
  });

  it("never charges a period before it starts, whatever nextAttemptAt says", async () => {
    const ledger = new MemoryLedger();
    const early = { ...subscription, nextPeriodStart: "2027-03-01T00:00:00.000Z", nextAttemptAt: PERIOD };
    const { gateway, calls } = scripted({});
    expect(await renewSubscription(context(ledger, gateway), early, AS_OF)).toMatchObject({
      kind: "skipped",
    });
    expect(calls).toEqual([]);
    expect(ledger.records.size).toBe(0);
  });
});

describe("a cancel whose answer was a 500", () => {
  it("is tried again under a new key: a saved 500 replayed for 24 hours would keep the charge in doubt", async () => {
    const ledger = new MemoryLedger();
    const keys: string[] = [];
    const failed = { code: "card_declined", declineCode: "generic_decline" };
    const base = scripted({
      create: [{ kind: "created", paymentIntent: pi("pi_c", "requires_confirmation") }],
      confirm: [
        { kind: "declined", paymentIntentId: "pi_c", code: "card_declined", declineCode: "generic_decline" },
      ],
      retrieve: [{ kind: "found", paymentIntent: pi("pi_c", "requires_payment_method", failed) }],
    }).gateway;
    const answers: CancelOutcome[] = [
      { kind: "in_doubt", reason: "StripeAPIError 500" },
      { kind: "canceled", paymentIntent: pi("pi_c", "canceled", failed) },
    ];
    const gateway: PaymentGateway = {
      ...base,
      cancelPaymentIntent: async (_id, key) => (keys.push(key), answers.shift()!),
    };
    expect(await renewSubscription(context(ledger, gateway), subscription, AS_OF)).toMatchObject({
      outcome: "in_doubt",
    });
    expect(await renewSubscription(context(ledger, gateway), subscription, AS_OF)).toMatchObject({
      outcome: "declined",
    });
    expect(keys).toHaveLength(2);
    expect(keys[0]).not.toBe(keys[1]);
  });
});
