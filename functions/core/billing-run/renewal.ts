/**
 * Renewing one subscription for its current period: the exactly-once core.
 *
 *   claim ──▶ create PaymentIntent ──▶ record its id ──▶ confirm off-session ──▶ settle
 *
 * Every arrow that changes our state is a fenced, versioned write (ChargeLedger.saveCharge); every
 * provider call carries a key derived from the subscription and the period. One PaymentIntent per period
 * is recorded on the claim and only the recorded one is ever confirmed, so Stripe's own state machine (a
 * PaymentIntent succeeds at most once) is the last fence: a zombie that confirms again charges nothing.
 * Unknown outcomes are recorded as in doubt and resolved by looking the PaymentIntent up, never by
 * creating a second one blindly. See docs/billing-run.md.
 */
import type { Clock } from "../clock";
import type { LeaseToken } from "../lease/lease";
import type { ChargeRecord } from "../billing/charge-state";
import { nextPeriodStart } from "../billing/calendar";
import { confirmKeyFor, createKeyFor } from "../billing/idempotency";
import { nextRetry, type RetrySchedule } from "../billing/retry-policy";
import type { Subscription } from "../billing/subscription";
import {
  renewalMetadata,
  type ConfirmOutcome,
  type PaymentGateway,
  type PaymentIntentView,
} from "../payments/payment-gateway";
import type { ChargeLedger, SaveResult, SubscriptionChange } from "./ports";
import type { ChargeOutcomeKind } from "./events";

export interface RenewalContext {
  readonly token: LeaseToken;
  readonly ledger: ChargeLedger;
  readonly gateway: PaymentGateway;
  readonly clock: Clock;
  readonly retrySchedule: RetrySchedule;
  /** How far back (seconds) to list the customer's PaymentIntents when resolving an unknown create. */
  readonly lookbackSeconds?: number;
}

export type RenewalResult =
  | {
      readonly kind: "settled";
      readonly outcome: Exclude<ChargeOutcomeKind, "rate_limited">;
      readonly record: ChargeRecord;
      /** Set when the subscription moved on to a next period. */
      readonly advancedTo: string | null;
    }
  /** Nothing to do now (already handled, or a decline whose retry is not yet due). */
  | { readonly kind: "skipped"; readonly reason: string }
  /** The provider asked us to slow down before anything happened: leave it for later in the run. */
  | { readonly kind: "rate_limited"; readonly record: ChargeRecord }
  /** Someone else holds the lease now. Stop all work. */
  | { readonly kind: "fenced-out"; readonly step: string };

/** Settles, at most, this many times per call; each loop is one step of the state machine. */
const MAX_STEPS = 12;
const DEFAULT_LOOKBACK_SECONDS = 40 * 86_400;

export async function renewSubscription(
  ctx: RenewalContext,
  subscription: Subscription,
  asOf: string,
): Promise<RenewalResult> {
  const periodStart = subscription.nextPeriodStart;
  let record = await ctx.ledger.getCharge(subscription.subscriptionId, periodStart);
  let freshClaim = false;

  if (record === null) {
    const claim = pendingClaim(ctx, subscription);
    const saved = await ctx.ledger.saveCharge(ctx.token, claim, null, {
      kind: "expect-due",
      subscriptionId: subscription.subscriptionId,
      periodStart,
    });
    if (!saved.ok) {
      if (saved.reason === "fenced-out") return { kind: "fenced-out", step: "claim" };
      if (saved.current === null)
        return { kind: "skipped", reason: "the subscription moved on before the claim" };
      record = saved.current;
    } else {
      record = claim;
      freshClaim = true;
    }
  }

  for (let step = 0; step < MAX_STEPS; step++) {
    const next = await advance(ctx, subscription, record, asOf, freshClaim);
    freshClaim = false;
    if (next.kind !== "continue") return next;
    record = next.record;
  }
  return { kind: "settled", outcome: "in_doubt", record, advancedTo: null };
}

type Step = RenewalResult | { readonly kind: "continue"; readonly record: ChargeRecord };

