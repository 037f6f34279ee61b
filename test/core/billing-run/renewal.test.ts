/**
 * The renewal state machine with its ports faked in memory and the provider scripted: each unknown or
 * odd provider answer leads where docs/billing-run.md says, and never to a second PaymentIntent being
 * confirmed. Invariant 1 (DESIGN.md): one charge per period.
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../functions/core/clock";
import type { ChargeRecord } from "../../../functions/core/billing/charge-state";
import type { Subscription } from "../../../functions/core/billing/subscription";
import { createKeyFor } from "../../../functions/core/billing/idempotency";
import { DEFAULT_RETRY_SCHEDULE } from "../../../functions/core/billing/retry-policy";
import type { ChargeLedger, SaveResult, SubscriptionChange } from "../../../functions/core/billing-run/ports";
import { renewSubscription, type RenewalContext } from "../../../functions/core/billing-run/renewal";
import type {
  ConfirmOutcome,
  CreateOutcome,
  FindOutcome,
  PaymentGateway,
  PaymentIntentView,
  RetrieveOutcome,
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
  metadata: { subscription_id: "sub_1", period_start: PERIOD },
  created: 0,
  lastError,
});

/** A provider that answers from scripts, and records what was asked. */
function scripted(script: {
  create?: CreateOutcome[];
  confirm?: ConfirmOutcome[];
  retrieve?: RetrieveOutcome[];
  find?: FindOutcome[];
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
  };
  return { gateway, calls };
}

function context(ledger: ChargeLedger, gateway: PaymentGateway): RenewalContext {
  return {
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
