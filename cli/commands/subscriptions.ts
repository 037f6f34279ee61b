/**
 * `ops subscriptions import FILE | get ID | cancel ID`: the subscription book, through the same client a
 * merchant's own code uses (functions/client), so the CLI writes nothing the client would not.
 * docs/subscriptions.md describes the record; docs/runbook.md the procedures.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { classify } from "../../functions/core/billing-run/due";
import { formatMoney } from "../../functions/core/billing/money";
import type { StoredSubscription } from "../../functions/core/billing/subscription-changes";
import { SubscriptionsClient, type ChangeResult } from "../../functions/client/subscriptions-client";
import { booleanFlag, stringFlag, UsageError, wholeNumber } from "../args";
import type { Context } from "../context";
import { importSubscriptions, type ImportCounts, type ImportEvent } from "../subscriptions/import";
import { formatOf, readRows, type ImportFormat } from "../subscriptions/read-rows";

/** A progress line on stderr every this many rows. */
export const PROGRESS_EVERY_ROWS = 10_000;
const DEFAULT_CONCURRENCY = 8;

export async function subscriptions(ctx: Context, positionals: readonly string[]): Promise<number> {
  const [action, argument, extra] = positionals;
  if (extra !== undefined) throw new UsageError(`subscriptions ${action} takes one argument, got more`);
  if (action === "import" || action === "get" || action === "cancel") {
    if (argument === undefined) {
      throw new UsageError(
        `subscriptions ${action} needs ${action === "import" ? "a FILE" : "a subscription ID"}`,
      );
    }
  }
  if (action !== "import" && (ctx.flags.format !== undefined || ctx.flags.concurrency !== undefined)) {
    throw new UsageError("--format and --concurrency go with subscriptions import");
  }
  switch (action) {
    case "import":
      return importFile(ctx, argument!);
    case "get":
      return get(ctx, argument!);
    case "cancel":
      return cancel(ctx, argument!);
    case undefined:
      throw new UsageError("subscriptions needs an action: import FILE, get ID or cancel ID");
    default:
      throw new UsageError(`unknown action "subscriptions ${action}" (import, get, cancel)`);
  }
}

async function client(ctx: Context): Promise<SubscriptionsClient> {
  const [doc, tables, shardCount] = await Promise.all([ctx.doc(), ctx.tables(), ctx.shardCount()]);
  return new SubscriptionsClient({ doc, tables, shardCount, clock: ctx.clock });
}

// ---------------------------------------------------------------------------------------------------
// import

