/**
 * The checker for card attempts, not only money. dev/invariants.ts counts what moved (one success per
 * period, ledger and provider agree); a superseded leader can still try a card again without moving
 * anything twice: a declined card tried a day later, an off-session retry of a card that needs the
 * customer, a PaymentIntent nobody recorded left open. Two rules, from the emulator's own record of what
 * it executed and who sent it (the request log, one API key per contender process) and from the lease
 * history the contenders reported:
 *
 *  - attempts fenced: every request that Stripe ran against a card (the charge succeeded, was declined,
 *    or needed authentication; not a confirmation refused for the PaymentIntent's state, not an
 *    idempotent replay) was sent by its period's shard leader at the moment it was sent (when it left
 *    its sender: its arrival, or the end of a hold that kept it inside a paused process): the contender
 *    holding the highest fence acquired so far on that shard, and not yet released or lost. A request
 *    sent in time may execute later (a latency spike, as at Stripe, where a request the client stopped
 *    waiting for can still run); the one PaymentIntent per period and Stripe's state machine, not the
 *    lease, are what keep that late execution from being a second attempt;
 *  - no stray PaymentIntents: at the end, every PaymentIntent carrying the job's metadata is the ledger's
 *    for its period (the charge record's `paymentIntentId`, or one listed in its
 *    `canceledPaymentIntentIds`), or is canceled.
 *
 * The lease history is what contenders logged, so the check is lenient where the log is late: between a
 * takeover's commit and its log line the old holder still counts as leader, and an acquisition by a
 * contender killed before it could log is not seen. What it reports is certain; it may miss a few.
 */
import { JOB_METADATA_SOURCE } from "../../functions/core/payments/payment-gateway";
import type { ProviderRecord } from "../invariants";
import type { RequestEntry } from "../stripe-emulator";

/** The `source` metadata of the job's PaymentIntents (renewalMetadata in the payment gateway port). */
export const JOB_SOURCE = JOB_METADATA_SOURCE;

export const ATTEMPTS_FENCED = "attempts fenced";
export const NO_STRAY_PAYMENT_INTENTS = "no stray PaymentIntents";

/** A lease acquired, or given up (released, or found lost), as a contender reported it. */
export interface LeaseEvent {
  readonly contender: string;
  readonly shard: number;
  readonly fence: number;
  readonly kind: "acquired" | "ended";
  /** Epoch ms, on the runner's clock (the same clock as the request log's `at`). */
  readonly at: number;
}

/** The part of a request log entry the checker reads. */
export type LoggedRequest = Pick<
  RequestEntry,
  "seq" | "route" | "apiKey" | "paymentIntent" | "cardAttempt" | "outcome" | "at" | "sentAt"
>;

/** The part of a charge record the checker reads. */
export interface LedgerEntry {
  readonly subscriptionId: string;
  readonly periodStart: string;
  readonly paymentIntentId?: string;
  readonly canceledPaymentIntentIds?: readonly string[];
}

export interface AttemptCheck {
  readonly violations: string[];
  /** Card attempts on the job's PaymentIntents, checked. */
  readonly attempts: number;
}

export interface StrayCheck {
  readonly violations: string[];
  /** The job's PaymentIntents checked. */
  readonly paymentIntents: number;
}

export interface Leader {
  readonly contender: string;
  readonly fence: number;
}

/** Who led `shard` at `at`: the highest fence acquired by then, unless its holder had given it up. */
export function leaderAt(events: readonly LeaseEvent[], shard: number, at: number): Leader | null {
  let top: Leader | null = null;
  let ended = false;
  const ordered = events.filter((e) => e.shard === shard && e.at <= at).sort((x, y) => x.at - y.at);
  for (const e of ordered) {
    if (e.kind === "acquired" && (top === null || e.fence > top.fence)) {
      top = { contender: e.contender, fence: e.fence };
      ended = false;
    } else if (e.kind === "ended" && top?.contender === e.contender && top.fence === e.fence) {
      ended = true;
    }
  }
  return ended ? null : top;
}

const periodKey = (subscriptionId: string, periodStart: string) => `${subscriptionId}@${periodStart}`;

export function checkAttemptsFenced(
  requests: readonly LoggedRequest[],
  leases: readonly LeaseEvent[],
  provider: ProviderRecord,
  /** Each subscription's shard (the subscriptions table). */
  shards: ReadonlyMap<string, number>,
  /** The contender that holds an API key; null for a key no contender was given. */
  senderOf: (apiKey: string | null) => string | null,
  /** Epoch ms that messages count from (the timeline's start), so times read like the report's. */
  origin = 0,
): AttemptCheck {
  const violations: string[] = [];
  const metadata = new Map(provider.paymentIntents.map((pi) => [pi.id, pi.metadata]));
  let attempts = 0;
  for (const r of requests) {
    const m = r.paymentIntent === null ? undefined : metadata.get(r.paymentIntent);
    // Only the job's PaymentIntents are a period's decision.
    if (!r.cardAttempt || m?.source !== JOB_SOURCE) continue;
    attempts += 1;
    const period = periodKey(String(m.subscription_id), String(m.period_start));
    const shard = shards.get(String(m.subscription_id));
    const sender = senderOf(r.apiKey);
    const leader = shard === undefined ? null : leaderAt(leases, shard, r.sentAt);
    if (sender !== null && leader?.contender === sender) continue;
    violations.push(
      `${ATTEMPTS_FENCED}: ${r.route} #${r.seq} on ${String(r.paymentIntent)} (${period}) tried the card ` +
        `(${String(r.outcome)}), sent at ${r.sentAt - origin} ms by ${sender ?? `key ${String(r.apiKey)}`} ` +
        `(executed at ${r.at - origin} ms); ` +
        (shard === undefined
          ? "the subscription has no shard"
          : `shard ${shard}'s leader then was ${leader ? `${leader.contender} (fence ${leader.fence})` : "nobody"}`),
    );
  }
  return { violations, attempts };
}

export function checkNoStrayPaymentIntents(
  provider: ProviderRecord,
  ledger: readonly LedgerEntry[],
): StrayCheck {
  const violations: string[] = [];
  const records = new Map(ledger.map((c) => [periodKey(c.subscriptionId, c.periodStart), c]));
  const jobs = provider.paymentIntents.filter((pi) => pi.metadata.source === JOB_SOURCE);
  for (const pi of jobs) {
    if (pi.status === "canceled") continue;
    const period = periodKey(String(pi.metadata.subscription_id), String(pi.metadata.period_start));
    const record = records.get(period);
    if (record?.paymentIntentId === pi.id || record?.canceledPaymentIntentIds?.includes(pi.id)) continue;
    const ledgers = record
      ? `the ledger's is ${record.paymentIntentId ?? "not recorded"}`
      : "the period has no charge record";
    violations.push(
      `${NO_STRAY_PAYMENT_INTENTS}: ${pi.id} (${period}) is ${pi.status}, not canceled, and ${ledgers}`,
    );
  }
  return { violations, paymentIntents: jobs.length };
}

/** A charge record as scanned from the table, in the checker's terms. */
export function ledgerEntry(item: Record<string, unknown>): LedgerEntry {
  const superseded = item.canceledPaymentIntentIds;
  // The document client reads a list as an array and a string set as a Set.
  const list = superseded instanceof Set || Array.isArray(superseded) ? [...superseded].map(String) : [];
  return {
    subscriptionId: String(item.subscriptionId),
    periodStart: String(item.periodStart),
    ...(typeof item.paymentIntentId === "string" && { paymentIntentId: item.paymentIntentId }),
    canceledPaymentIntentIds: list,
  };
}
