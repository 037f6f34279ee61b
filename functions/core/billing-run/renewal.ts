/**
 * Renewing one subscription for its current period: the exactly-once core.
 *
 *   claim ──▶ create PaymentIntent ──▶ record its id ──▶ confirm off-session ──▶ settle
 *
 * Every arrow that changes our state is a fenced, versioned write (ChargeLedger.saveCharge); every
 * provider call carries a key derived from the subscription and the period. One live PaymentIntent per
 * period is recorded on the claim and only the recorded one is ever confirmed, so Stripe's own state
 * machine (a PaymentIntent succeeds at most once) is the last fence for money.
 *
 * Card attempts are fenced too: no request leaves unless the lease still has safe time (`guard`), and
 * a PaymentIntent whose decline or need for authentication the ledger records is canceled first, so a
 * late confirmation from a paused process is refused by Stripe instead of trying the card. A dunning
 * retry is a new PaymentIntent (the next create generation). Unknown outcomes are recorded as in doubt
 * and resolved by looking the PaymentIntent up, never by guessing. See docs/billing-run.md.
 */
import type { Clock } from "../clock";
import type { LeaseToken } from "../lease/lease";
import {
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
  withCanceledPaymentIntent,
  type ChargeRecord,
  type ClosedCharge,
  type DeclinedCharge,
  type InDoubtCharge,
  type OpenCharge,
  type PendingCharge,
  type WriteStamp,
} from "../billing/charge-state";
import { nextPeriodStart } from "../billing/calendar";
import { cancelKeyFor, confirmKeyFor, createKeyFor } from "../billing/idempotency";
import { nextRetry, type RetrySchedule } from "../billing/retry-policy";
import type { Subscription } from "../billing/subscription";
import { boundedReason } from "../billing/reasons";
import {
  createGenerationOf,
  renewalMetadata,
  type ConfirmOutcome,
  type PaymentGateway,
  type PaymentIntentView,
  type SendGuard,
} from "../payments/payment-gateway";
import type { ChargeLedger, SubscriptionChange } from "./ports";
import type { ChargeOutcomeKind } from "./events";

export interface RenewalContext {
  readonly token: LeaseToken;
  readonly ledger: ChargeLedger;
  readonly gateway: PaymentGateway;
  readonly clock: Clock;
  readonly retrySchedule: RetrySchedule;
  /** Asked before every provider request: null while the lease this renewal acts under has safe time. */
  readonly guard: SendGuard;
  /** How far back (seconds) to list the customer's PaymentIntents when resolving an unknown create. */
  readonly lookbackSeconds?: number;
}

export type SettledOutcome = Exclude<ChargeOutcomeKind, "rate_limited">;

export type RenewalResult =
  | {
      readonly kind: "settled";
      readonly outcome: SettledOutcome;
      readonly record: ChargeRecord;
      /** Set when the subscription moved on to a next period. */
      readonly advancedTo: string | null;
    }
  /** Nothing to do now (already handled, not started yet, or a decline whose retry is not yet due). */
  | { readonly kind: "skipped"; readonly reason: string }
  /** The provider asked us to slow down before anything happened: leave it for later in the run. */
  | { readonly kind: "rate_limited"; readonly record: ChargeRecord }
  /** The lease has no safe time left: nothing more was sent. Leave it due for the next holder. */
  | { readonly kind: "stopped"; readonly reason: string }
  /** Someone else holds the lease now. Stop all work. */
  | { readonly kind: "fenced-out"; readonly step: string };

/** Settles, at most, this many times per call; each loop is one step of the state machine. */
const MAX_STEPS = 12;
const DEFAULT_LOOKBACK_SECONDS = 40 * 86_400;

type Step = RenewalResult | { readonly kind: "continue"; readonly record: ChargeRecord };

