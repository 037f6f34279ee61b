/**
 * Seeding: customers and saved cards in the Stripe emulator (through the SDK, as a real integration would
 * create them), and subscriptions in DynamoDB. Shared by the local runner, the tests, the benchmark and
 * the chaos suite.
 */
import Stripe from "stripe";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { TableNames } from "../functions/schema/tables";
import { dueShardKey } from "../functions/aws/dynamo-billing-store";
import { putItems } from "./batch-write";

/** Stripe's test payment methods, by how they behave when charged off-session. */
export const TEST_CARDS = {
  succeeds: "pm_card_visa",
  succeedsMastercard: "pm_card_mastercard",
  declines: "pm_card_chargeCustomerFail",
  needsAuthentication: "pm_card_authenticationRequired",
  insufficientFunds: "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds",
} as const;
export type TestCard = keyof typeof TEST_CARDS;

export interface SubscriptionSeed {
  readonly subscriptionId: string;
  readonly shard: number;
  readonly card: TestCard;
  readonly amount: number;
  readonly currency: string;
  readonly interval: "month" | "year";
  readonly anchorDay: number;
  readonly anchorMonth?: number;
  readonly nextPeriodStart: string;
}

/** A record that fails validation, written as-is: the run must quarantine it and go on. */
export interface InvalidSeed {
  readonly subscriptionId: string;
  readonly shard: number;
  readonly item: Record<string, unknown>;
}

export function stripeClient(apiKey: string, emulatorUrl?: string): Stripe {
  const url = emulatorUrl ? new URL(emulatorUrl) : undefined;
  return new Stripe(apiKey, {
    maxNetworkRetries: 2,
    telemetry: false,
    ...(url && {
      host: url.hostname,
      port: Number(url.port),
      protocol: url.protocol.replace(":", "") as "http" | "https",
    }),
  });
}

/** Creates a customer with the card saved (attached), as a checkout would have left it. */
async function customerWithCard(
  stripe: Stripe,
  seed: SubscriptionSeed,
): Promise<{ customerId: string; paymentMethodId: string }> {
  const customer = await stripe.customers.create(
    { description: `seed ${seed.subscriptionId}`, metadata: { subscription_id: seed.subscriptionId } },
    { idempotencyKey: `seed-customer-${seed.subscriptionId}` },
  );
  const pm = await stripe.paymentMethods.attach(
    TEST_CARDS[seed.card],
    { customer: customer.id },
    { idempotencyKey: `seed-attach-${seed.subscriptionId}` },
  );
  return { customerId: customer.id, paymentMethodId: pm.id };
}

export async function seedSubscriptions(
  doc: DynamoDBDocumentClient,
  tables: TableNames,
  stripe: Stripe,
  seeds: readonly SubscriptionSeed[],
  invalid: readonly InvalidSeed[] = [],
  concurrency = 16,
): Promise<void> {
  const now = new Date().toISOString();
  const items: Record<string, unknown>[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, seeds.length) }, async () => {
      while (next < seeds.length) {
        const seed = seeds[next++]!;
        const { customerId, paymentMethodId } = await customerWithCard(stripe, seed);
        items.push({
          subscriptionId: seed.subscriptionId,
          shard: seed.shard,
          dueShard: dueShardKey(seed.shard),
          customerId,
          paymentMethodId,
          amount: seed.amount,
          currency: seed.currency,
          interval: seed.interval,
          anchorDay: seed.anchorDay,
          ...(seed.anchorMonth !== undefined && { anchorMonth: seed.anchorMonth }),
          status: "active",
          nextPeriodStart: seed.nextPeriodStart,
          nextAttemptAt: seed.nextPeriodStart,
          createdAt: now,
          updatedAt: now,
        });
      }
    }),
  );
  for (const bad of invalid) {
    items.push({
      status: "active",
      dueShard: dueShardKey(bad.shard),
      shard: bad.shard,
      ...bad.item,
      subscriptionId: bad.subscriptionId,
    });
  }
  await putItems(doc, tables.subscriptions, items);
}

/** One monthly subscription whose period began at `start` (so it is due from then), anchored on that day. */
export function monthlySeed(
  subscriptionId: string,
  start: Date,
  options: Partial<Pick<SubscriptionSeed, "card" | "amount" | "currency" | "shard">> = {},
): SubscriptionSeed {
  return {
    subscriptionId,
    shard: options.shard ?? 0,
    card: options.card ?? "succeeds",
    amount: options.amount ?? 1999,
    currency: options.currency ?? "usd",
    interval: "month",
    anchorDay: start.getUTCDate(),
    nextPeriodStart: start.toISOString(),
  };
}

/**
 * A monthly subscription item as it is stored, its period begun at `start`, with `fields` over it: the
 * `item` of an InvalidSeed, written as-is (a field spoiled, a customer that does not exist).
 */
export function storedMonthly(start: Date, fields: Record<string, unknown> = {}): Record<string, unknown> {
  const at = start.toISOString();
  return {
    customerId: "cus_none",
    paymentMethodId: "pm_card_visa",
    amount: 1000,
    currency: "usd",
    interval: "month",
    anchorDay: start.getUTCDate(),
    nextPeriodStart: at,
    nextAttemptAt: at,
    createdAt: at,
    updatedAt: at,
    ...fields,
  };
}

/** `count` subscriptions due at or before `asOf`, spread over `shards`, all with cards that succeed. */
export function dueSubscriptions(
  count: number,
  asOf: string,
  shards = 1,
  prefix = "sub",
): SubscriptionSeed[] {
  const asOfMs = Date.parse(asOf);
  return Array.from({ length: count }, (_, i) => {
    const start = new Date(asOfMs - (1 + (i % 20)) * 3_600_000);
    return {
      subscriptionId: `${prefix}_${String(i).padStart(5, "0")}`,
      shard: i % shards,
      card: "succeeds",
      amount: 500 + (i % 50) * 100,
      currency: "usd",
      interval: "month",
      anchorDay: start.getUTCDate(),
      nextPeriodStart: start.toISOString(),
    };
  });
}