/** One transition of the charge state machine, from whatever state the record is in. */
async function advance(
  ctx: RenewalContext,
  subscription: Subscription,
  record: ChargeRecord,
  asOf: string,
  freshClaim: boolean,
): Promise<Step> {
  switch (record.state) {
    case "pending":
      if (record.paymentIntentId) return confirm(ctx, subscription, record, record.paymentIntentId);
      // A claim we did not just make may have a PaymentIntent already: look before creating.
      return freshClaim ? create(ctx, subscription, record) : findOrCreate(ctx, subscription, record);
    case "in_doubt":
      return resolveInDoubt(ctx, subscription, record);
    case "declined":
      if (record.retryAt === null) {
        return settleAgain(
          ctx,
          subscription,
          record,
          deactivate(record, "past_due", "declined, no retries left"),
        );
      }
      if (record.retryAt > asOf) return { kind: "skipped", reason: `decline retry due at ${record.retryAt}` };
      return reopenForRetry(ctx, subscription, record);
    case "succeeded":
      // Settling is atomic with advancing the subscription, so this only follows a hand edit: repair it.
      return settleAgain(ctx, subscription, record, advanceChange(subscription));
    case "needs_customer_action":
      return settleAgain(ctx, subscription, record, deactivate(record, "needs_customer_action", record.code));
    case "quarantined":
      return settleAgain(ctx, subscription, record, deactivate(record, "quarantined", record.reason));
  }
}