async function importFile(ctx: Context, path: string): Promise<number> {
  const format = (stringFlag(ctx.flags, "format") ?? formatOf(path)) as ImportFormat | null;
  if (format !== "csv" && format !== "jsonl") {
    throw new UsageError(
      `--format must be csv or jsonl (or name the file *.csv, *.jsonl), got "${format ?? path}"`,
    );
  }
  const concurrency =
    wholeNumber("--concurrency", stringFlag(ctx.flags, "concurrency"), 1) ?? DEFAULT_CONCURRENCY;
  try {
    if (!(await stat(path)).isFile()) throw new UsageError(`${path} is not a file`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
  const execute = booleanFlag(ctx.flags, "execute");
  const [doc, tables, shardCount] = await Promise.all([ctx.doc(), ctx.tables(), ctx.shardCount()]);
  let throttled = 0;
  const backoff = { onThrottled: () => void (throttled += 1) };
  const subscriptionsClient = new SubscriptionsClient({ doc, tables, shardCount, clock: ctx.clock, backoff });
  const events: ImportEvent[] = [];
  let reported = 0;
  const counts = await importSubscriptions(
    readRows(createReadStream(path), format),
    {
      client: subscriptionsClient,
      doc,
      subscriptionsTable: tables.subscriptions,
      shardCount,
      now: () => new Date(ctx.now()).toISOString(),
      execute,
      concurrency,
      backoff,
    },
    {
      event: (event) => (ctx.json ? events.push(event) : ctx.io.stdout(eventText(event))),
      progress: (so, line) => {
        if (Math.floor(so.rows / PROGRESS_EVERY_ROWS) === Math.floor(reported / PROGRESS_EVERY_ROWS)) return;
        reported = so.rows;
        ctx.io.stderr(progressText(so, line, execute, throttled));
      },
    },
  );
  const attention = counts.bad > 0 || counts.different > 0;
  if (ctx.json) {
    ctx.io.stdout(
      JSON.stringify({ file: path, format, executed: execute, shardCount, counts, events }, null, 2),
    );
  } else {
    ctx.io.stdout(summaryText(path, format, execute, counts));
  }
  return attention ? 1 : 0;
}

function eventText(event: ImportEvent): string {
  const where = `line ${event.line}${event.subscriptionId !== null ? ` (${event.subscriptionId})` : ""}`;
  if (event.kind === "bad") return event.problems.map((p) => `${where}: ${p.field}: ${p.reason}`).join("\n");
  const each = event.differences.map(
    (d) => `${d.field} ${JSON.stringify(d.inFile)} in the file, ${JSON.stringify(d.stored)} stored`,
  );
  return `${where}: already stored with other values, left as stored: ${each.join("; ")}`;
}

function progressText(counts: ImportCounts, line: number, execute: boolean, throttled: number): string {
  const loaded = execute ? `${counts.created} created` : `${counts.wouldCreate} to create`;
  const waits = throttled > 0 ? `; DynamoDB throttled ${throttled} requests, waited them out` : "";
  return `import: ${counts.rows} rows to line ${line}: ${loaded}, ${counts.unchanged} unchanged, ${counts.different} different, ${counts.bad} bad${waits}`;
}

function summaryText(path: string, format: string, execute: boolean, counts: ImportCounts): string {
  const lines = [
    `subscriptions import ${path} (${format})${execute ? "" : ": dry run, nothing written"}`,
    `  rows read                       ${counts.rows}`,
    execute
      ? `  created                         ${counts.created}`
      : `  would be created                ${counts.wouldCreate}`,
    `  already stored, the same        ${counts.unchanged}`,
    `  already stored, different       ${counts.different}${counts.different > 0 ? "  (left as stored: see above)" : ""}`,
    `  bad rows                        ${counts.bad}${counts.bad > 0 ? "  (nothing written for them: see above)" : ""}`,
  ];
  if (!execute) lines.push("Run again with --execute to write.");
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------
// get, cancel

async function get(ctx: Context, subscriptionId: string): Promise<number> {
  const found = await (await client(ctx)).get(subscriptionId);
  const asOf = new Date(ctx.now()).toISOString();
  if (found.kind === "not-found") return notFound(ctx, subscriptionId);
  const raw = found.kind === "found" ? found.subscription : found.raw;
  const shard = typeof raw.shard === "number" ? raw.shard : 0;
  const billing = classify(raw as Record<string, unknown>, shard, asOf);
  if (ctx.json) {
    ctx.io.stdout(JSON.stringify({ ...found, billing: { asOf, ...billing } }, null, 2));
    return found.kind === "found" ? 0 : 1;
  }
  if (found.kind === "invalid") {
    ctx.io.stdout(
      [
        `${subscriptionId}: stored, but the run would quarantine it as it stands:`,
        ...found.problems.map((p) => `  ${p.field}: ${p.reason}`),
        JSON.stringify(found.raw, null, 2),
      ].join("\n"),
    );
    return 1;
  }
  ctx.io.stdout(describe(found.subscription, billing, asOf));
  return 0;
}

function describe(s: StoredSubscription, billing: ReturnType<typeof classify>, asOf: string): string {
  const every =
    s.interval === "month" ? `monthly, on day ${s.anchorDay}` : `yearly, on ${s.anchorMonth}/${s.anchorDay}`;
  const verdict =
    billing.kind === "due"
      ? `due: the next run charges the period starting ${s.nextPeriodStart}`
      : billing.kind === "invalid"
        ? `would be quarantined: ${billing.field}: ${billing.reason}`
        : `not due at ${asOf} (${billing.reason})`;
  return [
    `${s.subscriptionId}: ${s.status}${s.statusReason ? ` (${s.statusReason})` : ""}`,
    `  customer           ${s.customerId}`,
    `  payment method     ${s.paymentMethodId}`,
    `  price              ${formatMoney(s.amount, s.currency)} (${s.amount} ${s.currency}), ${every}`,
    `  next period start  ${s.nextPeriodStart}`,
    `  next attempt       ${s.nextAttemptAt}`,
    `  shard              ${s.shard}${s.dueShard ? ` (in the due index as ${s.dueShard})` : " (not in the due index)"}`,
    `  last paid period   ${s.lastPaidPeriod ?? "-"}`,
    `  created, updated   ${s.createdAt}, ${s.updatedAt}${s.revision !== undefined ? ` (revision ${s.revision})` : ""}`,
    `  billing            ${verdict}`,
  ].join("\n");
}

async function cancel(ctx: Context, subscriptionId: string): Promise<number> {
  const subscriptionsClient = await client(ctx);
  if (!booleanFlag(ctx.flags, "execute")) {
    const found = await subscriptionsClient.get(subscriptionId);
    if (found.kind === "not-found") return notFound(ctx, subscriptionId);
    const status = found.kind === "found" ? found.subscription.status : String(found.raw.status);
    const text =
      status === "canceled"
        ? `${subscriptionId} is canceled already; nothing to do.`
        : `${subscriptionId} is ${status}. Dry run: nothing written. Run again with --execute to cancel it ` +
          "(refused while a charge for it is in flight; a period already paid stays paid).";
    if (ctx.json) ctx.io.stdout(JSON.stringify({ subscriptionId, executed: false, status }, null, 2));
    else ctx.io.stdout(text);
    return 0;
  }
  const result = await subscriptionsClient.cancel(subscriptionId);
  if (ctx.json) ctx.io.stdout(JSON.stringify({ subscriptionId, executed: true, ...result }, null, 2));
  else ctx.io.stdout(changeText(subscriptionId, "canceled", result));
  return result.kind === "changed" || result.kind === "unchanged" ? 0 : 1;
}

function changeText(subscriptionId: string, done: string, result: ChangeResult): string {
  switch (result.kind) {
    case "changed":
      return `${subscriptionId} ${done} (it has left the due index; no run will charge it).`;
    case "unchanged":
      return `${subscriptionId} was ${done} already; nothing written.`;
    case "not-found":
      return `${subscriptionId}: no such subscription.`;
    case "invalid":
      return [
        `${subscriptionId}: refused, nothing written:`,
        ...result.problems.map((p) => `  ${p.field}: ${p.reason}`),
      ].join("\n");
    case "conflict":
      return `${subscriptionId}: refused, nothing written: ${result.message}`;
  }
}

function notFound(ctx: Context, subscriptionId: string): number {
  if (ctx.json) ctx.io.stdout(JSON.stringify({ kind: "not-found", subscriptionId }, null, 2));
  else ctx.io.stdout(`${subscriptionId}: no such subscription.`);
  return 1;
}
