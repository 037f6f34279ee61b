/**
 * The whole billing path against a deployed function, as localstack/fire.sh and the end-to-end suite run
 * it: seed due subscriptions (customers and saved cards where the function bills, records in its tables),
 * fire several contenders at once with one scheduled event, as the schedule's EventBridge targets would,
 * then check every invariant that the end state shows, from the tables and the provider's own record.
 *
 * A LocalStack deployment keeps its tables between runs, and Stripe's test mode its PaymentIntents, so a
 * run is judged on its own subscriptions: their ids share a prefix, and the checks see nothing else.
 */
import type Stripe from "stripe";
import { z } from "zod";
import { ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { checkInvariants, scanAll, type InvariantReport, type ProviderRecord } from "../dev/invariants";
import { checkNoStrayPaymentIntents, ledgerEntry } from "../dev/chaos/attempts";
import { dueSubscriptions, seedSubscriptions } from "../dev/seed";
import { scheduledEvent as clusterScheduledEvent, type ScheduledEvent } from "../dev/cluster/cluster";
import type { TableNames } from "../functions/schema/tables";

/** A deployed function and what it bills with: the tables it writes and the provider it calls. */
export interface BillingTarget {
  readonly name: string;
  readonly doc: DynamoDBDocumentClient;
  readonly tables: TableNames;
  /** The function's SHARD_COUNT: the seeded subscriptions are spread over every shard. */
  readonly shards: number;
  /** Stripe where the function bills (the emulator, or test mode), to create customers and cards. */
  readonly stripe: Stripe;
  /** One invocation with `event`; resolves with the handler's result, rejects with its error. */
  invoke(event: ScheduledEvent, id: string): Promise<unknown>;
  /** The provider's record of PaymentIntents (for Stripe's test mode: those made since the target was set up). */
  providerRecord(): Promise<ProviderRecord>;
  close(): Promise<void>;
}

export interface PathOptions {
  readonly subscriptions: number;
  readonly contenders: number;
  /** Every seeded subscription id starts with `${prefix}_`. */
  readonly prefix: string;
  /** The scheduled event's time; the subscriptions fall due in the 20 hours before it. */
  readonly asOf: string;
}

/** The part of the handler's result the checks read (functions/handler/index.ts, ContenderReport). */
const ContenderResult = z.looseObject({
  status: z.string(),
  led: z.array(z.looseObject({ shard: z.number(), fence: z.number(), outcome: z.string() })).default([]),
});
export type ContenderResult = z.infer<typeof ContenderResult>;

export type Invocation =
  | { readonly contender: string; readonly ok: true; readonly result: ContenderResult }
  | { readonly contender: string; readonly ok: false; readonly error: string };

export interface PathReport {
  readonly options: PathOptions;
  readonly invocations: readonly Invocation[];
  /** Invariants 1, 2, 3 and 5 (dev/invariants.ts), over this run's subscriptions. */
  readonly invariants: InvariantReport;
  /** Invariant 7's "no stray PaymentIntents" (dev/chaos/attempts.ts), over this run's PaymentIntents. */
  readonly strays: readonly string[];
  /** This run's PaymentIntents at the provider. */
  readonly paymentIntents: number;
}

export type { ScheduledEvent };

/** The cluster's scheduled event (dev/cluster), for one firing of the deployed stack's schedule. */
export function scheduledEvent(asOf: string, id: string, region = "us-east-1"): ScheduledEvent {
  return { ...clusterScheduledEvent(new Date(asOf)), id, region, resources: [] };
}

/**
 * The instant of a firing started now, to the second. Not the minute the schedule would use: a scheduled
 * run is known by its firing time, and a firing that already finished is not billed again (a redelivered
 * event must not start a second run), so two runs in one minute need two times.
 */
export function firingNow(now = Date.now()): string {
  return new Date(Math.floor(now / 1000) * 1000).toISOString();
}

export async function runBillingPath(target: BillingTarget, options: PathOptions): Promise<PathReport> {
  const { subscriptions, contenders, prefix, asOf } = options;
  const seeds = dueSubscriptions(subscriptions, asOf, target.shards, prefix);
  await seedSubscriptions(target.doc, target.tables, target.stripe, seeds);

  const event = scheduledEvent(asOf, `${prefix}-event`);
  const names = Array.from({ length: contenders }, (_, i) => `c${i + 1}`);
  const settled = await Promise.allSettled(names.map((c) => target.invoke(event, `${prefix}-${c}`)));
  const invocations = settled.map((outcome, i) => invocation(names[i]!, outcome));

  const provider = providerInRun(await target.providerRecord(), prefix);
  const doc = scopedToRun(target.doc, prefix);
  const invariants = await checkInvariants(doc, target.tables, provider, asOf);
  const ledger = (await scanAll(doc, target.tables.charges)).map(ledgerEntry);
  const strays = checkNoStrayPaymentIntents(provider, ledger).violations;
  return { options, invocations, invariants, strays, paymentIntents: provider.paymentIntents.length };
}

export function invocation(contender: string, outcome: PromiseSettledResult<unknown>): Invocation {
  if (outcome.status === "rejected") {
    const reason: unknown = outcome.reason;
    return { contender, ok: false, error: reason instanceof Error ? reason.message : String(reason) };
  }
  const parsed = ContenderResult.safeParse(outcome.value);
  if (!parsed.success) {
    return { contender, ok: false, error: `unexpected result ${JSON.stringify(outcome.value)}` };
  }
  return { contender, ok: true, result: parsed.data };
}

/** Whether a scanned item is this run's: its subscription id has the prefix (lease records have none). */
export function inRun(prefix: string, item: Record<string, unknown>): boolean {
  const id = item.subscriptionId;
  return id === undefined || (typeof id === "string" && id.startsWith(`${prefix}_`));
}

/** The provider's record, narrowed to the PaymentIntents of this run's subscriptions. */
export function providerInRun(provider: ProviderRecord, prefix: string): ProviderRecord {
  return {
    paymentIntents: provider.paymentIntents.filter(
      (pi) => pi.metadata.subscription_id?.startsWith(`${prefix}_`) === true,
    ),
  };
}

/**
 * The same client, whose Scans return only this run's items: the invariant checker scans whole tables,
 * and a LocalStack deployment's tables also hold earlier runs (judged when they ran).
 */
export function scopedToRun(doc: DynamoDBDocumentClient, prefix: string): DynamoDBDocumentClient {
  const send = async (command: Parameters<DynamoDBDocumentClient["send"]>[0]): Promise<unknown> => {
    const output = (await doc.send(command)) as { Items?: Record<string, unknown>[] };
    if (!(command instanceof ScanCommand)) return output;
    return { ...output, Items: (output.Items ?? []).filter((item) => inRun(prefix, item)) };
  };
  return new Proxy(doc, { get: (client, key) => (key === "send" ? send : Reflect.get(client, key)) });
}