export async function renewSubscription(
  ctx: RenewalContext,
  subscription: Subscription,
  asOf: string,
): Promise<RenewalResult> {
  // The caller checks this too; a period is never charged before it starts, whatever called us.
  if (subscription.nextPeriodStart > asOf || subscription.nextAttemptAt > asOf) {
    return { kind: "skipped", reason: `the period starting ${subscription.nextPeriodStart} is not due` };
  }
  const start = await claimOrLoad(ctx, subscription);
  if (start.kind !== "continue") return start;
  let record = start.record;
  let freshClaim = start.fresh;
  for (let step = 0; step < MAX_STEPS; step++) {
    const next = await advance(ctx, subscription, record, asOf, freshClaim);
    freshClaim = false;
    if (next.kind !== "continue") return next;
    record = next.record;
  }
  return { kind: "settled", outcome: "in_doubt", record, advancedTo: null };
}

/** The period's record: ours from a fresh claim, or whatever a predecessor left. */
async function claimOrLoad(
  ctx: RenewalContext,
  subscription: Subscription,
): Promise<RenewalResult | { kind: "continue"; record: ChargeRecord; fresh: boolean }> {
  const existing = await ctx.ledger.getCharge(subscription.subscriptionId, subscription.nextPeriodStart);
  if (existing !== null) return { kind: "continue", record: existing, fresh: false };
  const claim = claimed(
    { ...subscription, periodStart: subscription.nextPeriodStart },
    createKeyFor(subscription.subscriptionId, subscription.nextPeriodStart, 0),
    stamp(ctx),
  );
  const saved = await ctx.ledger.saveCharge(ctx.token, claim, null, keep(subscription));
  if (saved.ok) return { kind: "continue", record: claim, fresh: true };
  if (saved.reason === "fenced-out") return { kind: "fenced-out", step: "claim" };
  if (saved.current === null)
    return { kind: "skipped", reason: "the subscription moved on before the claim" };
  return { kind: "continue", record: saved.current, fresh: false };
}

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
      return afterDecline(ctx, subscription, record, asOf);
    case "succeeded":
      // Settling is atomic with advancing the subscription, so this only follows a hand edit: repair it.
      return settle(ctx, record, restamped(record, stamp(ctx)), advanceChange(subscription), "succeeded");
    case "needs_customer_action":
      return closeAgain(ctx, subscription, record, deactivate(record, "needs_customer_action", record.code));
    case "quarantined":
      return closeAgain(ctx, subscription, record, deactivate(record, "quarantined", record.reason));
  }
}

// ---------------------------------------------------------------------------------------------------
// Writing: every write is fenced and versioned; a conflict means someone changed the record since we
// read it (an operator, the resolver: a predecessor's late write cannot, it is fenced out).

type Saved = { readonly kind: "saved" } | RenewalResult | { readonly kind: "continue"; record: ChargeRecord };

async function persist(
  ctx: RenewalContext,
  previous: ChargeRecord,
  next: ChargeRecord,
  change: SubscriptionChange,
  step: string,
): Promise<Saved> {
  const saved = await ctx.ledger.saveCharge(ctx.token, next, previous.version, change);
  if (saved.ok) return { kind: "saved" };
  if (saved.reason === "fenced-out") return { kind: "fenced-out", step };
  if (saved.current === null) return { kind: "skipped", reason: `the charge record vanished during ${step}` };
  return { kind: "continue", record: saved.current };
}

/** Writes `next` and goes on from it. */
async function moveTo(
  ctx: RenewalContext,
  previous: ChargeRecord,
  next: ChargeRecord,
  subscription: Subscription,
  step: string,
): Promise<Step> {
  const saved = await persist(ctx, previous, next, keep(subscription), step);
  return saved.kind === "saved" ? { kind: "continue", record: next } : saved;
}

