/**
 * Wires the billing run to its adapters from the function's configuration: DynamoDB, the Stripe gateway
 * paced at this leader's share of the account's budget, the lease client. Used by the Lambda handler, the
 * local runner and the ops CLI.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { systemClock, type Clock } from "../core/clock";
import { LeaseClient } from "../core/lease/lease-client";
import { BudgetPacer } from "../core/billing-run/budget-pacer";
import { RateLimiter } from "../core/billing-run/rate-limiter";
import type { LeaderDeps } from "../core/billing-run/shard-leader";
import type { RunObserver } from "../core/billing-run/events";
import { CapacityMeter, createDocumentClient } from "../aws/dynamo";
import { DynamoLeaseStore } from "../aws/dynamo-lease-store";
import { FencedWriter } from "../aws/fenced-writer";
import { DynamoBillingStore } from "../aws/dynamo-billing-store";
import { StripeGateway } from "../stripe/stripe-gateway";
import type { PaymentGateway } from "../core/payments/payment-gateway";
import type { FunctionConfig, StripeSettings } from "./config";

export interface BillingJob {
  readonly config: FunctionConfig;
  readonly doc: DynamoDBDocumentClient;
  readonly lease: LeaseClient;
  readonly store: DynamoBillingStore;
  readonly meter: CapacityMeter;
  readonly clock: Clock;
  /**
   * Paces the Stripe requests of this environment's invocations at its leader's share of the account's
   * budget. One per environment: a warm environment remembers the 429s it met.
   */
  readonly pacer: BudgetPacer;
}

export function createBillingJob(config: FunctionConfig, clock: Clock = systemClock): BillingJob {
  const meter = new CapacityMeter();
  const doc = createDocumentClient({ ...(config.dynamoEndpoint && { endpoint: config.dynamoEndpoint }) });
  const leaseStore = new DynamoLeaseStore(doc, config.tables.leases, meter);
  const lease = new LeaseClient(leaseStore, clock, config.lease);
  const writer = new FencedWriter(doc, config.tables.leases, clock, meter);
  const store = new DynamoBillingStore(doc, config.tables, writer, meter);
  const pacer = new BudgetPacer(clock, {
    accountRequestsPerSecond: config.stripe.accountRequestsPerSecond,
    shardCount: config.run.shardCount,
    readLeaseRows: () => leaseStore.listLeaseRows(),
  });
  return { config, doc, lease, store, meter, clock, pacer };
}

export interface GatewayOptions {
  /** Reads the key again past any cache; asked once after Stripe refuses the key (it may have been rotated). */
  readonly refreshApiKey?: () => Promise<string>;
  /**
   * The job's pacer (BillingJob.pacer): its requests then count against the account's budget with the
   * other leaders'. Without one, the gateway is alone on the account (a tool, not a leader): it keeps to
   * the whole budget.
   */
  readonly pacer?: BudgetPacer;
}

/** The Stripe gateway from the function's Stripe settings (the key is read apart: it is the caller's). */
export function createGateway(
  config: { readonly stripe: Omit<StripeSettings, "key"> },
  apiKey: string,
  clock: Clock = systemClock,
  options: GatewayOptions = {},
): StripeGateway {
  const limiter = options.pacer ?? new RateLimiter(clock, config.stripe.accountRequestsPerSecond);
  const pacer = options.pacer;
  return new StripeGateway({
    apiKey,
    clock,
    timeoutMs: config.stripe.timeoutMs,
    maxNetworkRetries: config.stripe.maxNetworkRetries,
    beforeRequest: () => limiter.take(),
    ...(pacer && { onRateLimited: () => pacer.rateLimited() }),
    ...(options.refreshApiKey && { refreshApiKey: options.refreshApiKey }),
    ...(config.stripe.host && { host: config.stripe.host }),
    ...(config.stripe.port && { port: config.stripe.port }),
    ...(config.stripe.protocol && { protocol: config.stripe.protocol }),
  });
}

export function leaderDeps(
  job: BillingJob,
  gateway: PaymentGateway,
  observe: RunObserver,
  remainingMs: () => number,
): LeaderDeps {
  return {
    lease: job.lease,
    source: job.store,
    ledger: job.store,
    gateway,
    clock: job.clock,
    settings: job.config.run,
    // The pacer follows the leases this contender takes, to count itself among the leaders.
    observe: (event) => {
      job.pacer.observe(event);
      observe(event);
    },
    remainingMs,
  };
}
