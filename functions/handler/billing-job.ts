/**
 * Wires the billing run to its adapters from the function's configuration: DynamoDB, the Stripe gateway
 * under a rate limiter, the lease client. Used by the Lambda handler, the local runner and the ops CLI.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { systemClock, type Clock } from "../core/clock";
import { LeaseClient } from "../core/lease/lease-client";
import { RateLimiter } from "../core/billing-run/rate-limiter";
import type { LeaderDeps } from "../core/billing-run/shard-leader";
import type { RunObserver } from "../core/billing-run/events";
import { CapacityMeter, createDocumentClient } from "../aws/dynamo";
import { DynamoLeaseStore } from "../aws/dynamo-lease-store";
import { FencedWriter } from "../aws/fenced-writer";
import { DynamoBillingStore } from "../aws/dynamo-billing-store";
import { StripeGateway } from "../stripe/stripe-gateway";
import type { PaymentGateway } from "../core/payments/payment-gateway";
import type { FunctionConfig } from "./config";

export interface BillingJob {
  readonly config: FunctionConfig;
  readonly doc: DynamoDBDocumentClient;
  readonly lease: LeaseClient;
  readonly store: DynamoBillingStore;
  readonly meter: CapacityMeter;
  readonly clock: Clock;
}

export function createBillingJob(config: FunctionConfig, clock: Clock = systemClock): BillingJob {
  const meter = new CapacityMeter();
  const doc = createDocumentClient({ ...(config.dynamoEndpoint && { endpoint: config.dynamoEndpoint }) });
  const lease = new LeaseClient(new DynamoLeaseStore(doc, config.tables.leases, meter), clock, config.lease);
  const writer = new FencedWriter(doc, config.tables.leases, clock, meter);
  const store = new DynamoBillingStore(doc, config.tables, writer, meter);
  return { config, doc, lease, store, meter, clock };
}

export interface GatewayOptions {
  /** Reads the key again past any cache; asked once after Stripe refuses the key (it may have been rotated). */
  readonly refreshApiKey?: () => Promise<string>;
}

export function createGateway(
  config: FunctionConfig,
  apiKey: string,
  clock: Clock = systemClock,
  options: GatewayOptions = {},
): StripeGateway {
  const limiter = new RateLimiter(clock, config.stripe.maxRequestsPerSecond);
  return new StripeGateway({
    apiKey,
    clock,
    timeoutMs: config.stripe.timeoutMs,
    maxNetworkRetries: config.stripe.maxNetworkRetries,
    beforeRequest: () => limiter.take(),
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
    observe,
    remainingMs,
  };
}