/** Writes a settled record with its subscription change, and reports the outcome. */
async function settle(
  ctx: RenewalContext,
  previous: ChargeRecord,
  next: ChargeRecord,
  change: SubscriptionChange,
  outcome: SettledOutcome,
): Promise<Step> {
  const saved = await persist(ctx, previous, next, change, `settle-${outcome}`);
  if (saved.kind !== "saved") return saved;
  return {
    kind: "settled",
    outcome,
    record: next,
    advancedTo: change.kind === "advance" ? change.nextPeriodStart : null,
  };
}

async function markInDoubt(
  ctx: RenewalContext,
  subscription: Subscription,
  record: OpenCharge,
  reason: string,
  paymentIntentId?: string,
): Promise<Step> {
  const next = inDoubt(record, boundedReason(reason), paymentIntentId ?? record.paymentIntentId, stamp(ctx));
  const saved = await persist(ctx, record, next, keep(subscription), "in-doubt");
  return saved.kind === "saved"
    ? { kind: "settled", outcome: "in_doubt", record: next, advancedTo: null }
    : saved;
}

// ---------------------------------------------------------------------------------------------------
// Creating and recording the period's PaymentIntent.

async function create(ctx: RenewalContext, subscription: Subscription, record: PendingCharge): Promise<Step> {
  const outcome = await ctx.gateway.createPaymentIntent(
    {
      amount: record.amount,
      currency: record.currency,
      customerId: record.customerId,
      paymentMethodId: record.paymentMethodId,
      description: `Renewal of ${record.subscriptionId} for the period starting ${record.periodStart}`,
      metadata: renewalMetadata(record.subscriptionId, record.periodStart, record.createGeneration),
      idempotencyKey: record.idempotencyKey,
    },
    ctx.guard,
  );
  switch (outcome.kind) {
    case "created":
      // If another contender recorded a different one first, the write conflicts and we adopt theirs;
      // ours is never confirmed (an unconfirmed PaymentIntent moves no money) and the sweep cancels it.
      return moveTo(
        ctx,
        record,
        recorded(record, outcome.paymentIntent.id, stamp(ctx)),
        subscription,
        "record",
      );
    case "rate_limited":
      return { kind: "rate_limited", record };
    case "not_sent":
      return { kind: "stopped", reason: outcome.reason };
    case "in_doubt":
      return markInDoubt(ctx, subscription, record, `create: ${outcome.reason}`);
    case "rejected":
      return rejected(ctx, subscription, record, "the PaymentIntent", outcome);
  }
}

/** The period's PaymentIntents at the provider, by a strongly consistent list of the customer's. */
function lookUpPeriod(ctx: RenewalContext, record: ChargeRecord) {
  return ctx.gateway.findPaymentIntentsForPeriod(
    {
      customerId: record.customerId,
      subscriptionId: record.subscriptionId,
      periodStart: record.periodStart,
      createdSince:
        Math.floor(Date.parse(record.createdAt) / 1000) - (ctx.lookbackSeconds ?? DEFAULT_LOOKBACK_SECONDS),
    },
    ctx.guard,
  );
}

async function findOrCreate(
  ctx: RenewalContext,
  subscription: Subscription,
  record: PendingCharge,
): Promise<Step> {
  const found = await lookUpPeriod(ctx, record);
  switch (found.kind) {
    case "found": {
      const existing = await adoptOne(ctx, record, found.paymentIntents);
      if (existing)
        return moveTo(ctx, record, recorded(record, existing.id, stamp(ctx)), subscription, "record");
      return create(ctx, subscription, record);
    }
    case "rate_limited":
      return { kind: "rate_limited", record };
    case "not_sent":
      return { kind: "stopped", reason: found.reason };
    case "in_doubt":
      return markInDoubt(ctx, subscription, record, `lookup: ${found.reason}`);
    case "rejected":
      return markInDoubt(ctx, subscription, record, `lookup refused: ${found.message}`);
  }
}

/**
 * Of the period's PaymentIntents, the one to adopt: one that moved money (or is moving it), else a live
 * one of the record's own create generation. Every other live one is a stray (a late create from a
 * paused process, an older generation): it is canceled here, best effort, so nobody can confirm it.
 */
