/**
 * The charge ledger: one record per subscription and period, keyed (subscriptionId, periodStart). Its
 * `state` says where that period's charge stands; each state carries what that state needs and nothing
 * is inferred from optional fields. Every write of a record is fenced by the lease and versioned.
 *
 *   pending ──▶ succeeded                      (terminal)
 *      │  ├──▶ declined ──(retryAt due)──▶ pending
 *      │  │        └─(retryAt null: final, subscription goes past_due)
 *      │  ├──▶ needs_customer_action           (terminal for the run)
 *      │  ├──▶ quarantined                     (terminal for the period)
 *      │  └──▶ in_doubt ──▶ succeeded | declined | needs_customer_action | pending | in_doubt
 *      └──▶ pending  (PaymentIntent id recorded, next confirm attempt, next create generation)
 *
 * A decline or a need for customer action is recorded only after the PaymentIntent was canceled at
 * Stripe, and a dunning retry (declined ──▶ pending) starts a new PaymentIntent under the next create
 * generation. The constructors at the end of this file are the only way the run builds a next record:
 * each accepts only the states its transition may come from.
 *
 * See docs/billing-policy.md for what each state means to the customer.
 */

/** Fields every state has. */
type ChargeBase = {
  readonly subscriptionId: string;
  /** The period's start, exactly as stored on the subscription when the period was claimed. */
  readonly periodStart: string;
  readonly customerId: string;
  /** The card the next (or last) confirmation uses; a dunning retry may switch to the customer's new card. */
  readonly paymentMethodId: string;
  /** Frozen at the claim: a key reused with another amount is an error at Stripe, not a replay. */
  readonly amount: number;
  readonly currency: string;
  /** The create key in use (idempotency.ts createKeyFor with `createGeneration`). */
  readonly idempotencyKey: string;
  /** 0 unless a create's saved 500 forced a fresh key; changes only with `idempotencyKey`. */
  readonly createGeneration: number;
  /** The confirm key's attempt number (idempotency.ts confirmKeyFor). */
  readonly confirmAttempt: number;
  /** Dunning attempts so far for this period (1 on the first charge); retry-policy.ts counts from it. */
  readonly attempts: number;
  /**
   * The period's live PaymentIntent, once recorded. Replaced only by a dunning retry, and only after
   * the old one was canceled at Stripe (it then moves to `canceledPaymentIntentIds`).
   */
  readonly paymentIntentId?: string;
  /**
   * The period's PaymentIntents this job canceled: a declined or unauthenticated one before its outcome
   * was recorded, a superseded dunning attempt. Stripe refuses to confirm a canceled PaymentIntent, so a
   * late request from a paused process cannot try the card again. Only grows.
   */
  readonly canceledPaymentIntentIds?: readonly string[];
  /** The lease fence of the writer of this version. */
  readonly fence: number;
  /** Optimistic concurrency: each write is conditioned on the version it read. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
};

/** Claimed: amount, currency and key frozen; a PaymentIntent may be recorded and not yet confirmed. */
export type PendingCharge = ChargeBase & {
  readonly state: "pending";
};

export type SucceededCharge = ChargeBase & {
  readonly state: "succeeded";
  readonly paymentIntentId: string;
  /** Stripe's `latest_charge`; null only if Stripe did not report one. */
  readonly chargeId: string | null;
  readonly settledAt: string;
};

export type DeclinedCharge = ChargeBase & {
  readonly state: "declined";
  readonly paymentIntentId: string;
  /** Stripe error code, e.g. `card_declined`. */
  readonly code: string;
  /** Stripe decline code, e.g. `insufficient_funds`, when Stripe gave one. */
  readonly declineCode: string | null;
  /** Which attempt declined (1-based). */
  readonly attempt: number;
  /** When to confirm again; null means no retries are left: the subscription goes past_due. */
  readonly retryAt: string | null;
};

/** Off-session payment needs the customer (3-D Secure): never retried off-session. */
export type NeedsCustomerActionCharge = ChargeBase & {
  readonly state: "needs_customer_action";
  readonly paymentIntentId: string;
  readonly code: string;
};

/** A provider call whose outcome is unknown (timeout, dropped connection, 5xx): look it up, never guess. */
export type InDoubtCharge = ChargeBase & {
  readonly state: "in_doubt";
  readonly reason: string;
  readonly since: string;
};

/** Not chargeable as it stands (bad data, or Stripe refused the request): a person must look. */
export type QuarantinedCharge = ChargeBase & {
  readonly state: "quarantined";
  readonly reason: string;
  readonly field: string;
};

export type ChargeRecord =
  | PendingCharge
  | SucceededCharge
  | DeclinedCharge
  | NeedsCustomerActionCharge
  | InDoubtCharge
  | QuarantinedCharge;

export type ChargeState = ChargeRecord["state"];

export const CHARGE_STATES: readonly ChargeState[] = [
  "pending",
  "succeeded",
  "declined",
  "needs_customer_action",
  "in_doubt",
  "quarantined",
];

export type ChargeIn<S extends ChargeState> = Extract<ChargeRecord, { readonly state: S }>;

export function isChargeState(value: unknown): value is ChargeState {
  return CHARGE_STATES.includes(value as ChargeState);
}

/** Narrows a record to one state: `if (inState(record, "declined")) record.retryAt`. */
export function inState<S extends ChargeState>(record: ChargeRecord, state: S): record is ChargeIn<S> {
  return record.state === state;
}

/**
 * Whether no automatic step will ever change the record: paid, quarantined, waiting for the customer, or
 * declined with no retries left. Everything else (pending, in doubt, declined with a retry ahead) is work
 * the run still owes.
 */
export function isTerminal(record: ChargeRecord): boolean {
  switch (record.state) {
    case "succeeded":
    case "quarantined":
    case "needs_customer_action":
      return true;
    case "declined":
      return record.retryAt === null;
    case "pending":
    case "in_doubt":
      return false;
  }
}

/**
 * The transition table, by state. Moves not listed are bugs or hand edits. Two rules need the records,
 * not only the states, and are checked by `checkTransition`: declined → pending only when a retry is
 * scheduled, and a same-state rewrite of a settled record may only re-stamp it.
 */
export const TRANSITIONS: Readonly<Record<ChargeState, readonly ChargeState[]>> = {
  pending: ["pending", "succeeded", "declined", "needs_customer_action", "in_doubt", "quarantined"],
  in_doubt: ["succeeded", "declined", "needs_customer_action", "pending", "in_doubt"],
  declined: ["pending"],
  succeeded: [],
  needs_customer_action: [],
  quarantined: [],
};

export function allowedTransition(from: ChargeState, to: ChargeState): boolean {
  return TRANSITIONS[from].includes(to);
}

export type TransitionCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Fields no write may change once a period is claimed. */
const FROZEN = ["subscriptionId", "periodStart", "customerId", "amount", "currency"] as const;

/**
 * Fields a write only stamps: a rewrite that changes nothing else is a re-stamp. The canceled list may
 * grow on a settled record (a cancel that came after the outcome was recorded); it never shrinks, which
 * `checkTransition` checks on its own.
 */
const STAMPS = new Set(["fence", "version", "updatedAt", "canceledPaymentIntentIds"]);

function isRestamp(from: ChargeRecord, to: ChargeRecord): boolean {
  const keys = new Set([...Object.keys(from), ...Object.keys(to)]);
  for (const key of keys) {
    if (STAMPS.has(key)) continue;
    if ((from as Record<string, unknown>)[key] !== (to as Record<string, unknown>)[key]) return false;
  }
  return true;
}

/**
 * Whether `to` may replace `from` in the ledger: the state table, plus the invariants that make a period
 * chargeable at most once (frozen amount and key, one PaymentIntent, fences and versions that only move
 * forward). For tests and invariant checks over recorded histories.
 */
export function checkTransition(from: ChargeRecord, to: ChargeRecord): TransitionCheck {
  const no = (reason: string): TransitionCheck => ({ ok: false, reason });
  for (const field of FROZEN) {
    if (from[field] !== to[field]) return no(`${field} is frozen once the period is claimed`);
  }
  if (to.version !== from.version + 1)
    return no(`version must go from ${from.version} to ${from.version + 1}`);
  if (to.fence < from.fence) return no(`fence went backwards (${from.fence} to ${to.fence})`);
  const canceledBefore = from.canceledPaymentIntentIds ?? [];
  const canceledAfter = to.canceledPaymentIntentIds ?? [];
  if (canceledBefore.some((id) => !canceledAfter.includes(id))) {
    return no("a canceled PaymentIntent may not leave the record's canceled list");
  }
  if (from.paymentIntentId !== undefined && to.paymentIntentId !== from.paymentIntentId) {
    const retry = from.state === "declined" && to.state === "pending" && to.paymentIntentId === undefined;
    if (!retry) return no("the recorded PaymentIntent may not be replaced or removed");
    if (!canceledAfter.includes(from.paymentIntentId)) {
      return no("a dunning retry may leave the old PaymentIntent only once it is canceled");
    }
    if (to.createGeneration <= from.createGeneration) {
      return no("a dunning retry creates its PaymentIntent under the next create generation");
    }
  }
  if (
    to.state === "pending" &&
    to.paymentIntentId !== undefined &&
    canceledAfter.includes(to.paymentIntentId)
  ) {
    return no("a canceled PaymentIntent is never confirmed again: a retry is a new one");
  }
  if (
    from.state !== to.state &&
    (to.state === "declined" || to.state === "needs_customer_action") &&
    !canceledAfter.includes(to.paymentIntentId)
  ) {
    return no(`${to.state} is recorded only once its PaymentIntent is canceled`);
  }
  if (to.createGeneration < from.createGeneration) return no("createGeneration went backwards");
  if ((to.createGeneration === from.createGeneration) !== (to.idempotencyKey === from.idempotencyKey)) {
    return no("the create key changes exactly when the create generation does");
  }
  if (to.confirmAttempt < from.confirmAttempt) return no("confirmAttempt went backwards");
  if (to.attempts < from.attempts) return no("attempts went backwards");

  if (from.state === to.state && !allowedTransition(from.state, to.state)) {
    return isRestamp(from, to) ? { ok: true } : no(`a settled ${from.state} record may only be re-stamped`);
  }
  if (!allowedTransition(from.state, to.state)) return no(`${from.state} may not become ${to.state}`);
  if (from.state === "declined" && from.retryAt === null) {
    return no("a declined charge with no retries left is final for the period");
  }
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------------
// Transitions. One constructor per legal move; the parameter type of `from` is the set of states the
// move may start from, so a wrong transition does not compile. Each stamps the writer's fence, the next
// version and the time; the frozen fields (subscription, period, customer, amount, currency) are copied.

/** Who writes the next version, and when. */
export interface WriteStamp {
  readonly fence: number;
  /** ISO-8601, the writer's clock. */
  readonly at: string;
}

/** States whose outcome is still open: the run may create, confirm or look up. */
export type OpenCharge = PendingCharge | InDoubtCharge;

/** A settled outcome whose PaymentIntent was canceled, or that has none (a quarantine). */
export type ClosedCharge = DeclinedCharge | NeedsCustomerActionCharge | QuarantinedCharge;

/** What every next version carries over from the one before. */
function carried(from: ChargeRecord, stamp: WriteStamp): ChargeBase {
  return {
    subscriptionId: from.subscriptionId,
    periodStart: from.periodStart,
    customerId: from.customerId,
    paymentMethodId: from.paymentMethodId,
    amount: from.amount,
    currency: from.currency,
    idempotencyKey: from.idempotencyKey,
    createGeneration: from.createGeneration,
    confirmAttempt: from.confirmAttempt,
    attempts: from.attempts,
    ...(from.paymentIntentId !== undefined && { paymentIntentId: from.paymentIntentId }),
    ...(from.canceledPaymentIntentIds !== undefined && {
      canceledPaymentIntentIds: from.canceledPaymentIntentIds,
    }),
    fence: stamp.fence,
    version: from.version + 1,
    createdAt: from.createdAt,
    updatedAt: stamp.at,
  };
}

function withCanceled(ids: readonly string[] | undefined, id: string): readonly string[] {
  const list = ids ?? [];
  return list.includes(id) ? list : [...list, id];
}

/** The claim of a period: amount, currency, card and create key frozen. Version 1, no PaymentIntent. */
export function claimed(
  fields: Pick<
    ChargeBase,
    "subscriptionId" | "periodStart" | "customerId" | "paymentMethodId" | "amount" | "currency"
  >,
  idempotencyKey: string,
  stamp: WriteStamp,
): PendingCharge {
  return {
    state: "pending",
    subscriptionId: fields.subscriptionId,
    periodStart: fields.periodStart,
    customerId: fields.customerId,
    paymentMethodId: fields.paymentMethodId,
    amount: fields.amount,
    currency: fields.currency,
    idempotencyKey,
    createGeneration: 0,
    confirmAttempt: 1,
    attempts: 1,
    fence: stamp.fence,
    version: 1,
    createdAt: stamp.at,
    updatedAt: stamp.at,
  };
}

/** The period's PaymentIntent, recorded before it is ever confirmed. */
export function recorded(from: OpenCharge, paymentIntentId: string, stamp: WriteStamp): PendingCharge {
  return { ...carried(from, stamp), state: "pending", paymentIntentId };
}

/** Another confirmation of the recorded PaymentIntent, under the next confirm key. */
export function confirmingAgain(from: OpenCharge, paymentIntentId: string, stamp: WriteStamp): PendingCharge {
  return {
    ...carried(from, stamp),
    state: "pending",
    paymentIntentId,
    confirmAttempt: from.confirmAttempt + 1,
  };
}

/** A create that never executed: the next create generation, so the next key. */
export function creatingAgain(from: InDoubtCharge, idempotencyKey: string, stamp: WriteStamp): PendingCharge {
  return {
    ...carried(from, stamp),
    state: "pending",
    createGeneration: from.createGeneration + 1,
    idempotencyKey,
  };
}

/**
 * A dunning retry: the declined PaymentIntent is canceled, so the retry is a new PaymentIntent under the
 * next create generation, with the subscription's current card.
 */
export function retrying(
  from: DeclinedCharge & { readonly canceledPaymentIntentIds: readonly string[] },
  paymentMethodId: string,
  idempotencyKey: string,
  stamp: WriteStamp,
): PendingCharge {
  const { paymentIntentId: _superseded, ...rest } = carried(from, stamp);
  return {
    ...rest,
    state: "pending",
    paymentMethodId,
    createGeneration: from.createGeneration + 1,
    idempotencyKey,
    attempts: from.attempts + 1,
    confirmAttempt: from.confirmAttempt + 1,
  };
}

export function succeeded(
  from: OpenCharge,
  paid: { readonly paymentIntentId: string; readonly chargeId: string | null },
  stamp: WriteStamp,
): SucceededCharge {
  return {
    ...carried(from, stamp),
    state: "succeeded",
    paymentIntentId: paid.paymentIntentId,
    chargeId: paid.chargeId,
    settledAt: stamp.at,
  };
}

/** A decline, recorded once its PaymentIntent is canceled. */
export function declined(
  from: OpenCharge,
  decline: {
    readonly paymentIntentId: string;
    readonly code: string;
    readonly declineCode: string | null;
    readonly retryAt: string | null;
  },
  stamp: WriteStamp,
): DeclinedCharge {
  const base = carried(from, stamp);
  return {
    ...base,
    state: "declined",
    paymentIntentId: decline.paymentIntentId,
    canceledPaymentIntentIds: withCanceled(base.canceledPaymentIntentIds, decline.paymentIntentId),
    code: decline.code,
    declineCode: decline.declineCode,
    attempt: from.attempts,
    retryAt: decline.retryAt,
  };
}

/** Off-session payment needs the customer; recorded once its PaymentIntent is canceled. */
export function needingCustomer(
  from: OpenCharge,
  paymentIntentId: string,
  code: string,
  stamp: WriteStamp,
): NeedsCustomerActionCharge {
  const base = carried(from, stamp);
  return {
    ...base,
    state: "needs_customer_action",
    paymentIntentId,
    canceledPaymentIntentIds: withCanceled(base.canceledPaymentIntentIds, paymentIntentId),
    code,
  };
}

export function inDoubt(
  from: OpenCharge,
  reason: string,
  paymentIntentId: string | undefined,
  stamp: WriteStamp,
): InDoubtCharge {
  return {
    ...carried(from, stamp),
    ...(paymentIntentId !== undefined && { paymentIntentId }),
    state: "in_doubt",
    reason,
    since: stamp.at,
  };
}

/** Not chargeable as it stands; `canceled` names the PaymentIntent canceled before this was recorded. */
export function quarantined(
  from: OpenCharge,
  why: { readonly reason: string; readonly field: string; readonly canceled?: string },
  stamp: WriteStamp,
): QuarantinedCharge {
  const base = carried(from, stamp);
  return {
    ...base,
    state: "quarantined",
    reason: why.reason,
    field: why.field,
    ...(why.canceled !== undefined && {
      canceledPaymentIntentIds: withCanceled(base.canceledPaymentIntentIds, why.canceled),
    }),
  };
}

/** A settled record written again unchanged but for the stamp (repairing its subscription after a hand edit). */
export function restamped<R extends ChargeRecord>(from: R, stamp: WriteStamp): R {
  return { ...from, fence: stamp.fence, version: from.version + 1, updatedAt: stamp.at };
}

/** Adds a PaymentIntent canceled after the outcome was recorded (a record written before cancels were). */
export function withCanceledPaymentIntent<R extends ClosedCharge>(from: R, id: string, stamp: WriteStamp): R {
  return {
    ...restamped(from, stamp),
    canceledPaymentIntentIds: withCanceled(from.canceledPaymentIntentIds, id),
  };
}

/** A period quarantined at its claim: the subscription's data cannot be billed as it stands. */
export function quarantinedOnArrival(
  fields: Pick<
    ChargeBase,
    "subscriptionId" | "periodStart" | "customerId" | "paymentMethodId" | "amount" | "currency"
  >,
  why: { readonly reason: string; readonly field: string },
  stamp: WriteStamp,
): QuarantinedCharge {
  const claim = claimed(fields, "", stamp);
  return { ...claim, state: "quarantined", reason: why.reason, field: why.field };
}
