/**
 * `npm run local-stack -- bill`: what the schedule would do against a running local stack. It fires
 * rounds of contender processes (each the real Lambda handler, as EventBridge's targets would start it)
 * until nothing is due any more (catch-up bills at most 12 periods of a subscription a run), then checks
 * every invariant (dev/invariants.ts) from the tables and the emulator's record.
 */
import { createDocumentClient } from "../../functions/aws/dynamo";
import { DynamoBillingStore } from "../../functions/aws/dynamo-billing-store";
import { FencedWriter } from "../../functions/aws/fenced-writer";
import { systemClock } from "../../functions/core/clock";
import { tableNamesFromEnv } from "../../functions/schema/tables";
import { scheduledEvent } from "../cluster/cluster";
import { spawnContender, type FunctionEnvironment } from "../cluster/contenders";
import { LOCAL_STRIPE_KEY } from "../cluster/infrastructure";
import { checkInvariants, fetchProviderRecord, type InvariantReport } from "../invariants";
import { leaseSettings } from "../local-run/run";

export interface BillOptions {
  readonly dynamoEndpoint: string;
  readonly stripeUrl: string;
  readonly contenders: number;
  readonly shards: number;
  readonly maxRounds: number;
}

export interface BillResult {
  readonly rounds: number;
  readonly dueLeft: number;
  readonly invariants: InvariantReport;
  readonly failedContenders: readonly string[];
}

export async function bill(options: BillOptions, log: (line: string) => void): Promise<BillResult> {
  const tables = tableNamesFromEnv({});
  const doc = createDocumentClient({ endpoint: options.dynamoEndpoint });
  const store = new DynamoBillingStore(doc, tables, new FencedWriter(doc, tables.leases, systemClock));
  const lease = leaseSettings(5_000);
  const env: FunctionEnvironment = {
    dynamoEndpoint: options.dynamoEndpoint,
    tables,
    stripeUrl: options.stripeUrl,
    stripeKey: LOCAL_STRIPE_KEY,
    shardCount: options.shards,
    lease,
    // The function refuses a Stripe timeout longer than the lease's safety margin (README, Configuration).
    stripeTimeoutMs: lease.marginMs,
    standbyPollMs: 500,
  };
  const failedContenders: string[] = [];
  let asOf = new Date().toISOString();
  let dueLeft = await countDue(store, options.shards, asOf);
  let rounds = 0;
  try {
    while (dueLeft > 0 && rounds < options.maxRounds) {
      rounds += 1;
      const event = scheduledEvent(new Date());
      asOf = new Date(event.time).toISOString();
      const processes = Array.from({ length: options.contenders }, (_, i) =>
        spawnContender(env, { label: `r${rounds}.c${i + 1}`, round: rounds, event, budgetMs: 60_000 }),
      );
      const exits = await Promise.all(processes.map((p) => p.exited));
      processes.forEach((p, i) => {
        const exit = exits[i]!;
        const why = p.error ?? p.textTail.at(-1) ?? "";
        if (exit.code !== 0) failedContenders.push(`${p.label} (exit ${exit.code ?? exit.signal}): ${why}`);
      });
      const led = processes.flatMap((p) =>
        (p.finished?.led ?? []).map(
          (l) => `${p.label} led shard ${l.shard} with fence ${l.fence} (${l.outcome})`,
        ),
      );
      const charged = processes.map((p) => p.finished?.counts ?? {}).reduce(sum, {});
      dueLeft = await countDue(store, options.shards, asOf);
      const summary = `${led.join("; ") || "nobody led"}; ${describe(charged)}; due left: ${dueLeft}`;
      log(`round ${rounds} as of ${asOf}: ${summary}`);
      // Every contender of the round broke: another round would break the same way.
      if (exits.every((exit) => exit.code !== 0)) break;
    }
    const invariants = await checkInvariants(doc, tables, await fetchProviderRecord(options.stripeUrl), asOf);
    return { rounds, dueLeft, invariants, failedContenders };
  } finally {
    doc.destroy();
  }
}

async function countDue(store: DynamoBillingStore, shards: number, asOf: string): Promise<number> {
  let total = 0;
  for (let shard = 0; shard < shards; shard++) {
    let cursor: string | null = null;
    do {
      const page = await store.queryDue(shard, asOf, 1000, cursor);
      total += page.items.length;
      cursor = page.cursor;
    } while (cursor !== null);
  }
  return total;
}

function sum(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function describe(counts: Record<string, number>): string {
  const parts = Object.entries(counts).filter(([, v]) => v !== 0);
  return parts.length === 0 ? "nothing charged" : parts.map(([k, v]) => `${k}=${v}`).join(" ");
}