async function adoptOne(
  ctx: RenewalContext,
  record: ChargeRecord,
  candidates: readonly PaymentIntentView[],
): Promise<PaymentIntentView | undefined> {
  const live = candidates.filter((pi) => pi.status !== "canceled");
  const chosen =
    live.find((pi) => pi.status === "succeeded") ??
    live.find((pi) => pi.status === "processing") ??
    live.find((pi) => createGenerationOf(pi) === record.createGeneration);
  for (const stray of live) {
    if (stray === chosen || stray.status === "succeeded" || stray.status === "processing") continue;
    await ctx.gateway.cancelPaymentIntent(stray.id, cancelKeyFor(stray.id, `v${record.version}`), ctx.guard);
  }
  return chosen;
}

// ---------------------------------------------------------------------------------------------------
// Confirming, and what the answer means.

async function confirm(
  ctx: RenewalContext,
  subscription: Subscription,
  record: PendingCharge,
  paymentIntentId: string,
): Promise<Step> {
  const outcome = await ctx.gateway.confirmPaymentIntent(
    paymentIntentId,
    record.paymentMethodId,
    confirmKeyFor(record.subscriptionId, record.periodStart, record.confirmAttempt),
    ctx.guard,
  );
  return settleConfirmation(ctx, subscription, record, paymentIntentId, outcome);
}

async function settleConfirmation(
  ctx: RenewalContext,
  subscription: Subscription,
  record: OpenCharge,
  paymentIntentId: string,
  outcome: ConfirmOutcome,
): Promise<Step> {
  switch (outcome.kind) {
    case "succeeded":
      return settleSucceeded(ctx, subscription, record, paymentIntentId, outcome.chargeId);
    case "declined":
    case "needs_customer_action":
      // Cancel first, record after: once the ledger says declined, Stripe refuses any late confirm.
      return cancelThen(ctx, subscription, record, paymentIntentId, () =>
        closeOpen(ctx, subscription, record, paymentIntentId, outcome),
      );
    case "unexpected_state":
      // Already succeeded (a predecessor or a zombie confirmed it) or canceled: ask Stripe which.
      return resolveByRetrieve(ctx, subscription, record, paymentIntentId);
    case "in_doubt":
      return markInDoubt(ctx, subscription, record, `confirm: ${outcome.reason}`, paymentIntentId);
    case "rate_limited":
      return { kind: "rate_limited", record };
    case "not_sent":
      return { kind: "stopped", reason: outcome.reason };
    case "rejected":
      return rejected(ctx, subscription, record, "the confirmation", outcome, paymentIntentId);
  }
}

function settleSucceeded(
  ctx: RenewalContext,
  subscription: Subscription,
  record: OpenCharge,
  paymentIntentId: string,
  chargeId: string | null,
): Promise<Step> {
  const next = succeeded(record, { paymentIntentId, chargeId }, stamp(ctx));
  return settle(ctx, record, next, advanceChange(subscription), "succeeded");
}

type Refusal =
  | { readonly kind: "declined"; readonly code: string; readonly declineCode: string | null }
  | { readonly kind: "needs_customer_action"; readonly code: string };

/** Records a decline or a need for customer action whose PaymentIntent is already canceled. */
function closeOpen(
  ctx: RenewalContext,
  subscription: Subscription,
  record: OpenCharge,
  paymentIntentId: string,
  refusal: Refusal,
): Promise<Step> {
  const at = stamp(ctx);
  if (refusal.kind === "needs_customer_action") {
    const next = needingCustomer(record, paymentIntentId, refusal.code, at);
    return settle(ctx, record, next, deactivate(record, "needs_customer_action", refusal.code), refusal.kind);
  }
  const retryAt = nextRetry(record.attempts, at.at, ctx.retrySchedule);
  const next = declined(record, { paymentIntentId, ...refusal, retryAt }, at);
  const change: SubscriptionChange =
    retryAt === null
      ? deactivate(record, "past_due", `declined (${refusal.declineCode ?? refusal.code}), no retries left`)
      : {
          kind: "reschedule",
          subscriptionId: record.subscriptionId,
          periodStart: record.periodStart,
          nextAttemptAt: retryAt,
        };
  return settle(ctx, record, next, change, "declined");
}