function pendingClaim(ctx: RenewalContext, subscription: Subscription): ChargeRecord {
  const now = new Date(ctx.clock.now()).toISOString();
  return {
    state: "pending",
    subscriptionId: subscription.subscriptionId,
    periodStart: subscription.nextPeriodStart,
    customerId: subscription.customerId,
    paymentMethodId: subscription.paymentMethodId,
    amount: subscription.amount,
    currency: subscription.currency,
    idempotencyKey: createKeyFor(subscription.subscriptionId, subscription.nextPeriodStart, 0),
    createGeneration: 0,
    confirmAttempt: 1,
    attempts: 1,
    fence: ctx.token.fence,
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
}

/** The next version of a record, stamped with our fence and the time. */
function revise(ctx: RenewalContext, record: ChargeRecord, next: ChargeRecord): ChargeRecord {
  return {
    ...next,
    fence: ctx.token.fence,
    version: record.version + 1,
    updatedAt: new Date(ctx.clock.now()).toISOString(),
  };
}

async function save(
  ctx: RenewalContext,
  previous: ChargeRecord,
  next: ChargeRecord,
  change: SubscriptionChange,
  step: string,
): Promise<{ ok: true } | RenewalResult | { kind: "continue"; record: ChargeRecord }> {
  const saved: SaveResult = await ctx.ledger.saveCharge(ctx.token, next, previous.version, change);
  if (saved.ok) return saved;
  if (saved.reason === "fenced-out") return { kind: "fenced-out", step };
  // Someone changed the record since we read it (a predecessor's late write cannot: it is fenced out;
  // but an operator or the resolver can). Start again from what is there now.
  if (saved.current === null) return { kind: "skipped", reason: `the charge record vanished during ${step}` };
  return { kind: "continue", record: saved.current };
}

const keep = (s: Subscription): SubscriptionChange => ({
  kind: "expect-due",
  subscriptionId: s.subscriptionId,
  periodStart: s.nextPeriodStart,
});

function advanceChange(s: Subscription): SubscriptionChange {
  return {
    kind: "advance",
    subscriptionId: s.subscriptionId,
    periodStart: s.nextPeriodStart,
    nextPeriodStart: nextPeriodStart(s.nextPeriodStart, s.interval, s.anchorDay, s.anchorMonth),
  };
}

function deactivate(
  record: ChargeRecord,
  status: "past_due" | "needs_customer_action" | "quarantined",
  reason: string,
): SubscriptionChange {
  return {
    kind: "deactivate",
    subscriptionId: record.subscriptionId,
    periodStart: record.periodStart,
    status,
    reason,
  };
}

async function create(ctx: RenewalContext, subscription: Subscription, record: ChargeRecord): Promise<Step> {
  const outcome = await ctx.gateway.createPaymentIntent({
    amount: record.amount,
    currency: record.currency,
    customerId: record.customerId,
    paymentMethodId: record.paymentMethodId,
    description: `Renewal of ${record.subscriptionId} for the period starting ${record.periodStart}`,
    metadata: renewalMetadata(record.subscriptionId, record.periodStart),
    idempotencyKey: record.idempotencyKey,
  });
  switch (outcome.kind) {
    case "created":
      return recordPaymentIntent(ctx, subscription, record, outcome.paymentIntent.id);
    case "rate_limited":
      return { kind: "rate_limited", record };
    case "in_doubt":
      return markInDoubt(ctx, subscription, record, `create: ${outcome.reason}`);
    case "rejected":
      return rejected(ctx, subscription, record, "the PaymentIntent", outcome);
  }
}

/**
 * Records the PaymentIntent on the claim. The write succeeds only from the version we read, so if another
 * contender recorded a different one first, we adopt theirs and ours is never confirmed (an unconfirmed
 * PaymentIntent moves no money).
 */
async function recordPaymentIntent(
  ctx: RenewalContext,
  subscription: Subscription,
  record: ChargeRecord,
  paymentIntentId: string,
): Promise<Step> {
  const next = revise(ctx, record, { ...record, state: "pending", paymentIntentId } as ChargeRecord);
  const saved = await save(ctx, record, next, keep(subscription), "record-payment-intent");
  return "ok" in saved ? { kind: "continue", record: next } : saved;
}

/** The period's PaymentIntents at the provider, by a strongly consistent list of the customer's. */
function lookUpPeriod(ctx: RenewalContext, record: ChargeRecord) {
  return ctx.gateway.findPaymentIntentsForPeriod({
    customerId: record.customerId,
    subscriptionId: record.subscriptionId,
    periodStart: record.periodStart,
    createdSince:
      Math.floor(Date.parse(record.createdAt) / 1000) - (ctx.lookbackSeconds ?? DEFAULT_LOOKBACK_SECONDS),
  });
}

async function findOrCreate(
  ctx: RenewalContext,
  subscription: Subscription,
  record: ChargeRecord,
): Promise<Step> {
  const found = await lookUpPeriod(ctx, record);
  switch (found.kind) {
    case "found": {
      const existing = preferred(found.paymentIntents);
      if (existing) return recordPaymentIntent(ctx, subscription, record, existing.id);
      return create(ctx, subscription, record);
    }
    case "rate_limited":
      return { kind: "rate_limited", record };
    case "in_doubt":
      return markInDoubt(ctx, subscription, record, `lookup: ${found.reason}`);
    case "rejected":
      return markInDoubt(ctx, subscription, record, `lookup refused: ${found.message}`);
  }
}

/** Of several PaymentIntents for one period (orphans of unknown creates), the one that moved money, else any live one. */
function preferred(candidates: readonly PaymentIntentView[]): PaymentIntentView | undefined {
  return (
    candidates.find((pi) => pi.status === "succeeded") ??
    candidates.find((pi) => pi.status === "processing") ??
    candidates.find((pi) => pi.status !== "canceled")
  );
}

async function confirm(
  ctx: RenewalContext,
  subscription: Subscription,
  record: ChargeRecord & { state: "pending" },
  paymentIntentId: string,
): Promise<Step> {
  const outcome = await ctx.gateway.confirmPaymentIntent(
    paymentIntentId,
    record.paymentMethodId,
    confirmKeyFor(record.subscriptionId, record.periodStart, record.confirmAttempt),
  );
  return settleConfirmation(ctx, subscription, record, paymentIntentId, outcome);
}

async function settleConfirmation(
  ctx: RenewalContext,
  subscription: Subscription,
  record: ChargeRecord,
  paymentIntentId: string,
  outcome: ConfirmOutcome,
): Promise<Step> {
  const now = new Date(ctx.clock.now()).toISOString();
  switch (outcome.kind) {
    case "succeeded": {
      const next = revise(ctx, record, {
        ...base(record),
        state: "succeeded",
        paymentIntentId,
        chargeId: outcome.chargeId,
        settledAt: now,
      } as ChargeRecord);
      return settle(ctx, subscription, record, next, advanceChange(subscription), "succeeded");
    }
    case "declined": {
      const retryAt = nextRetry(record.attempts, now, ctx.retrySchedule);
      const next = revise(ctx, record, {
        ...base(record),
        state: "declined",
        paymentIntentId,
        code: outcome.code,
        declineCode: outcome.declineCode,
        attempt: record.attempts,
        retryAt,
      } as ChargeRecord);
      const change: SubscriptionChange =
        retryAt === null
          ? deactivate(
              record,
              "past_due",
              `declined (${outcome.declineCode ?? outcome.code}), no retries left`,
            )
          : {
              kind: "reschedule",
              subscriptionId: record.subscriptionId,
              periodStart: record.periodStart,
              nextAttemptAt: retryAt,
            };
      return settle(ctx, subscription, record, next, change, "declined");
    }
    case "needs_customer_action": {
      const next = revise(ctx, record, {
        ...base(record),
        state: "needs_customer_action",
        paymentIntentId,
        code: outcome.code,
      } as ChargeRecord);
      return settle(
        ctx,
        subscription,
        record,
        next,
        deactivate(record, "needs_customer_action", outcome.code),
        "needs_customer_action",
      );
    }
    case "unexpected_state":
      // Already succeeded (a predecessor or a zombie confirmed it) or canceled: ask Stripe which.
      return resolveByRetrieve(ctx, subscription, record, paymentIntentId);
    case "in_doubt":
      return markInDoubt(ctx, subscription, record, `confirm: ${outcome.reason}`, paymentIntentId);
    case "rate_limited":
      return { kind: "rate_limited", record };
    case "rejected":
      return rejected(ctx, subscription, record, "the confirmation", outcome);
  }
}

async function resolveInDoubt(
  ctx: RenewalContext,
  subscription: Subscription,
  record: ChargeRecord,
): Promise<Step> {
  if (record.paymentIntentId) return resolveByRetrieve(ctx, subscription, record, record.paymentIntentId);
  // The create's outcome is unknown and no id was recorded: list the period's PaymentIntents (strongly
  // consistent). None found means the create never executed, but its key may hold a saved error for 24
  // hours, so the next create uses the next key generation. A late-arriving old create can only leave an
  // unconfirmed orphan: only the recorded PaymentIntent is ever confirmed.
  const found = await lookUpPeriod(ctx, record);
  if (found.kind === "rate_limited") return { kind: "rate_limited", record };
  if (found.kind !== "found") return { kind: "settled", outcome: "in_doubt", record, advancedTo: null };
  const existing = preferred(found.paymentIntents);
  if (existing) return recordPaymentIntent(ctx, subscription, record, existing.id);
  const generation = record.createGeneration + 1;
  const next = revise(ctx, record, {
    ...base(record),
    state: "pending",
    createGeneration: generation,
    idempotencyKey: createKeyFor(record.subscriptionId, record.periodStart, generation),
  } as ChargeRecord);
  const saved = await save(ctx, record, next, keep(subscription), "new-create-generation");
  return "ok" in saved ? create(ctx, subscription, next) : saved;
}

async function resolveByRetrieve(
  ctx: RenewalContext,
  subscription: Subscription,
  record: ChargeRecord,
  paymentIntentId: string,
): Promise<Step> {
  const found = await ctx.gateway.retrievePaymentIntent(paymentIntentId);
  if (found.kind === "rate_limited") return { kind: "rate_limited", record };
  if (found.kind !== "found") {
    if (record.state === "in_doubt")
      return { kind: "settled", outcome: "in_doubt", record, advancedTo: null };
    return markInDoubt(ctx, subscription, record, `retrieve: ${found.kind}`, paymentIntentId);
  }
  const pi = found.paymentIntent;
  switch (pi.status) {
    case "succeeded":
      return settleConfirmation(ctx, subscription, record, pi.id, {
        kind: "succeeded",
        paymentIntentId: pi.id,
        chargeId: pi.latestChargeId,
      });
    case "requires_payment_method":
      if (pi.lastError) {
        const code = pi.lastError.code ?? "card_declined";
        const authentication =
          code === "authentication_required" || pi.lastError.declineCode === "authentication_required";
        return settleConfirmation(
          ctx,
          subscription,
          record,
          pi.id,
          authentication
            ? { kind: "needs_customer_action", paymentIntentId: pi.id, code: "authentication_required" }
            : { kind: "declined", paymentIntentId: pi.id, code, declineCode: pi.lastError.declineCode },
        );
      }
      return confirmAgain(ctx, subscription, record, pi.id);
    case "requires_confirmation":
      // The confirmation never executed (its key may hold a saved error): confirm under the next key.
      return confirmAgain(ctx, subscription, record, pi.id);
    case "requires_action":
      return settleConfirmation(ctx, subscription, record, pi.id, {
        kind: "needs_customer_action",
        paymentIntentId: pi.id,
        code: "authentication_required",
      });
    case "canceled":
      return settleConfirmation(ctx, subscription, record, pi.id, {
        kind: "declined",
        paymentIntentId: pi.id,
        code: "payment_intent_canceled",
        declineCode: null,
      });
    case "processing":
    case "requires_capture":
      return record.state === "in_doubt"
        ? { kind: "settled", outcome: "in_doubt", record, advancedTo: null }
        : markInDoubt(ctx, subscription, record, `payment ${pi.status}`, pi.id);
  }
}

/** A fresh confirmation attempt, under the next confirm key (frozen first by a fenced write). */
async function confirmAgain(
  ctx: RenewalContext,
  subscription: Subscription,
  record: ChargeRecord,
  paymentIntentId: string,
): Promise<Step> {
  const next = revise(ctx, record, {
    ...base(record),
    state: "pending",
    paymentIntentId,
    confirmAttempt: record.confirmAttempt + 1,
  } as ChargeRecord);
  const saved = await save(ctx, record, next, keep(subscription), "confirm-again");
  return "ok" in saved
    ? confirm(ctx, subscription, next as ChargeRecord & { state: "pending" }, paymentIntentId)
    : saved;
}

/** A decline whose retry is due: the same PaymentIntent, confirmed again with the subscription's current card. */
async function reopenForRetry(
  ctx: RenewalContext,
  subscription: Subscription,
  record: ChargeRecord,
): Promise<Step> {
  const next = revise(ctx, record, {
    ...base(record),
    state: "pending",
    paymentIntentId: record.paymentIntentId,
    paymentMethodId: subscription.paymentMethodId,
    attempts: record.attempts + 1,
    confirmAttempt: record.confirmAttempt + 1,
  } as ChargeRecord);
  const saved = await save(ctx, record, next, keep(subscription), "retry");
  return "ok" in saved ? { kind: "continue", record: next } : saved;
}

async function markInDoubt(
  ctx: RenewalContext,
  subscription: Subscription,
  record: ChargeRecord,
  reason: string,
  paymentIntentId?: string,
): Promise<Step> {
  const next = revise(ctx, record, {
    ...base(record),
    state: "in_doubt",
    paymentIntentId: paymentIntentId ?? record.paymentIntentId,
    reason,
    since: new Date(ctx.clock.now()).toISOString(),
  } as ChargeRecord);
  const saved = await save(ctx, record, next, keep(subscription), "in-doubt");
  return "ok" in saved ? { kind: "settled", outcome: "in_doubt", record: next, advancedTo: null } : saved;
}

/**
 * Stripe refused a request as invalid. If the refusal is about this subscription's data (its card or
 * customer is gone, its amount is out of bounds) the charge is quarantined with the reason. Anything
 * else (a configuration or code problem) would fail the same way for every subscription, so it must not
 * quarantine the whole book: the charge is left in doubt, stays due, and raises the in-doubt alarm.
 */
const SUBSCRIPTION_SPECIFIC = new Set(["resource_missing", "amount_too_small", "amount_too_large"]);

async function rejected(
  ctx: RenewalContext,
  subscription: Subscription,
  record: ChargeRecord,
  what: string,
  outcome: { code: string | null; message: string },
): Promise<Step> {
  const reason = `Stripe refused ${what}: ${outcome.message}`.slice(0, 500);
  if (outcome.code !== null && SUBSCRIPTION_SPECIFIC.has(outcome.code)) {
    return quarantine(ctx, subscription, record, reason, outcome.code);
  }
  return markInDoubt(ctx, subscription, record, reason);
}

async function quarantine(
  ctx: RenewalContext,
  subscription: Subscription,
  record: ChargeRecord,
  reason: string,
  field: string,
): Promise<Step> {
  const next = revise(ctx, record, { ...base(record), state: "quarantined", reason, field } as ChargeRecord);
  return settle(ctx, subscription, record, next, deactivate(record, "quarantined", reason), "quarantined");
}

async function settle(
  ctx: RenewalContext,
  subscription: Subscription,
  previous: ChargeRecord,
  next: ChargeRecord,
  change: SubscriptionChange,
  outcome: Exclude<ChargeOutcomeKind, "rate_limited">,
): Promise<Step> {
  const saved = await save(ctx, previous, next, change, `settle-${outcome}`);
  if (!("ok" in saved)) return saved;
  return {
    kind: "settled",
    outcome,
    record: next,
    advancedTo: change.kind === "advance" ? change.nextPeriodStart : null,
  };
}

/** Re-applies a settled record's subscription change (repair after a hand edit). */
async function settleAgain(
  ctx: RenewalContext,
  subscription: Subscription,
  record: ChargeRecord,
  change: SubscriptionChange,
): Promise<Step> {
  const next = revise(ctx, record, record);
  const outcome =
    record.state === "succeeded"
      ? "succeeded"
      : record.state === "declined"
        ? "declined"
        : record.state === "quarantined"
          ? "quarantined"
          : record.state === "needs_customer_action"
            ? "needs_customer_action"
            : "in_doubt";
  return settle(ctx, subscription, record, next, change, outcome);
}

/** The fields every state shares, without the state-specific ones. */
function base(record: ChargeRecord) {
  return {
    subscriptionId: record.subscriptionId,
    periodStart: record.periodStart,
    customerId: record.customerId,
    paymentMethodId: record.paymentMethodId,
    amount: record.amount,
    currency: record.currency,
    idempotencyKey: record.idempotencyKey,
    createGeneration: record.createGeneration,
    confirmAttempt: record.confirmAttempt,
    attempts: record.attempts,
    paymentIntentId: record.paymentIntentId,
    fence: record.fence,
    version: record.version,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}
