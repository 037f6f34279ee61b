/**
 * The chaos suite's checker for card attempts (dev/chaos/attempts.ts), on hand-made histories: for each of
 * its two invariants, "attempts fenced" (every card attempt Stripe ran was sent by its period's shard
 * leader at the moment it was sent, whenever it executed) and "no stray PaymentIntents" (at the end, each of the job's PaymentIntents is
 * the ledger's for its period or canceled), a clean history passes and a violating one is reported.
 */
import { describe, expect, it } from "vitest";
import {
  checkAttemptsFenced,
  checkNoStrayPaymentIntents,
  leaderAt,
  ledgerEntry,
  type LeaseEvent,
  type LoggedRequest,
} from "../../dev/chaos/attempts";
import type { ProviderRecord } from "../../dev/invariants";

const T0 = 1_800_000_000_000;
const PERIOD = "2026-11-23T08:00:00.000Z";
const CONFIRM = "POST /v1/payment_intents/:id/confirm";
const keyOf = (contender: string) => `sk_test_chaos_${contender}`;
const senderOf = (apiKey: string | null) => /^sk_test_chaos_(.+)$/.exec(apiKey ?? "")?.[1] ?? null;

const lease = (kind: LeaseEvent["kind"], contender: string, fence: number, at: number): LeaseEvent => ({
  contender,
  shard: 0,
  fence,
  kind,
  at: T0 + at,
});

let seq = 0;
const request = (
  contender: string,
  paymentIntent: string,
  at: number,
  outcome: LoggedRequest["outcome"] = 402,
  cardAttempt = true,
  /** How long after it was sent Stripe executed it. */
  executedAfter = 0,
): LoggedRequest => ({
  seq: ++seq,
  route: CONFIRM,
  apiKey: keyOf(contender),
  paymentIntent,
  cardAttempt,
  outcome,
  sentAt: T0 + at,
  at: T0 + at + executedAfter,
});

const jobPi = (id: string, subscription: string, status: string, source = "lease-billing") => ({
  id,
  status,
  amount: 1500,
  currency: "usd",
  metadata: { subscription_id: subscription, period_start: PERIOD, source },
});

const provider: ProviderRecord = {
  paymentIntents: [
    jobPi("pi_a", "sub_a", "requires_payment_method"),
    jobPi("pi_b", "sub_b", "succeeded"),
    jobPi("pi_other", "sub_a", "requires_payment_method", "someone-else"),
  ],
};
const shards = new Map([
  ["sub_a", 0],
  ["sub_b", 0],
]);

// c1 leads shard 0 with fence 1, is paused, c2 takes over with fence 2 and later releases.
const leases: LeaseEvent[] = [
  lease("acquired", "c1", 1, 100),
  lease("acquired", "c2", 2, 2_000),
  // c1's own report of fence 1 reaches the runner late: it does not make c1 the leader again.
  lease("acquired", "c1", 1, 2_500),
  lease("ended", "c2", 2, 5_000),
];

