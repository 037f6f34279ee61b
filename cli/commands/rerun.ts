/**
 * `ops rerun`: runs the billing job now, by invoking the deployed function with a rerun event (what a
 * console test event would send), or with --local the same handler in this process against DynamoDB Local
 * and the Stripe emulator.
 *
 * The event is validated here first with the function's own parser (parseBillingEvent), so a bad flag is
 * refused before anything is sent. Dry run by default: it reports what a run would charge and changes
 * nothing. --execute (or --no-dry-run) really bills.
 */
import { randomUUID } from "node:crypto";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { localLambdaContext } from "../../dev/lambda-context";
import { InvalidEventError, parseBillingEvent } from "../../functions/handler/billing-event";
import { FUNCTION_ENV, type Context } from "../context";
import { booleanFlag, instantFlag, listFlag, stringFlag, UsageError, wholeNumber } from "../args";
import { counts as countText, money, table } from "../format";
import type { ContinuationSummary } from "../../functions/handler/continuation";

/** Fields of the rerun event and the flags that set them, for error messages. */
const FLAG_OF: Record<string, string> = {
  asOf: "--as-of",
  subscriptionIds: "--subscription",
  maxCharges: "--max-charges",
  shards: "--shard",
  reason: "--reason",
  dryRun: "--dry-run",
};

const DEFAULT_LOCAL_WAIT_SECONDS = 300;

export interface RerunEvent {
  action: "rerun";
  dryRun: boolean;
  asOf?: string;
  subscriptionIds?: string[];
  maxCharges?: number;
  shards?: number[];
  reason?: string;
}

export async function rerun(ctx: Context): Promise<number> {
  const execute = booleanFlag(ctx.flags, "execute") || booleanFlag(ctx.flags, "no-dry-run");
  if (execute && booleanFlag(ctx.flags, "dry-run")) {
    throw new UsageError("--dry-run contradicts --execute/--no-dry-run: choose one");
  }
  const local = booleanFlag(ctx.flags, "local");
  const asOfRaw = stringFlag(ctx.flags, "as-of");
  const maxCharges = wholeNumber("--max-charges", stringFlag(ctx.flags, "max-charges"), 1);
  const shards = listFlag(ctx.flags, "shard")?.map((s) => wholeNumber("--shard", s, 0)!);
  const subscriptionIds = listFlag(ctx.flags, "subscription");
  const reason = stringFlag(ctx.flags, "reason") ?? `ops rerun by ${ctx.operator()}`;
  const event: RerunEvent = {
    action: "rerun",
    dryRun: !execute,
    ...(asOfRaw !== undefined && { asOf: new Date(instantFlag("as-of", asOfRaw)).toISOString() }),
    ...(subscriptionIds && { subscriptionIds }),
    ...(maxCharges !== undefined && { maxCharges }),
    ...(shards && { shards }),
    reason: reason.slice(0, 500),
  };

  // The function's own validation, here, before anything is sent. The shard count matters only for --shard.
  const shardCount = shards ? await ctx.shardCount() : Number.MAX_SAFE_INTEGER;
  try {
    parseBillingEvent(event, ctx.now(), shardCount);
  } catch (error) {
    if (error instanceof InvalidEventError) {
      const problems = error.problems.map((p) =>
        p.replace(/^([a-zA-Z]+)(\[\d+\])?:/, (m, f: string) => (FLAG_OF[f] ? `${FLAG_OF[f]}:` : m)),
      );
      throw new UsageError(`rerun refused before sending, nothing was changed: ${problems.join("; ")}`);
    }
    throw error;
  }

  let result: unknown;
  let target: string;
  if (local) {
    if (!ctx.local)
      throw new UsageError(
        "--local needs --endpoint (DynamoDB Local) and the emulator's --stripe-host/--stripe-port",
      );
    target = "the handler, in process";
    result = await invokeLocally(ctx, event);
  } else {
    const functionName = ctx.functionName();
    if (!functionName) {
      throw new UsageError(
        `rerun needs the deployed function: pass --function NAME or set ${FUNCTION_ENV} (or use --local)`,
      );
    }
    target = `function ${functionName}`;
    const invoked = await invokeRemotely(ctx, functionName, event);
    if (!invoked.ok) {
      ctx.io.stderr(`${target} failed: ${invoked.error}`);
      if (ctx.json) ctx.io.stdout(JSON.stringify({ event, error: invoked.error }, null, 2));
      return 1;
    }
    result = invoked.result;
  }

  if (ctx.json) {
    ctx.io.stdout(JSON.stringify({ event, result }, null, 2));
  } else {
    ctx.io.stdout(describeResult(event, target, result));
  }
  // A shard this run led but did not finish (charges left in doubt, out of time, lease lost) needs a look.
  const led = (result as Partial<RunResult> | null)?.led ?? [];
  return led.some((shard) => shard.outcome !== "complete" && shard.outcome !== "targeted") ? 1 : 0;
}

async function invokeRemotely(
  ctx: Context,
  functionName: string,
  event: RerunEvent,
): Promise<{ ok: true; result: unknown } | { ok: false; error: string }> {
  const lambda = await ctx.lambda();
  const out = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: "RequestResponse",
      Payload: new TextEncoder().encode(JSON.stringify(event)),
    }),
  );
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : "";
  let payload: unknown = text;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  if (out.FunctionError) {
    const message =
      typeof payload === "object" && payload !== null && "errorMessage" in payload
        ? String((payload as { errorMessage: unknown }).errorMessage)
        : text;
    return { ok: false, error: `${out.FunctionError}: ${message}` };
  }
  return { ok: true, result: payload };
}

