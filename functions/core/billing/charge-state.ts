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
  /** The period's one PaymentIntent, once recorded; never replaced by another. */
  readonly paymentIntentId?: string;
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

/** Fields a write only stamps: a rewrite that changes nothing else is a re-stamp. */
const STAMPS = new Set(["fence", "version", "updatedAt"]);

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
  if (from.paymentIntentId !== undefined && to.paymentIntentId !== from.paymentIntentId) {
    return no("the recorded PaymentIntent may not be replaced or removed");
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