describe("attempts fenced", () => {
  it("leaderAt: the highest fence acquired so far, until its holder releases or loses it", () => {
    expect(leaderAt(leases, 0, T0 + 50)).toBeNull();
    expect(leaderAt(leases, 0, T0 + 100)).toEqual({ contender: "c1", fence: 1 });
    expect(leaderAt(leases, 0, T0 + 3_000)).toEqual({ contender: "c2", fence: 2 });
    expect(leaderAt(leases, 0, T0 + 5_000)).toBeNull();
    expect(leaderAt(leases, 1, T0 + 3_000)).toBeNull();
  });

  it("passes when every card attempt came from the leader of its period's shard at that moment", () => {
    const result = checkAttemptsFenced(
      [
        request("c1", "pi_a", 500),
        request("c2", "pi_a", 2_100),
        request("c2", "pi_b", 2_200, 200),
        // Late confirmations by c1 that Stripe refused (state) or replayed attempt nothing.
        request("c1", "pi_b", 3_000, 400, false),
        // Not the job's PaymentIntent: nobody's period.
        request("c1", "pi_other", 3_100),
        // Sent by c2 while it led; Stripe ran it after c2 had released (a latency spike): c2's decision.
        request("c2", "pi_a", 4_900, 402, true, 1_500),
      ],
      leases,
      provider,
      shards,
      senderOf,
      T0,
    );
    expect(result).toEqual({ violations: [], attempts: 4 });
  });

  it("reports a superseded leader's late card attempt, one after the lease was released, and an unknown sender", () => {
    const late = request("c1", "pi_a", 4_000);
    const afterRelease = request("c2", "pi_a", 6_000);
    const stranger = { ...request("c2", "pi_a", 2_300), apiKey: "sk_test_someone" };
    // Paused inside c1 while it led, sent (and run) only once c2 held the lease.
    const heldInside = { ...request("c1", "pi_a", 2_400, 402, true, 50), sentAt: T0 + 2_400 };
    const result = checkAttemptsFenced(
      [late, afterRelease, stranger, heldInside],
      leases,
      provider,
      shards,
      senderOf,
      T0,
    );
    expect(result.attempts).toBe(4);
    expect(result.violations).toEqual([
      `attempts fenced: ${CONFIRM} #${late.seq} on pi_a (sub_a@${PERIOD}) tried the card (402), sent at 4000 ms by c1 (executed at 4000 ms); shard 0's leader then was c2 (fence 2)`,
      `attempts fenced: ${CONFIRM} #${afterRelease.seq} on pi_a (sub_a@${PERIOD}) tried the card (402), sent at 6000 ms by c2 (executed at 6000 ms); shard 0's leader then was nobody`,
      `attempts fenced: ${CONFIRM} #${stranger.seq} on pi_a (sub_a@${PERIOD}) tried the card (402), sent at 2300 ms by key sk_test_someone (executed at 2300 ms); shard 0's leader then was c2 (fence 2)`,
      `attempts fenced: ${CONFIRM} #${heldInside.seq} on pi_a (sub_a@${PERIOD}) tried the card (402), sent at 2400 ms by c1 (executed at 2450 ms); shard 0's leader then was c2 (fence 2)`,
    ]);
  });
});

describe("no stray PaymentIntents", () => {
  const ledger = [
    ledgerEntry({ subscriptionId: "sub_a", periodStart: PERIOD, paymentIntentId: "pi_a2" }),
    ledgerEntry({
      subscriptionId: "sub_b",
      periodStart: PERIOD,
      paymentIntentId: "pi_b",
      // A string set, as the document client reads one.
      canceledPaymentIntentIds: new Set(["pi_b0"]),
    }),
  ];

  it("passes when each of the job's PaymentIntents is the ledger's, a superseded one, or canceled", () => {
    const result = checkNoStrayPaymentIntents(
      {
        paymentIntents: [
          jobPi("pi_a1", "sub_a", "canceled"),
          jobPi("pi_a2", "sub_a", "succeeded"),
          jobPi("pi_b0", "sub_b", "requires_payment_method"),
          jobPi("pi_b", "sub_b", "succeeded"),
          jobPi("pi_x", "sub_x", "requires_confirmation", "someone-else"),
        ],
      },
      ledger,
    );
    expect(result).toEqual({ violations: [], paymentIntents: 4 });
  });

  it("reports a second, unrecorded PaymentIntent beside the period's, and one for a period with no record", () => {
    const result = checkNoStrayPaymentIntents(
      {
        paymentIntents: [
          jobPi("pi_a2", "sub_a", "succeeded"),
          jobPi("pi_late", "sub_a", "requires_confirmation"),
          jobPi("pi_orphan", "sub_c", "requires_payment_method"),
        ],
      },
      ledger,
    );
    expect(result.violations).toEqual([
      `no stray PaymentIntents: pi_late (sub_a@${PERIOD}) is requires_confirmation, not canceled, and the ledger's is pi_a2`,
      `no stray PaymentIntents: pi_orphan (sub_c@${PERIOD}) is requires_payment_method, not canceled, and the period has no charge record`,
    ]);
  });
});