/**
 * Cancels the PaymentIntent, then runs `then`. If Stripe says it cannot be canceled, it is retrieved:
 * canceled already is as good; succeeded means the card was charged after all (a late confirmation),
 * which is recorded as the success it is. Anything unknown leaves the charge in doubt, so the outcome is
 * recorded only once the PaymentIntent can no longer be confirmed.
 */
async function cancelThen(
  ctx: RenewalContext,
  subscription: Subscription,
  record: OpenCharge,
  paymentIntentId: string,
  then: () => Promise<Step>,
): Promise<Step> {
  const canceled = await cancel(ctx, paymentIntentId, record.version);
  switch (canceled.kind) {
    case "canceled":
      return then();
    case "succeeded":
      return settleSucceeded(ctx, subscription, record, paymentIntentId, canceled.chargeId);
    case "unknown":
      return markInDoubt(ctx, subscription, record, `cancel: ${canceled.reason}`, paymentIntentId);
  }
}

type CancelResult =
  | { readonly kind: "canceled" }
  | { readonly kind: "succeeded"; readonly chargeId: string | null }
  | { readonly kind: "unknown"; readonly reason: string };

/** Cancels `paymentIntentId`, from the record at `version` (each version's attempt has its own key). */
async function cancel(ctx: RenewalContext, paymentIntentId: string, version: number): Promise<CancelResult> {
  const outcome = await ctx.gateway.cancelPaymentIntent(
    paymentIntentId,
    cancelKeyFor(paymentIntentId, `v${version}`),
    ctx.guard,
  );
  switch (outcome.kind) {
    case "canceled":
      return { kind: "canceled" };
    case "unexpected_state": {
      const found = await ctx.gateway.retrievePaymentIntent(paymentIntentId, ctx.guard);
      if (found.kind !== "found") return { kind: "unknown", reason: `not cancelable, then ${found.kind}` };
      if (found.paymentIntent.status === "canceled") return { kind: "canceled" };
      if (found.paymentIntent.status === "succeeded")
        return { kind: "succeeded", chargeId: found.paymentIntent.latestChargeId };
      return { kind: "unknown", reason: `not cancelable in status ${found.paymentIntent.status}` };
    }
    case "not_found":
      return { kind: "unknown", reason: "no such PaymentIntent" };
    case "rejected":
      return { kind: "unknown", reason: outcome.message };
    case "rate_limited":
      return { kind: "unknown", reason: "rate limited" };
    case "not_sent":
    case "in_doubt":
      return { kind: "unknown", reason: outcome.reason };
  }
}

// ---------------------------------------------------------------------------------------------------
// Resolving what is in doubt: look it up, never guess.

async function resolveInDoubt(
  ctx: RenewalContext,
  subscription: Subscription,
  record: InDoubtCharge,
): Promise<Step> {
  if (record.paymentIntentId) return resolveByRetrieve(ctx, subscription, record, record.paymentIntentId);
  // The create's outcome is unknown and no id was recorded: list the period's PaymentIntents (strongly
  // consistent). None found means the create never executed, but its key may hold a saved error for 24
  // hours, so the next create uses the next key generation. A late-arriving old create can only leave an
  // unconfirmed stray, which look-ups and the sweep cancel.
  const found = await lookUpPeriod(ctx, record);
  if (found.kind === "rate_limited") return { kind: "rate_limited", record };
  if (found.kind === "not_sent") return { kind: "stopped", reason: found.reason };
  if (found.kind !== "found") return { kind: "settled", outcome: "in_doubt", record, advancedTo: null };
  const existing = await adoptOne(ctx, record, found.paymentIntents);
  if (existing) return moveTo(ctx, record, recorded(record, existing.id, stamp(ctx)), subscription, "record");
  const key = createKeyFor(record.subscriptionId, record.periodStart, record.createGeneration + 1);
  const next = creatingAgain(record, key, stamp(ctx));
  const saved = await persist(ctx, record, next, keep(subscription), "new-create-generation");
  return saved.kind === "saved" ? create(ctx, subscription, next) : saved;
}

