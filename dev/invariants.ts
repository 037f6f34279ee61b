/**
 * The invariant checker: reads the tables and the Stripe emulator's record and reports every violation
 * of the invariants in docs/design.md#invariants. Used by the tests, the local runner and the chaos
 * suite, so "it passed" always means the same thing.
 */
import { QueryCommand, ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { dueShardKey } from "../functions/aws/dynamo-billing-store";
import type { TableNames } from "../functions/schema/tables";
import { LEASE_RECORD } from "../functions/schema/tables";

/** The part of the emulator's admin snapshot the checker reads. */
export interface ProviderRecord {
  readonly paymentIntents: readonly {
    readonly id: string;
    readonly status: string;
    readonly amount: number;
    readonly currency: string;
    readonly metadata: Record<string, string>;
  }[];
}

export interface InvariantReport {
  readonly ok: boolean;
  readonly violations: readonly string[];
  readonly counts: {
    readonly subscriptions: number;
    readonly chargeRecords: number;
    readonly succeededRecords: number;
    readonly providerSucceeded: number;
    readonly byState: Record<string, number>;
  };
}

export async function scanAll(
  doc: DynamoDBDocumentClient,
  table: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/**
 * Subscriptions still due at `asOf` (what the due index holds), counted over every shard to the last
 * page. The local runner and the chaos suite both watch it fall; one copy so they count alike.
 */
export async function dueLeft(
  doc: DynamoDBDocumentClient,
  tables: TableNames,
  shards: number,
  asOf: string,
): Promise<number> {
  let total = 0;
  for (let shard = 0; shard < shards; shard++) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: tables.subscriptions,
          IndexName: "due",
          KeyConditionExpression: "dueShard = :shard AND nextAttemptAt <= :asOf",
          ExpressionAttributeValues: { ":shard": dueShardKey(shard), ":asOf": asOf },
          Select: "COUNT",
          ExclusiveStartKey: start,
        }),
      );
      total += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
  }
  return total;
}

export async function fetchProviderRecord(emulatorUrl: string): Promise<ProviderRecord> {
  const response = await fetch(new URL("/__emulator/state", emulatorUrl));
  if (!response.ok) throw new Error(`emulator state: HTTP ${response.status}`);
  return (await response.json()) as ProviderRecord;
}

/**
 * Checks, after the runs that should have finished the work at `asOf`:
 *  1. at most one succeeded PaymentIntent per subscription and period;
 *  2. nothing due at `asOf` is left silently: every subscription is past `asOf` or in a recorded state;
 *  3. fences: no record carries a fence above the key's fence record (fences never went backwards);
 *  5. the ledger and the provider agree one to one on succeeded charges, with equal amounts.
 */
export async function checkInvariants(
  doc: DynamoDBDocumentClient,
  tables: TableNames,
  provider: ProviderRecord,
  asOf: string,
): Promise<InvariantReport> {
  const violations: string[] = [];
  const [subscriptions, charges, leases] = await Promise.all([
    scanAll(doc, tables.subscriptions),
    scanAll(doc, tables.charges),
    scanAll(doc, tables.leases),
  ]);

  // 1. One success per period at the provider.
  const succeeded = provider.paymentIntents.filter((pi) => pi.status === "succeeded");
  const byPeriod = new Map<string, string[]>();
  for (const pi of succeeded) {
    const key = `${pi.metadata.subscription_id}@${pi.metadata.period_start}`;
    byPeriod.set(key, [...(byPeriod.get(key) ?? []), pi.id]);
  }
  for (const [period, ids] of byPeriod) {
    if (ids.length > 1)
      violations.push(`invariant 1: ${period} charged ${ids.length} times (${ids.join(", ")})`);
  }

  // 2. Nothing due left unaccounted.
  const ledger = new Map(charges.map((c) => [`${c.subscriptionId}@${c.periodStart}`, c]));
  const recordedFailure = new Set(["declined", "needs_customer_action", "quarantined"]);
  for (const sub of subscriptions) {
    const dueAt = typeof sub.nextAttemptAt === "string" ? sub.nextAttemptAt : "";
    if (sub.status !== "active" || dueAt > asOf) {
      // Paused and canceled are the merchant's own decisions (the client writes them), not failures.
      if (sub.status !== "active" && sub.status !== "canceled" && sub.status !== "paused") {
        const record = [...ledger.values()].find(
          (c) => c.subscriptionId === sub.subscriptionId && recordedFailure.has(String(c.state)),
        );
        // A record too broken for a charge record (an unreadable period or ledger) says why on itself.
        const quarantinedWithReason =
          sub.status === "quarantined" && typeof sub.statusReason === "string" && sub.statusReason !== "";
        if (!record && !quarantinedWithReason)
          violations.push(
            `invariant 2: ${String(sub.subscriptionId)} is ${String(sub.status)} with no failure recorded`,
          );
      }
      continue;
    }
    const record = ledger.get(`${String(sub.subscriptionId)}@${String(sub.nextPeriodStart)}`);
    violations.push(
      `invariant 2: ${String(sub.subscriptionId)} still due (${dueAt}), charge record: ${record ? String(record.state) : "none"}`,
    );
  }

  // 3. Fences never exceed what the fence record issued.
  const highest = new Map<string, number>();
  for (const lease of leases) {
    if (lease.record === LEASE_RECORD.fence) highest.set(String(lease.leaseKey), Number(lease.fence));
  }
  const maxIssued = Math.max(0, ...highest.values());
  for (const c of charges) {
    if (typeof c.fence === "number" && c.fence > maxIssued) {
      violations.push(
        `invariant 3: charge ${String(c.subscriptionId)}@${String(c.periodStart)} has fence ${c.fence} > ${maxIssued}`,
      );
    }
  }

  // 5. Ledger ⇄ provider, one to one.
  const providerById = new Map(succeeded.map((pi) => [pi.id, pi]));
  const succeededRecords = charges.filter((c) => c.state === "succeeded");
  const seen = new Set<string>();
  for (const c of succeededRecords) {
    const id = String(c.paymentIntentId);
    const pi = providerById.get(id);
    if (!pi)
      violations.push(
        `invariant 5: ledger ${String(c.subscriptionId)}@${String(c.periodStart)} succeeded with ${id}, which did not succeed at the provider`,
      );
    else if (pi.amount !== c.amount || pi.currency !== c.currency)
      violations.push(
        `invariant 5: ${id} amount ${pi.amount} ${pi.currency} ≠ ledger ${String(c.amount)} ${String(c.currency)}`,
      );
    if (seen.has(id)) violations.push(`invariant 5: ${id} recorded twice in the ledger`);
    seen.add(id);
  }
  for (const pi of succeeded) {
    if (!seen.has(pi.id))
      violations.push(
        `invariant 5: provider charge ${pi.id} (${pi.metadata.subscription_id}@${pi.metadata.period_start}) has no succeeded ledger record`,
      );
  }

  const byState: Record<string, number> = {};
  for (const c of charges) byState[String(c.state)] = (byState[String(c.state)] ?? 0) + 1;
  return {
    ok: violations.length === 0,
    violations,
    counts: {
      subscriptions: subscriptions.length,
      chargeRecords: charges.length,
      succeededRecords: succeededRecords.length,
      providerSucceeded: succeeded.length,
      byState,
    },
  };
}
