/**
 * `ops resolve-in-doubt`: settles charges whose Stripe outcome is unknown, and reports what each became.
 *
 * It never writes around the lease. It runs the billing run itself (runContender, as the function does)
 * restricted to the in-doubt subscriptions: it contends for each shard's lease like any invocation (stands
 * by while a live leader holds it, up to --wait seconds), and with the lease it lets the renewal state
 * machine look the PaymentIntent up and settle it with fenced writes. One period per subscription
 * (maxPeriodsPerSubscription 1): it settles what is in doubt and does not go on to bill later periods.
 *
 * --dry-run only looks at Stripe (retrieve, or list by period when no id was recorded) and says what each
 * would become; nothing is written and no lease is taken.
 */
import { randomUUID } from "node:crypto";
import type { ChargeRecord, InDoubtCharge } from "../../functions/core/billing/charge-state";
import { runContender, type ContenderReport } from "../../functions/core/billing-run/contender";
import type { RunEvent } from "../../functions/core/billing-run/events";
import { runSettings } from "../../functions/core/billing-run/run-config";
import { LeaseClient } from "../../functions/core/lease/lease-client";
import { DynamoLeaseStore } from "../../functions/aws/dynamo-lease-store";
import { booleanFlag, listFlag, stringFlag, wholeNumber } from "../args";
import { recordsInState } from "../attention";
import type { Context } from "../context";
import { table } from "../format";

const DEFAULT_WAIT_SECONDS = 120;

export interface Resolution {
  readonly subscriptionId: string;
  readonly periodStart: string;
  readonly paymentIntentId: string | null;
  readonly reason: string;
  readonly since: string;
  /** The record's state afterwards (dry run: what Stripe says it would become). */
  readonly after: string;
  readonly detail: string;
}

export interface ResolveReport {
  readonly dryRun: boolean;
  readonly found: number;
  readonly resolved: number;
  readonly stillInDoubt: number;
  readonly resolutions: readonly Resolution[];
  readonly notInDoubt: readonly string[];
  /** Shards whose lease this command could not get in time. */
  readonly stoodBy: readonly { shard: number; reason: string }[];
  readonly runId: string | null;
}

export async function resolveInDoubt(ctx: Context): Promise<number> {
  const only = listFlag(ctx.flags, "subscription");
  const dryRun = booleanFlag(ctx.flags, "dry-run");
  const waitSeconds = wholeNumber("--wait", stringFlag(ctx.flags, "wait"), 1) ?? DEFAULT_WAIT_SECONDS;
  const report = await collectResolution(ctx, { only, dryRun, waitSeconds });
  if (ctx.json) {
    ctx.io.stdout(JSON.stringify(report, null, 2));
  } else {
    const lines: string[] = [];
    if (report.found === 0) {
      lines.push(only ? "None of the given subscriptions has a charge in doubt." : "Nothing in doubt.");
    } else {
      lines.push(
        dryRun
          ? `${report.found} charge(s) in doubt. Dry run: what Stripe says (nothing was written):`
          : `${report.found} charge(s) in doubt; ${report.resolved} settled, ${report.stillInDoubt} still in doubt (run ${report.runId}):`,
        table(
          [
            "subscription",
            "period start",
            "payment intent",
            "in doubt since",
            "reason",
            dryRun ? "would become" : "now",
            "detail",
          ],
          report.resolutions.map((r) => [
            r.subscriptionId,
            r.periodStart,
            r.paymentIntentId,
            r.since,
            r.reason,
            r.after,
            r.detail,
          ]),
        ),
      );
    }
    if (report.notInDoubt.length > 0)
      lines.push(`Not in doubt (left alone): ${report.notInDoubt.join(", ")}`);
    for (const s of report.stoodBy) {
      lines.push(
        `shard ${s.shard}: ${s.reason}. Its lease is held by a live run; wait for it to finish (it resolves ` +
          'in-doubt charges too) or see docs/runbook.md "Stuck lease".',
      );
    }
    ctx.io.stdout(lines.join("\n"));
  }
  // A dry run only reports; otherwise anything left in doubt (or a shard not reached) needs a look.
  if (dryRun) return 0;
  return report.stillInDoubt === 0 && report.stoodBy.length === 0 ? 0 : 1;
}