async function resolveByRetrieve(
  ctx: RenewalContext,
  subscription: Subscription,
  record: OpenCharge,
  paymentIntentId: string,
): Promise<Step> {
  const found = await ctx.gateway.retrievePaymentIntent(paymentIntentId, ctx.guard);
  if (found.kind === "rate_limited") return { kind: "rate_limited", record };
  if (found.kind === "not_sent") return { kind: "stopped", reason: found.reason };
  if (found.kind !== "found") {
    if (record.state === "in_doubt")
      return { kind: "settled", outcome: "in_doubt", record, advancedTo: null };
    return markInDoubt(ctx, subscription, record, `retrieve: ${found.kind}`, paymentIntentId);
  }
  const pi = found.paymentIntent;
  switch (pi.status) {
    case "succeeded":
      return settleSucceeded(ctx, subscription, record, pi.id, pi.latestChargeId);
    case "requires_payment_method":
      // A failed confirmation left its error: settle it (cancel first). Without one, it was never tried.
      if (pi.lastError)
        return settleConfirmation(ctx, subscription, record, pi.id, refusalOf(pi, pi.lastError));
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
    case "canceled": {
      // Canceled already (by us before a write that did not land, or by hand): record what it was.
      const refusal: Refusal = pi.lastError
        ? refusalOf(pi, pi.lastError)
        : { kind: "declined", code: "payment_intent_canceled", declineCode: null };
      return closeOpen(ctx, subscription, record, pi.id, refusal);
    }
    case "processing":
    case "requires_capture":
      return record.state === "in_doubt"
        ? { kind: "settled", outcome: "in_doubt", record, advancedTo: null }
        : markInDoubt(ctx, subscription, record, `payment ${pi.status}`, pi.id);
  }
}

function refusalOf(
  pi: PaymentIntentView,
  error: NonNullable<PaymentIntentView["lastError"]>,
): Refusal & { readonly paymentIntentId: string } {
  const code = error.code ?? "card_declined";
  if (code === "authentication_required" || error.declineCode === "authentication_required") {
    return { kind: "needs_customer_action", paymentIntentId: pi.id, code: "authentication_required" };
  }
  return { kind: "declined", paymentIntentId: pi.id, code, declineCode: error.declineCode };
}

/** A fresh confirmation attempt, under the next confirm key (frozen first by a fenced write). */
async function confirmAgain(
  ctx: RenewalContext,
  subscription: Subscription,
  record: OpenCharge,
  paymentIntentId: string,
): Promise<Step> {
  const next = confirmingAgain(record, paymentIntentId, stamp(ctx));
  const saved = await persist(ctx, record, next, keep(subscription), "confirm-again");
  return saved.kind === "saved" ? confirm(ctx, subscription, next, paymentIntentId) : saved;
}

// ---------------------------------------------------------------------------------------------------
// After a decline, and settled records seen again.

/**
 * A declined period: a retry that is due starts a new PaymentIntent (the old one is canceled, so it can
 * never be confirmed again); no retries left re-applies past due. A decline recorded before cancels
 * were made has its PaymentIntent canceled first.
 */
