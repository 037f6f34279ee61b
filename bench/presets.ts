/**
 * Sizes of a benchmark run. `full` is `npm run bench` (about three minutes here), `quick` is
 * `npm run bench -- --quick` (under a minute), `tiny` is the smoke test's (shape only, figures meaningless).
 */
import { DEFAULT_LEASE_TIMINGS, type LeaseTimings } from "../functions/core/lease/lease-timings";
import { DEFAULT_RUN_SETTINGS } from "../functions/core/billing-run/run-config";
import { DEFAULT_STRIPE_ACCOUNT_REQUESTS_PER_SECOND } from "../functions/handler/config";
import type { AttemptsOptions } from "./scenarios/attempts";
import type { BudgetOptions } from "./scenarios/budget";
import type { DrainOptions } from "./scenarios/drain";

export interface Preset {
  readonly name: "full" | "quick" | "tiny";
  /** DynamoDB Local's JVM warm-up before anything is measured (bench/warm-up.ts): charges, time cap. */
  readonly warmUp: { charges: number; maxMs: number };
  /** Customers with a saved card created in the emulator once; every scenario's subscriptions bill them. */
  readonly customers: number;
  /** The provider of scenarios 1 and 2: Stripe's live-mode order of magnitude, with real latency. */
  readonly provider: { readonly latencyMs: number; readonly requestsPerSecond: number };
  /** The job's client-side limiter, just under the provider's limit. */
  readonly clientRequestsPerSecond: number;
  readonly designed: {
    subscriptions: number;
    concurrency: number;
    pageSize: number;
    warmupMs: number;
    durationMs: number;
  };
  readonly naive: { subscriptions: number; warmupMs: number; durationMs: number };
  readonly failover: {
    repetitions: number;
    lease: LeaseTimings;
    standbyPollMs: number;
    subscriptionsPerRepetition: number;
    accountRequestsPerSecond: number;
    providerLatencyMs: number;
    chargesBeforeDeath: number;
  };
  /** Contenders → rounds. */
  readonly leaseRounds: Record<number, number>;
  readonly shards: {
    shardCounts: number[];
    subscriptions: number;
    concurrency: number;
    pageSize: number;
    provider: { latencyMs: number; requestsPerSecond: number };
    warmupMs: number;
    durationMs: number;
    /** How long DynamoDB Local is saturated to measure its ceiling (bench/dynamo-ceiling.ts). */
    ceilingMs: number;
  };
  /** Scenario 7 (bench/scenarios/attempts.ts): requests per charge, per decline, per retry. */
  readonly attempts: AttemptsOptions;
  /** Scenario 8 (bench/scenarios/budget.ts): 1, 2 and 4 leaders under one account budget. */
  readonly budget: BudgetOptions;
  /** Scenario 9 (bench/scenarios/drain.ts): a backlog drained through continuation links. */
  readonly drain: DrainOptions;
}

const provider = { latencyMs: 300, requestsPerSecond: 100 };
// Little's law: renewals in flight = renewals/s × time per renewal. At 95 requests/s, 47.5 renewals/s;
// one renewal takes two provider requests (300 ms each, plus its wait in the client limiter's queue) and
// three fenced writes, each waiting for the group commit in flight on DynamoDB Local (hundreds of ms here),
// so 2-4 s: 47.5 × 4 ≈ 190 renewals in flight. The pool allows 192; the limiter keeps the rate.
const designedConcurrency = 192;

/**
 * One account budget of 100 requests/s (Stripe's live-mode limit), and the emulator's bucket at exactly
 * that; 50 ms a request. 96 renewals in flight over all the leaders: at 50 charges/s that covers almost
 * 2 s per renewal, two 50 ms requests and three fenced writes on a busy DynamoDB Local (Little's law, as
 * above); more would only queue at the DynamoDB client's 50 sockets.
 */
const budget = (durationMs: number, warmupMs: number): BudgetOptions => ({
  shardCounts: [1, 2, 4],
  budget: 100,
  burstSeconds: 1,
  latencyMs: 50,
  concurrency: 96,
  startupMs: 10_000,
  warmupMs,
  durationMs,
});

/**
 * The drain: 3000 due renewals, a provider allowing 100 requests/s at 50 ms, invocations of 15 s,
 * one tick. The local runner's lease for short invocations (5 s, renewed every 1.5 s, 1.5 s margin, which
 * also bounds the Stripe timeout), and its stop-claiming margin for them (2.5 s before the deadline).
 */
const drain: DrainOptions = {
  shardCounts: [1, 2, 4],
  subscriptions: 3000,
  budget: 100,
  latencyMs: 50,
  invocationBudgetMs: 15_000,
  lease: { leaseMs: 5_000, renewMs: 1_500, marginMs: 1_500 },
  concurrency: 96,
  stopClaimingMarginMs: 2_500,
  // A link starts while its predecessor finishes and stands by until the release: it sees the release
  // within one poll. 100 ms costs a lease read per shard ten times a second, for a second or so per link.
  standbyPollMs: 100,
  maxMs: 600_000,
};