export async function collectResolution(
  ctx: Context,
  options: { only?: readonly string[]; dryRun: boolean; waitSeconds: number },
): Promise<ResolveReport> {
  const [doc, tables, store] = await Promise.all([ctx.doc(), ctx.tables(), ctx.billingStore()]);
  const { records: all } = await recordsInState(doc, tables, "in_doubt");
  const only = options.only ? new Set(options.only) : null;
  const inDoubt = only ? all.filter((c) => only.has(c.subscriptionId)) : all;
  const notInDoubt = options.only?.filter((id) => !inDoubt.some((c) => c.subscriptionId === id)) ?? [];
  const empty = {
    found: 0,
    resolved: 0,
    stillInDoubt: 0,
    resolutions: [],
    notInDoubt,
    stoodBy: [],
    runId: null,
  };
  if (inDoubt.length === 0) return { dryRun: options.dryRun, ...empty };

  const gateway = await ctx.gateway();
  if (options.dryRun) {
    const resolutions: Resolution[] = [];
    for (const c of inDoubt) resolutions.push({ ...before(c), ...(await lookUp(gateway, c)) });
    return {
      dryRun: true,
      found: inDoubt.length,
      resolved: 0,
      stillInDoubt: inDoubt.length,
      resolutions,
      notInDoubt,
      stoodBy: [],
      runId: null,
    };
  }

  // Contend for the shards these subscriptions live on, like an invocation of the function would.
  const ids = [...new Set(inDoubt.map((c) => c.subscriptionId))];
  const shards = new Set<number>();
  for (const id of ids) {
    const subscription = await store.getSubscription(id);
    if (typeof subscription?.shard === "number") shards.add(subscription.shard);
  }
  const settings = await ctx.functionSettings();
  const lease = new LeaseClient(new DynamoLeaseStore(doc, tables.leases), ctx.clock, settings.lease);
  const deadline = ctx.now() + options.waitSeconds * 1000;
  const events: RunEvent[] = [];
  const waiting = new Set<number>();
  const runId = `ops-resolve-in-doubt:${new Date(ctx.now()).toISOString()}:${randomUUID().slice(0, 8)}`;
  const owner = `${ctx.operator()}/${randomUUID().slice(0, 8)}`;
  let report: ContenderReport | null = null;
  if (shards.size > 0) {
    report = await runContender(
      {
        lease,
        source: store,
        ledger: store,
        gateway,
        clock: ctx.clock,
        settings: runSettings({
          ...settings.run,
          shardCount: Math.max(await ctx.shardCount(), ...[...shards].map((s) => s + 1)),
          stopClaimingMarginMs: 0,
          standbyPollMs: 1_000,
          maxPeriodsPerSubscription: 1,
        }),
        observe: (event) => {
          events.push(event);
          if (event.type === "lease-held-by-other" && !waiting.has(event.shard)) {
            waiting.add(event.shard);
            ctx.io.stderr(
              `shard ${event.shard}: lease held by ${event.holder} (fence ${event.fence}); standing by up to ${options.waitSeconds}s`,
            );
          }
        },
        remainingMs: () => deadline - ctx.now(),
      },
      owner,
      { runId, asOf: new Date(ctx.now()).toISOString(), subscriptionIds: ids },
      [...shards].sort((a, b) => a - b),
    );
  }

  const resolutions: Resolution[] = [];
  for (const c of inDoubt) {
    const now = await store.getCharge(c.subscriptionId, c.periodStart);
    resolutions.push({ ...before(c), after: now?.state ?? "missing", detail: afterDetail(c, now, events) });
  }
  const stillInDoubt = resolutions.filter((r) => r.after === "in_doubt").length;
  return {
    dryRun: false,
    found: inDoubt.length,
    resolved: inDoubt.length - stillInDoubt,
    stillInDoubt,
    resolutions,
    notInDoubt,
    stoodBy: report?.stoodBy ?? [],
    runId,
  };
}

function before(c: InDoubtCharge) {
  return {
    subscriptionId: c.subscriptionId,
    periodStart: c.periodStart,
    paymentIntentId: c.paymentIntentId ?? null,
    reason: c.reason,
    since: c.since,
  };
}

function afterDetail(was: InDoubtCharge, now: ChargeRecord | null, events: readonly RunEvent[]): string {
  if (now === null) return "the record is gone";
  switch (now.state) {
    case "succeeded":
      return `paid: ${now.paymentIntentId}${now.chargeId ? ` (${now.chargeId})` : ""}`;
    case "declined":
      return `${now.declineCode ?? now.code}; ${now.retryAt ? `retry at ${now.retryAt}` : "no retries left: past_due"}`;
    case "needs_customer_action":
      return now.code;
    case "quarantined":
      return now.reason;
    case "pending":
      return "reopened: the next run confirms it";
    case "in_doubt": {
      const fenced = events.some((e) => e.type === "fenced-out" && e.subscriptionId === was.subscriptionId);
      if (fenced) return "fenced out: another contender took the lease";
      if (now.version === was.version)
        return "not touched (subscription not due, not active, or its lease was busy)";
      return `still unknown at Stripe: ${now.reason}`;
    }
  }
}

/** Dry run: what the PaymentIntent's state at Stripe means for the record, read-only. */
async function lookUp(
  gateway: Awaited<ReturnType<Context["gateway"]>>,
  c: InDoubtCharge,
): Promise<{ after: string; detail: string }> {
  if (c.paymentIntentId) {
    const found = await gateway.retrievePaymentIntent(c.paymentIntentId);
    if (found.kind !== "found") return { after: "in_doubt", detail: `Stripe: ${found.kind}` };
    return {
      after: becomes(found.paymentIntent.status),
      detail: `Stripe status ${found.paymentIntent.status}`,
    };
  }
  const found = await gateway.findPaymentIntentsForPeriod({
    customerId: c.customerId,
    subscriptionId: c.subscriptionId,
    periodStart: c.periodStart,
    createdSince: Math.floor(Date.parse(c.createdAt) / 1000) - 40 * 86_400,
  });
  if (found.kind !== "found") return { after: "in_doubt", detail: `Stripe: ${found.kind}` };
  if (found.paymentIntents.length === 0) {
    return {
      after: "pending",
      detail: "no PaymentIntent for the period: the create never ran; a new one is made",
    };
  }
  return {
    after: "pending",
    detail: `found ${found.paymentIntents.map((pi) => `${pi.id} (${pi.status})`).join(", ")}: recorded, then confirmed or settled`,
  };
}

function becomes(status: string): string {
  switch (status) {
    case "succeeded":
      return "succeeded";
    case "requires_action":
      return "needs_customer_action";
    case "canceled":
      return "declined";
    case "requires_payment_method":
      return "declined (or confirmed again)";
    case "requires_confirmation":
      return "confirmed again";
    default:
      return "in_doubt";
  }
}