async function afterDecline(
  ctx: RenewalContext,
  subscription: Subscription,
  record: DeclinedCharge,
  asOf: string,
): Promise<Step> {
  const canceledIds = record.canceledPaymentIntentIds ?? [];
  if (!canceledIds.includes(record.paymentIntentId)) return cancelClosed(ctx, subscription, record);
  if (record.retryAt === null) {
    return closeAgain(ctx, subscription, record, deactivate(record, "past_due", "declined, no retries left"));
  }
  if (record.retryAt > asOf) return { kind: "skipped", reason: `decline retry due at ${record.retryAt}` };
  const generation = record.createGeneration + 1;
  const next = retrying(
    { ...record, canceledPaymentIntentIds: canceledIds },
    subscription.paymentMethodId,
    createKeyFor(record.subscriptionId, record.periodStart, generation),
    stamp(ctx),
  );
  // Written just now under our fence: no one else can have created this generation's PaymentIntent.
  const saved = await persist(ctx, record, next, keep(subscription), "retry");
  return saved.kind === "saved" ? create(ctx, subscription, next) : saved;
}

/** Re-applies a closed record's subscription change (repair after a hand edit), canceling first if needed. */
async function closeAgain(
  ctx: RenewalContext,
  subscription: Subscription,
  record: ClosedCharge,
  change: SubscriptionChange,
): Promise<Step> {
  const id = record.paymentIntentId;
  if (id !== undefined && !(record.canceledPaymentIntentIds ?? []).includes(id)) {
    return cancelClosed(ctx, subscription, record);
  }
  return settle(ctx, record, restamped(record, stamp(ctx)), change, record.state);
}

/** Cancels the PaymentIntent of a record closed before cancels were made, and notes it on the record. */
async function cancelClosed(
  ctx: RenewalContext,
  subscription: Subscription,
  record: ClosedCharge & { readonly paymentIntentId?: string },
): Promise<Step> {
  const id = record.paymentIntentId;
  if (id === undefined) return { kind: "skipped", reason: "nothing to cancel" };
  const canceled = await cancel(ctx, id, record.version);
  if (canceled.kind === "canceled") {
    return moveTo(ctx, record, withCanceledPaymentIntent(record, id, stamp(ctx)), subscription, "cancel");
  }
  // Succeeded after the outcome was recorded (a late confirmation before cancels existed): the ledger
  // cannot say so by itself; reconciliation reports it. Nothing here may charge again.
  return { kind: "skipped", reason: `PaymentIntent ${id} could not be canceled: ${canceled.kind}` };
}

/**
 * Stripe refused a request as invalid. If the refusal is about this subscription's data (its card or
 * customer is gone, its amount is out of bounds) the charge is quarantined with the reason, its
 * PaymentIntent canceled first. Anything else (a configuration or code problem) would fail the same way
 * for every subscription, so it must not quarantine the whole book: the charge is left in doubt, stays
 * due, and raises the in-doubt alarm.
 */
const SUBSCRIPTION_SPECIFIC = new Set(["resource_missing", "amount_too_small", "amount_too_large"]);

async function rejected(
  ctx: RenewalContext,
  subscription: Subscription,
  record: OpenCharge,
  what: string,
  outcome: { code: string | null; message: string },
  paymentIntentId?: string,
): Promise<Step> {
  const reason = boundedReason(`Stripe refused ${what}: ${outcome.message}`);
  if (outcome.code === null || !SUBSCRIPTION_SPECIFIC.has(outcome.code)) {
    return markInDoubt(ctx, subscription, record, reason, paymentIntentId);
  }
  const code = outcome.code;
  const quarantine = () => {
    const next = quarantined(record, { reason, field: code, canceled: paymentIntentId }, stamp(ctx));
    return settle(ctx, record, next, deactivate(record, "quarantined", reason), "quarantined");
  };
  if (paymentIntentId === undefined) return quarantine();
  return cancelThen(ctx, subscription, record, paymentIntentId, quarantine);
}

// ---------------------------------------------------------------------------------------------------
// Small pieces.

function stamp(ctx: RenewalContext): WriteStamp {
  return { fence: ctx.token.fence, at: new Date(ctx.clock.now()).toISOString() };
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