/**
 * The real handler, in this process, configured through the environment exactly as the stack configures
 * the function (table names, DynamoDB endpoint, Stripe endpoint and key). The handler keeps its clients
 * for the life of the process (as a warm Lambda does), so one process serves one local stack.
 */
async function invokeLocally(ctx: Context, event: RerunEvent): Promise<unknown> {
  const tables = await ctx.tables();
  const stripe = ctx.stripeEndpoint();
  // A dry run sends nothing to Stripe; the handler only insists that a key is configured.
  const key = event.dryRun
    ? await ctx.stripeKey().catch(() => "sk_test_dry_run_sends_nothing")
    : await ctx.stripeKey();
  const settings: Record<string, string | undefined> = {
    DYNAMODB_ENDPOINT: ctx.endpoint,
    LEASE_TABLE_NAME: tables.leases,
    SUBSCRIPTIONS_TABLE_NAME: tables.subscriptions,
    CHARGES_TABLE_NAME: tables.charges,
    SHARD_COUNT: String(await ctx.shardCount()),
    STRIPE_SECRET_KEY: key,
    STRIPE_SECRET_ARN: undefined,
    STRIPE_API_HOST: stripe.host,
    STRIPE_API_PORT: stripe.port === undefined ? undefined : String(stripe.port),
    STRIPE_API_PROTOCOL: stripe.protocol,
    // No function here to continue the run in: a local rerun that runs out of --wait stops there (run it
    // again). Deployed, a rerun out of time invokes the function's next link itself.
    MAX_CONTINUATION_LINKS: "0",
    // The handler logs and emits metrics on stdout, as in Lambda; here stdout is the report.
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? (ctx.json ? "SILENT" : "WARN"),
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? "true",
  };
  const saved = Object.fromEntries(Object.keys(settings).map((k) => [k, process.env[k]]));
  setEnv(settings);
  try {
    const { handler } = await import("../../functions/handler/index");
    const waitSeconds = wholeNumber("--wait", stringFlag(ctx.flags, "wait"), 1) ?? DEFAULT_LOCAL_WAIT_SECONDS;
    const deadline = Date.now() + waitSeconds * 1000;
    const context = localLambdaContext({
      functionName: "lease-billing-local",
      requestId: randomUUID(),
      remainingMs: () => Math.max(0, deadline - Date.now()),
    });
    return await handler(event, context);
  } finally {
    setEnv(saved);
  }
}

function setEnv(values: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

type DryRunResult = {
  status: "dry-run";
  runId: string;
  asOf: string;
  counts: Record<string, number>;
  items: {
    subscriptionId: string;
    shard: number | null;
    action: string;
    periodStart: string | null;
    amount: number | null;
    currency: string | null;
    note?: string;
  }[];
};

type RunResult = {
  status: "ok";
  runId: string;
  asOf: string;
  led: {
    shard: number;
    fence: number;
    outcome: string;
    stopReason: string | null;
    leftDue: number;
    tally: Record<string, number>;
  }[];
  stoodBy: { shard: number; reason: string }[];
  tally: Record<string, number>;
  charged: Record<string, number>;
};

function describeResult(event: RerunEvent, target: string, result: unknown): string {
  const r = result as Partial<DryRunResult> & Partial<RunResult>;
  if (r?.status === "dry-run") {
    const items = r.items ?? [];
    return [
      `Dry run through ${target} (${r.runId}), as of ${r.asOf}: nothing was changed.`,
      `Would: ${countText(r.counts)}`,
      ...(items.length > 0
        ? [
            table(
              ["subscription", "shard", "action", "period start", "amount", "note"],
              items.map((i) => [
                i.subscriptionId,
                i.shard,
                i.action,
                i.periodStart,
                money(i.amount, i.currency),
                i.note,
              ]),
            ),
          ]
        : []),
      "To bill for real: the same command with --execute.",
    ].join("\n");
  }
  if (r?.status === "ok") {
    const charged = Object.entries(r.charged ?? {}).map(([c, v]) => `${v} ${c}`);
    return [
      `Ran through ${target} (${r.runId}), as of ${r.asOf}${event.reason ? `, reason: ${event.reason}` : ""}.`,
      table(
        ["shard", "fence", "outcome", "stop reason", "left due", "counts"],
        (r.led ?? []).map((s) => [s.shard, s.fence, s.outcome, s.stopReason, s.leftDue, countText(s.tally)]),
      ),
      ...(r.stoodBy ?? []).map((s) => `shard ${s.shard}: stood by (${s.reason})`),
      ...((r.led ?? []).some((s) => s.outcome !== "complete" && s.outcome !== "targeted")
        ? [
            "Not everything due was finished: see ops status, and docs/runbook.md (BillingStopped, Charges in doubt).",
          ]
        : []),
      `Charged: ${charged.length > 0 ? charged.join(", ") : "nothing"}. Totals: ${countText(r.tally)}`,
      ...continuationText(r.runId, (result as { continuation?: ContinuationSummary }).continuation),
    ].join("\n");
  }
  return `${target} answered: ${JSON.stringify(result, null, 2)}`;
}

/** What became of the run's next link: the deployed function continues a rerun that ran out of time. */
function continuationText(runId: string | undefined, c: ContinuationSummary | undefined): string[] {
  if (!c || !("link" in c)) return [];
  if (c.sent) {
    return [
      `Out of time with work left: the function invoked continuation link ${c.link} of ${runId ?? "the run"}, ` +
        "which goes on asynchronously (its log lines carry the same runId).",
    ];
  }
  return [`Continuation link ${c.link} could not be sent (${c.error}): the next schedule tick goes on.`];
}