/** Books of card attempts: a fifth of the cards refuse the first attempt; half of those customers save a new card. */
const attempts = (subscriptions: number): AttemptsOptions => ({
  subscriptions,
  declineShare: 0.15,
  authenticationShare: 0.05,
  newCardShare: 0.5,
  concurrency: DEFAULT_RUN_SETTINGS.concurrency,
});

export const PRESETS: Record<Preset["name"], Preset> = {
  full: {
    name: "full",
    warmUp: { charges: 1500, maxMs: 40_000 },
    customers: 1500,
    provider,
    clientRequestsPerSecond: 95,
    designed: {
      subscriptions: 2200,
      concurrency: designedConcurrency,
      pageSize: 1000,
      warmupMs: 3000,
      durationMs: 30_000,
    },
    naive: { subscriptions: 80, warmupMs: 2000, durationMs: 20_000 },
    failover: {
      repetitions: 5,
      // The deployed defaults: 15 s lease, renewed every 5 s; standbys poll every second.
      lease: DEFAULT_LEASE_TIMINGS,
      standbyPollMs: DEFAULT_RUN_SETTINGS.standbyPollMs,
      subscriptionsPerRepetition: 150,
      accountRequestsPerSecond: DEFAULT_STRIPE_ACCOUNT_REQUESTS_PER_SECOND,
      providerLatencyMs: 50,
      chargesBeforeDeath: 5,
    },
    leaseRounds: { 1: 300, 10: 150, 50: 40 },
    shards: {
      shardCounts: [1, 2, 4, 8],
      subscriptions: 2000,
      concurrency: DEFAULT_RUN_SETTINGS.concurrency,
      pageSize: 1000,
      provider: { latencyMs: 5, requestsPerSecond: 1000 },
      warmupMs: 2000,
      durationMs: 8000,
      ceilingMs: 5000,
    },
    attempts: attempts(1000),
    budget: budget(30_000, 3_000),
    drain,
  },
  quick: {
    name: "quick",
    warmUp: { charges: 600, maxMs: 12_000 },
    customers: 500,
    provider,
    clientRequestsPerSecond: 95,
    designed: {
      subscriptions: 700,
      concurrency: designedConcurrency,
      pageSize: 1000,
      warmupMs: 2000,
      durationMs: 6000,
    },
    naive: { subscriptions: 20, warmupMs: 1000, durationMs: 4000 },
    failover: {
      repetitions: 3,
      lease: { ...DEFAULT_LEASE_TIMINGS, leaseDurationMs: 3000, renewIntervalMs: 1000, safetyMarginMs: 1000 },
      standbyPollMs: 200,
      subscriptionsPerRepetition: 60,
      accountRequestsPerSecond: DEFAULT_STRIPE_ACCOUNT_REQUESTS_PER_SECOND,
      providerLatencyMs: 50,
      chargesBeforeDeath: 3,
    },
    leaseRounds: { 1: 40, 10: 20, 50: 6 },
    shards: {
      shardCounts: [1, 2, 4, 8],
      subscriptions: 600,
      concurrency: DEFAULT_RUN_SETTINGS.concurrency,
      pageSize: 1000,
      provider: { latencyMs: 5, requestsPerSecond: 1000 },
      warmupMs: 2000,
      durationMs: 1500,
      ceilingMs: 2000,
    },
    attempts: attempts(400),
    budget: budget(15_000, 3_000),
    drain,
  },
  tiny: {
    name: "tiny",
    warmUp: { charges: 100, maxMs: 3_000 },
    customers: 100,
    provider,
    clientRequestsPerSecond: 95,
    designed: { subscriptions: 200, concurrency: 64, pageSize: 1000, warmupMs: 1000, durationMs: 3000 },
    naive: { subscriptions: 10, warmupMs: 1000, durationMs: 3000 },
    failover: {
      repetitions: 1,
      lease: { ...DEFAULT_LEASE_TIMINGS, leaseDurationMs: 2000, renewIntervalMs: 500, safetyMarginMs: 500 },
      standbyPollMs: 100,
      subscriptionsPerRepetition: 40,
      accountRequestsPerSecond: DEFAULT_STRIPE_ACCOUNT_REQUESTS_PER_SECOND,
      providerLatencyMs: 20,
      chargesBeforeDeath: 2,
    },
    leaseRounds: { 1: 3, 10: 2, 50: 1 },
    shards: {
      shardCounts: [1, 2],
      subscriptions: 200,
      concurrency: 16,
      pageSize: 1000,
      provider: { latencyMs: 5, requestsPerSecond: 1000 },
      warmupMs: 1000,
      durationMs: 2000,
      ceilingMs: 500,
    },
    attempts: attempts(120),
    budget: { ...budget(2_000, 500), shardCounts: [1, 2], budget: 40, concurrency: 32, startupMs: 5_000 },
    // Two or three links of 4 s: the chain, not the figures.
    drain: {
      ...drain,
      shardCounts: [2],
      subscriptions: 120,
      budget: 40,
      invocationBudgetMs: 4_000,
      stopClaimingMarginMs: 1_000,
      concurrency: 16,
      maxMs: 120_000,
    },
  },
};
