/**
 * `ops status`: every lease (holder, fence, expiry, last run, checkpoint) and how much of the book needs
 * attention. Counts come from the two sparse indexes (subscriptions `due`, charges `attention`) with
 * Select COUNT; the charge table is never scanned. The lease table is scanned: it holds two small items
 * per shard, and a scan is the only way to see keys nobody expected (a shard count that was lowered).
 * The backlog (what is due, how long the oldest has waited, and how long the book takes to drain at the
 * account's Stripe budget) comes from the `due` index too: its first entry per shard is the oldest.
 */
import { QueryCommand, ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { ChargeRecord } from "../../functions/core/billing/charge-state";
import type { LeaseSnapshot } from "../../functions/core/lease/lease";
import { shardLeaseKey } from "../../functions/core/lease/lease";
import { dueShardKey } from "../../functions/aws/dynamo-billing-store";
import { CHARGE_TABLE, LEASE_RECORD, SUBSCRIPTION_TABLE } from "../../functions/schema/tables";
import { stringFlag, UsageError, wholeNumber } from "../args";
import { recordsInState } from "../attention";
import type { Context } from "../context";
import { counts as countText, duration, money, relative, table, when } from "../format";
import { drainSeconds, REQUESTS_PER_CHARGE } from "../../functions/core/billing-run/backlog";
import { InvalidInputError } from "../../functions/core/input-error";

const DUE_INDEX = SUBSCRIPTION_TABLE.indexes[0].indexName;
const ATTENTION_INDEX = CHARGE_TABLE.indexes[0].indexName;

export type LeaseState = "held" | "expired" | "free" | "never acquired";

export interface LeaseStatus {
  readonly leaseKey: string;
  readonly state: LeaseState;
  readonly holder: string | null;
  readonly fence: number;
  /** The highest fence ever issued for the key (the fence record). */
  readonly highestFence: number;
  readonly expiresAt: number | null;
  readonly acquiredAt: number | null;
  readonly lastOwner: string | null;
  readonly forcedBy: string | null;
  readonly forcedAt: number | null;
  readonly lastRun: {
    readonly runId: string;
    readonly asOf: string;
    readonly outcome: string;
    readonly finishedAt: number;
    readonly summary?: Record<string, number>;
  } | null;
  readonly checkpoint: {
    readonly runId: string;
    readonly asOf: string;
    readonly savedAt: number;
    readonly progress: Record<string, number>;
  } | null;
}

export interface StatusCounts {
  readonly dueNow: number;
  readonly dueByShard: Record<string, number>;
  readonly pending: number;
  readonly inDoubt: number;
  readonly declinedAwaitingRetry: number;
  readonly declinedFinal: number;
  readonly needsCustomerAction: number;
  readonly quarantined: number;
}

/** What is due now, how long the oldest has waited, and how long the book takes to drain at the budget. */
export interface BacklogStatus {
  readonly due: number;
  /** The oldest due renewal's nextAttemptAt, or null when nothing is due. */
  readonly oldestDueAt: string | null;
  readonly oldestAgeSeconds: number;
  /** The account's Stripe budget the function runs with (STRIPE_ACCOUNT_REQUESTS_PER_SECOND), if known. */
  readonly budgetRequestsPerSecond: number | null;
  readonly requestsPerCharge: number;
  /** due × requestsPerCharge ÷ budget: the least time the leaders need, together, to bill it all. */
  readonly drainSeconds: number | null;
  /** Why the budget is unknown (the function's settings were refused), or null. */
  readonly budgetProblem: string | null;
}

export interface StatusReport {
  readonly at: string;
  readonly shardCount: number;
  readonly leases: readonly LeaseStatus[];
  readonly counts: StatusCounts;
  readonly backlog: BacklogStatus;
}

/** The states the attention index holds, as `--list` takes them. */
export const ATTENTION_STATES = [
  "pending",
  "in_doubt",
  "declined",
  "needs_customer_action",
  "quarantined",
] as const;

export async function status(ctx: Context): Promise<number> {
  const list = stringFlag(ctx.flags, "list");
  if (list !== undefined) return listAttention(ctx, list);
  if (ctx.flags.limit !== undefined) throw new UsageError("--limit goes with --list STATE");
  const report = await collectStatus(ctx);
  if (ctx.json) {
    ctx.io.stdout(JSON.stringify(report, null, 2));
    return 0;
  }
  const now = Date.parse(report.at);
  const leaseRows = report.leases.map((l) => [
    l.leaseKey,
    l.state,
    l.holder,
    l.fence,
    l.state === "held" || l.state === "expired" ? when(l.expiresAt, now) : null,
    l.lastRun ? `${l.lastRun.outcome} ${l.lastRun.runId} (${relative(l.lastRun.finishedAt, now)})` : null,
    l.lastRun ? countText(l.lastRun.summary) : null,
    l.checkpoint
      ? `${l.checkpoint.runId} saved ${relative(l.checkpoint.savedAt, now)}: ${countText(l.checkpoint.progress)}`
      : null,
  ]);
  const c = report.counts;
  const countRows: (string | number)[][] = [
    ["due now", c.dueNow, "subscriptions due index, nextAttemptAt <= now"],
    ["pending", c.pending, "claimed, not settled (a run is on it, or one stopped mid-charge)"],
    ["in doubt", c.inDoubt, "Stripe outcome unknown: ops resolve-in-doubt"],
    ["declined, retry scheduled", c.declinedAwaitingRetry, "retried at retryAt by a scheduled run"],
    ["declined, no retries left", c.declinedFinal, "subscription past_due"],
    ["needs customer action", c.needsCustomerAction, "3-D Secure: the customer must pay on-session"],
    ["quarantined", c.quarantined, "bad data or refused by Stripe: a person must look"],
  ];
  const notes: string[] = [];
  for (const l of report.leases) {
    if (l.state === "expired") {
      notes.push(
        `${l.leaseKey}: held by ${l.holder} but expired ${relative(l.expiresAt ?? 0, now)}; the next run takes it over. ` +
          `If a run is stuck, see docs/runbook.md "Stuck lease".`,
      );
    }
    if (l.highestFence > l.fence) {
      notes.push(
        `${l.leaseKey}: fence record ${l.highestFence} is above the lease's ${l.fence} (record deleted?)`,
      );
    }
    if (l.forcedBy)
      notes.push(`${l.leaseKey}: last forced release by ${l.forcedBy} ${relative(l.forcedAt ?? 0, now)}`);
  }
  ctx.io.stdout(
    [
      `Status at ${report.at} (${report.shardCount} shard${report.shardCount === 1 ? "" : "s"})`,
      "",
      "Leases",
      table(
        ["lease", "state", "holder", "fence", "expires", "last run", "last run counts", "checkpoint"],
        leaseRows,
      ),
      ...(notes.length > 0 ? ["", ...notes] : []),
      "",
      "Charges and subscriptions",
      table(["what", "count", "meaning"], countRows),
      ...(report.shardCount > 1
        ? [
            "",
            `due now by shard: ${Object.entries(c.dueByShard)
              .map(([s, n]) => `${s}=${n}`)
              .join(" ")}`,
          ]
        : []),
      "",
      "Backlog",
      ...backlogLines(report.backlog, now),
    ].join("\n"),
  );
  return 0;
}

function backlogLines(b: BacklogStatus, now: number): string[] {
  const oldest =
    b.oldestDueAt === null
      ? "nothing is due"
      : `the oldest due renewal has waited ${duration(b.oldestAgeSeconds * 1000)} (due ${when(Date.parse(b.oldestDueAt), now)})`;
  const drain =
    b.drainSeconds === null || b.budgetRequestsPerSecond === null
      ? `time to drain: unknown, the budget could not be read (${b.budgetProblem ?? "no settings"})`
      : `time to drain at the budget: ${duration(b.drainSeconds * 1000)} (${b.due} renewals × ` +
        `${b.requestsPerCharge} requests ÷ ${b.budgetRequestsPerSecond} requests/s, the least it can take)`;
  return [`${b.due} renewals due; ${oldest}`, drain];
}

/** `status --list STATE`: the records of one attention state, oldest claim first (cli/attention.ts). */
async function listAttention(ctx: Context, raw: string): Promise<number> {
  const state = raw.replaceAll("-", "_");
  if (!(ATTENTION_STATES as readonly string[]).includes(state)) {
    throw new UsageError(`--list must be one of ${ATTENTION_STATES.join(", ")}, got "${raw}"`);
  }
  const limit = wholeNumber("--limit", stringFlag(ctx.flags, "limit"), 1) ?? 50;
  const [doc, tables] = await Promise.all([ctx.doc(), ctx.tables()]);
  const { records: items, more } = await recordsInState(doc, tables, state as ChargeRecord["state"], limit);
  if (ctx.json) {
    ctx.io.stdout(JSON.stringify({ state, items, more }, null, 2));
    return 0;
  }
  if (items.length === 0) {
    ctx.io.stdout(`No charge records are ${state}.`);
    return 0;
  }
  ctx.io.stdout(
    [
      `${state} charge records, oldest claim first${more ? ` (the first ${items.length}; there may be more: raise --limit)` : ""}:`,
      table(
        ["subscription", "period start", "updated", "payment intent", "amount", "fence", "detail"],
        items.map((r) => [
          r.subscriptionId,
          r.periodStart,
          r.updatedAt,
          r.paymentIntentId,
          money(r.amount, r.currency),
          r.fence,
          detailOf(r),
        ]),
      ),
    ].join("\n"),
  );
  return 0;
}

function detailOf(r: ChargeRecord): string {
  switch (r.state) {
    case "in_doubt":
      return `since ${r.since}: ${r.reason}`;
    case "quarantined":
      return `${r.field}: ${r.reason}`;
    case "declined":
      return `${r.declineCode ?? r.code}, attempt ${r.attempt}, ${r.retryAt ? `retry at ${r.retryAt}` : "no retries left"}`;
    case "needs_customer_action":
      return r.code;
    case "pending":
      return `attempt ${r.attempts}, confirm ${r.confirmAttempt}`;
    case "succeeded":
      return `settled ${r.settledAt}`;
  }
}

export async function collectStatus(ctx: Context): Promise<StatusReport> {
  const [doc, tables, lease] = await Promise.all([ctx.doc(), ctx.tables(), ctx.leaseClient()]);
  const now = ctx.now();
  const scanned = await scanLeaseTable(doc, tables.leases);
  const shardCount = Math.max(await ctx.shardCount(), ...shardsIn(scanned.keys()).map((s) => s + 1));
  const keys = new Set<string>(Array.from({ length: shardCount }, (_, i) => shardLeaseKey(i)));
  for (const key of scanned.keys()) keys.add(key);

  const leases: LeaseStatus[] = [];
  for (const key of [...keys].sort(byShard)) {
    // The consistent read the protocol itself uses; the scan only adds the audit fields.
    const snapshot = await lease.inspect(key);
    leases.push(leaseStatus(key, snapshot, scanned.get(key) ?? {}, now));
  }

  const at = new Date(now).toISOString();
  const dueByShard: Record<string, number> = {};
  for (let shard = 0; shard < shardCount; shard++) {
    dueByShard[String(shard)] = await countQuery(doc, {
      TableName: tables.subscriptions,
      IndexName: DUE_INDEX,
      KeyConditionExpression: "dueShard = :shard AND nextAttemptAt <= :now",
      ExpressionAttributeValues: { ":shard": dueShardKey(shard), ":now": at },
    });
  }
  const attention = (state: string, filter?: string) =>
    countQuery(doc, {
      TableName: tables.charges,
      IndexName: ATTENTION_INDEX,
      KeyConditionExpression: "attention = :state",
      ExpressionAttributeValues: { ":state": state, ...(filter && { ":s": "S" }) },
      ...(filter && { FilterExpression: filter, ExpressionAttributeNames: { "#retryAt": "retryAt" } }),
    });
  const dueNow = Object.values(dueByShard).reduce((a, b) => a + b, 0);
  const [pending, inDoubt, declinedAwaitingRetry, declinedFinal, needsCustomerAction, quarantined, backlog] =
    await Promise.all([
      attention("pending"),
      attention("in_doubt"),
      attention("declined", "attribute_type(#retryAt, :s)"),
      attention("declined", "NOT attribute_type(#retryAt, :s)"),
      attention("needs_customer_action"),
      attention("quarantined"),
      backlogStatus(ctx, shardCount, dueNow, now),
    ]);
  return {
    at,
    shardCount,
    leases,
    backlog,
    counts: {
      dueNow,
      dueByShard,
      pending,
      inDoubt,
      declinedAwaitingRetry,
      declinedFinal,
      needsCustomerAction,
      quarantined,
    },
  };
}

async function backlogStatus(
  ctx: Context,
  shardCount: number,
  due: number,
  now: number,
): Promise<BacklogStatus> {
  const store = await ctx.billingStore();
  const at = new Date(now).toISOString();
  const oldest = (
    await Promise.all(Array.from({ length: shardCount }, (_, shard) => store.oldestDue(shard, at)))
  ).reduce<string | null>((a, b) => (b !== null && (a === null || b < a) ? b : a), null);
  let budget: number | null = null;
  let budgetProblem: string | null = null;
  try {
    budget = (await ctx.functionSettings()).stripe.accountRequestsPerSecond;
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    budgetProblem = error.message;
  }
  return {
    due,
    oldestDueAt: oldest,
    oldestAgeSeconds: oldest === null ? 0 : Math.max(0, Math.round((now - Date.parse(oldest)) / 1000)),
    budgetRequestsPerSecond: budget,
    requestsPerCharge: REQUESTS_PER_CHARGE,
    drainSeconds: budget === null ? null : drainSeconds(due, budget),
    budgetProblem,
  };
}

function leaseStatus(
  leaseKey: string,
  snapshot: LeaseSnapshot,
  raw: Record<string, unknown>,
  now: number,
): LeaseStatus {
  const record = snapshot.lease;
  const state: LeaseState =
    record === null
      ? snapshot.fenceRecord === 0
        ? "never acquired"
        : "free"
      : record.owner === null
        ? "free"
        : record.expiresAt > now
          ? "held"
          : "expired";
  const num = (v: unknown) => (typeof v === "number" ? v : null);
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  return {
    leaseKey,
    state,
    holder: record?.owner ?? null,
    fence: record?.fence ?? snapshot.fenceRecord,
    highestFence: snapshot.fenceRecord,
    expiresAt: record && record.owner !== null ? record.expiresAt : null,
    acquiredAt: num(raw.acquiredAt),
    lastOwner: str(raw.lastOwner),
    forcedBy: str(raw.forcedBy),
    forcedAt: num(raw.forcedAt),
    lastRun: record?.lastRun
      ? {
          runId: record.lastRun.runId,
          asOf: record.lastRun.asOf,
          outcome: record.lastRun.outcome,
          finishedAt: record.lastRun.finishedAt,
          ...(record.lastRun.summary && { summary: record.lastRun.summary }),
        }
      : null,
    checkpoint: record?.checkpoint
      ? {
          runId: record.checkpoint.runId,
          asOf: record.checkpoint.asOf,
          savedAt: record.checkpoint.savedAt,
          progress: record.checkpoint.progress,
        }
      : null,
  };
}

/** The lease records by key (the lease record's attributes; the fence record is read by inspect). */
async function scanLeaseTable(
  doc: DynamoDBDocumentClient,
  tableName: string,
): Promise<Map<string, Record<string, unknown>>> {
  const byKey = new Map<string, Record<string, unknown>>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) {
      const key = String(item.leaseKey);
      if (!byKey.has(key)) byKey.set(key, {});
      if (item.record === LEASE_RECORD.lease) byKey.set(key, item);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return byKey;
}

function shardsIn(keys: Iterable<string>): number[] {
  const shards: number[] = [];
  for (const key of keys) {
    const match = /^billing\/shard-(\d+)$/.exec(key);
    if (match) shards.push(Number(match[1]));
  }
  return shards;
}

function byShard(a: string, b: string): number {
  const [sa] = shardsIn([a]);
  const [sb] = shardsIn([b]);
  if (sa !== undefined && sb !== undefined) return sa - sb;
  return a.localeCompare(b);
}

async function countQuery(
  doc: DynamoDBDocumentClient,
  input: ConstructorParameters<typeof QueryCommand>[0],
): Promise<number> {
  let total = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new QueryCommand({ ...input, Select: "COUNT", ExclusiveStartKey: start }));
    total += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return total;
}
