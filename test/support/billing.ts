/**
 * In-process contenders for integration tests: each with its own lease client, gateway and pacer (its
 * share of the account's Stripe budget), as separate Lambda invocations would have, against DynamoDB
 * Local and the Stripe emulator over HTTP.
 */
import { randomUUID } from "node:crypto";
import { systemClock, type Clock } from "../../functions/core/clock";
import { runContender, type ContenderReport } from "../../functions/core/billing-run/contender";
import type { RunEvent } from "../../functions/core/billing-run/events";
import { runSettings, type RunSettings } from "../../functions/core/billing-run/run-config";
import type { RunRequest } from "../../functions/core/billing-run/shard-leader";
import type { PaymentGateway } from "../../functions/core/payments/payment-gateway";
import type { ChargeLedger } from "../../functions/core/billing-run/ports";
import { createBillingJob, createGateway, leaderDeps } from "../../functions/handler/billing-job";
import type { FunctionConfig } from "../../functions/handler/config";
import type { LeaseTimings } from "../../functions/core/lease/lease-timings";
import { localFunctionConfig } from "../../dev/function-config";
import type { TestTables } from "./dynamo";

export const TEST_API_KEY = "sk_test_lease_billing_tests";

export const FAST_LEASE: Partial<LeaseTimings> = {
  leaseDurationMs: 3_000,
  renewIntervalMs: 1_000,
  safetyMarginMs: 1_000,
};

export interface ContenderOptions {
  readonly settings?: Partial<RunSettings>;
  readonly lease?: Partial<LeaseTimings>;
  readonly clock?: Clock;
  /** The account's Stripe budget, which this contender shares with the other leaders. */
  readonly accountRequestsPerSecond?: number;
  /** Wraps the gateway, to count or hold its calls. */
  readonly wrapGateway?: (gateway: PaymentGateway) => PaymentGateway;
  /** Wraps the ledger, to fail or hold its writes. */
  readonly wrapLedger?: (ledger: ChargeLedger) => ChargeLedger;
  readonly remainingMs?: () => number;
  readonly timeoutMs?: number;
}

export function testConfig(
  tables: TestTables,
  emulatorUrl: string,
  options: ContenderOptions = {},
): FunctionConfig {
  return localFunctionConfig(tables, emulatorUrl, {
    apiKey: TEST_API_KEY,
    accountRequestsPerSecond: options.accountRequestsPerSecond ?? 1000,
    timeoutMs: options.timeoutMs ?? 2_000,
    lease: {
      leaseDurationMs: 3_000,
      renewIntervalMs: 1_000,
      safetyMarginMs: 1_000,
      ttlGraceSeconds: 3600,
      ...options.lease,
    },
    run: runSettings({ standbyPollMs: 100, stopClaimingMarginMs: 0, ...options.settings }),
  });
}

export interface ContenderRun {
  readonly owner: string;
  readonly events: RunEvent[];
  readonly report: Promise<ContenderReport>;
}

export function startContender(
  tables: TestTables,
  emulatorUrl: string,
  request: RunRequest,
  options: ContenderOptions = {},
): ContenderRun {
  const clock = options.clock ?? systemClock;
  const config = testConfig(tables, emulatorUrl, options);
  const job = createBillingJob(config, clock);
  const direct = createGateway(config, TEST_API_KEY, clock, { pacer: job.pacer });
  const gateway = options.wrapGateway ? options.wrapGateway(direct) : direct;
  const events: RunEvent[] = [];
  const owner = `contender-${randomUUID().slice(0, 8)}`;
  const plain = leaderDeps(job, gateway, (e) => events.push(e), options.remainingMs ?? (() => 600_000));
  const deps = options.wrapLedger ? { ...plain, ledger: options.wrapLedger(plain.ledger) } : plain;
  return { owner, events, report: runContender(deps, owner, request) };
}

/** Every method of `inner`, bound: spread it and override the calls a test intercepts. */
export function delegate(inner: PaymentGateway): PaymentGateway {
  return {
    createPaymentIntent: (r, g) => inner.createPaymentIntent(r, g),
    confirmPaymentIntent: (id, pm, key, g) => inner.confirmPaymentIntent(id, pm, key, g),
    cancelPaymentIntent: (id, key, g) => inner.cancelPaymentIntent(id, key, g),
    retrievePaymentIntent: (id, g) => inner.retrievePaymentIntent(id, g),
    findPaymentIntentsForPeriod: (l, g) => inner.findPaymentIntentsForPeriod(l, g),
    listJobPaymentIntents: (since, g) => inner.listJobPaymentIntents(since, g),
  };
}

/** Counts the gateway calls a contender makes. */
export function countingGateway(counter: { calls: number }) {
  return (gateway: PaymentGateway): PaymentGateway => ({
    createPaymentIntent: (r, g) => (counter.calls++, gateway.createPaymentIntent(r, g)),
    confirmPaymentIntent: (id, pm, key, g) => (counter.calls++, gateway.confirmPaymentIntent(id, pm, key, g)),
    cancelPaymentIntent: (id, key, g) => (counter.calls++, gateway.cancelPaymentIntent(id, key, g)),
    retrievePaymentIntent: (id, g) => (counter.calls++, gateway.retrievePaymentIntent(id, g)),
    findPaymentIntentsForPeriod: (l, g) => (counter.calls++, gateway.findPaymentIntentsForPeriod(l, g)),
    listJobPaymentIntents: (since, g) => (counter.calls++, gateway.listJobPaymentIntents(since, g)),
  });
}
