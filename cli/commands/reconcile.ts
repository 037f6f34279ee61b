/**
 * `ops reconcile --from ISO --to ISO`: the ledger's succeeded charges against Stripe's succeeded
 * PaymentIntents, one to one (docs/design.md#invariant-5), listing every mismatch both ways.
 *
 * What is compared:
 *   - the ledger: succeeded records settled in the window (settledAt, our clock). No index holds settled
 *     records (they leave the `attention` index), so this is the one place the CLI scans the charge table,
 *     with a filter;
 *   - Stripe: PaymentIntents created in the window (Stripe's clock), listed (strongly consistent, never
 *     search), with the latest charge expanded for refunds; only ours (metadata subscription_id).
 * The two clocks and the two times differ (a charge can be settled days after its PaymentIntent was
 * created, after a decline and a retry). So anything unmatched is looked up on the other side by key
 * before it is called a mismatch: a ledger record by (subscription_id, period_start), a PaymentIntent by
 * id. A window's edges never produce false alarms, and consecutive windows together check everything.
 */
import { GetCommand, ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { ChargeRecord } from "../../functions/core/billing/charge-state";
import type { ReconcilablePaymentIntent } from "../../functions/core/payments/payment-gateway";
import type { TableNames } from "../../functions/schema/tables";
import { instantFlag, stringFlag, UsageError } from "../args";
import type { Context } from "../context";
import { money, table } from "../format";

export type MismatchKind =
  /** The ledger says succeeded; Stripe has no such PaymentIntent. */
  | "missing-at-stripe"
  /** The ledger says succeeded; the PaymentIntent did not succeed at Stripe. */
  | "not-succeeded-at-stripe"
  /** Stripe charged for a period the ledger has no record of. */
  | "missing-in-ledger"
  /** Stripe charged for a period whose ledger record is not succeeded (in doubt, pending, ...). */
  | "ledger-not-succeeded"
  /** Stripe charged with a PaymentIntent other than the one the ledger recorded for the period. */
  | "other-payment-intent"
  | "amount-differs"
  | "currency-differs"
  /** The charge was refunded, in full or in part, after it succeeded. */
  | "refunded"
  /** The PaymentIntent's metadata names another subscription or period than the ledger record. */
  | "metadata-differs"
  /** Two ledger records name the same PaymentIntent. */
  | "duplicate-in-ledger";

export interface Mismatch {
  readonly kind: MismatchKind;
  readonly subscriptionId: string;
  readonly periodStart: string;
  readonly paymentIntentId: string | null;
  readonly ledger: string;
  readonly stripe: string;
  readonly detail: string;
}

export interface ReconcileReport {
  readonly from: string;
  readonly to: string;
  readonly ledgerSucceeded: number;
  readonly stripeSucceeded: number;
  /** Succeeded PaymentIntents without our metadata (not created by the billing job): not compared. */
  readonly stripeIgnored: number;
  readonly matched: number;
  readonly mismatches: readonly Mismatch[];
}

export async function reconcile(ctx: Context): Promise<number> {
  const fromRaw = stringFlag(ctx.flags, "from");
  if (fromRaw === undefined) throw new UsageError("reconcile needs --from ISO (and --to ISO, default now)");
  const from = instantFlag("from", fromRaw);
  const toRaw = stringFlag(ctx.flags, "to");
  const to = toRaw === undefined ? ctx.now() : instantFlag("to", toRaw);
  if (from > to) {
    throw new UsageError(
      `--from (${new Date(from).toISOString()}) is after --to (${new Date(to).toISOString()})`,
    );
  }
  const report = await collectReconcile(ctx, from, to);
  if (ctx.json) {
    ctx.io.stdout(JSON.stringify(report, null, 2));
  } else {
    const head =
      `Reconciled ${report.from} .. ${report.to}: ledger ${report.ledgerSucceeded} succeeded, ` +
      `Stripe ${report.stripeSucceeded} succeeded (ours), ${report.matched} matched` +
      (report.stripeIgnored > 0
        ? `, ${report.stripeIgnored} other PaymentIntents ignored (no subscription_id)`
        : "");
    if (report.mismatches.length === 0) {
      ctx.io.stdout(`${head}.\nNo mismatches: the ledger and Stripe agree one to one.`);
    } else {
      ctx.io.stdout(
        [
          `${head}.`,
          `${report.mismatches.length} mismatch${report.mismatches.length === 1 ? "" : "es"}:`,
          table(
            ["kind", "subscription", "period start", "payment intent", "ledger", "stripe", "detail"],
            report.mismatches.map((m) => [
              m.kind,
              m.subscriptionId,
              m.periodStart,
              m.paymentIntentId,
              m.ledger,
              m.stripe,
              m.detail,
            ]),
          ),
          "",
          'What to do for each kind: docs/runbook.md "Reconciliation mismatch".',
        ].join("\n"),
      );
    }
  }
  return report.mismatches.length === 0 ? 0 : 1;
}

export async function collectReconcile(ctx: Context, from: number, to: number): Promise<ReconcileReport> {
  const [doc, tables, gateway] = await Promise.all([ctx.doc(), ctx.tables(), ctx.gateway()]);
  const fromIso = new Date(from).toISOString();
  const toIso = new Date(to).toISOString();
  const ledger = await succeededInLedger(doc, tables, fromIso, toIso);

  const listed = await gateway.listPaymentIntents({
    gte: Math.floor(from / 1000),
    lte: Math.floor(to / 1000),
  });
  if (listed.kind !== "found") throw new Error(`Stripe: listing PaymentIntents failed (${describe(listed)})`);
  const succeeded = listed.paymentIntents.filter((pi) => pi.status === "succeeded");
  const ours = succeeded.filter((pi) => typeof pi.metadata.subscription_id === "string");

  const mismatches: Mismatch[] = [];
  const byPaymentIntent = new Map<string, ChargeRecord[]>();
  for (const record of ledger) {
    const id = record.paymentIntentId ?? "";
    byPaymentIntent.set(id, [...(byPaymentIntent.get(id) ?? []), record]);
  }
  for (const [id, records] of byPaymentIntent) {
    if (records.length > 1) {
      for (const r of records) {
        mismatches.push(
          mismatch("duplicate-in-ledger", r, id, null, `${records.length} ledger records name ${id}`),
        );
      }
    }
  }

  let matched = 0;
  const matchedLedger = new Set<ChargeRecord>();
  // Stripe → ledger.
  for (const pi of ours) {
    const records = byPaymentIntent.get(pi.id);
    if (records) {
      matched += 1;
      for (const r of records) {
        matchedLedger.add(r);
        mismatches.push(...compare(r, pi));
      }
      continue;
    }
    const subscriptionId = pi.metadata.subscription_id!;
    const periodStart = pi.metadata.period_start ?? "";
    const record = periodStart ? await getCharge(doc, tables, subscriptionId, periodStart) : null;
    const where = { subscriptionId, periodStart, paymentIntentId: pi.id, stripe: stripeText(pi) };
    if (record === null) {
      mismatches.push({
        ...where,
        kind: "missing-in-ledger",
        ledger: "no record",
        detail: "Stripe charged for a period the ledger has no record of",
      });
    } else if (record.paymentIntentId !== pi.id) {
      mismatches.push({
        ...where,
        kind: "other-payment-intent",
        ledger: ledgerText(record),
        detail: `the ledger's PaymentIntent for the period is ${record.paymentIntentId ?? "none"}: two PaymentIntents for one period`,
      });
    } else if (record.state !== "succeeded") {
      mismatches.push({
        ...where,
        kind: "ledger-not-succeeded",
        ledger: ledgerText(record),
        detail:
          record.state === "in_doubt"
            ? "in doubt in the ledger, succeeded at Stripe: run ops resolve-in-doubt"
            : `the ledger says ${record.state}`,
      });
    } else {
      // Settled outside the window (in the ledger's clock): a match, compared as one.
      matched += 1;
      mismatches.push(...compare(record, pi));
    }
  }

  // Ledger → Stripe, for what the Stripe window did not show.
  for (const record of ledger) {
    if (matchedLedger.has(record)) continue;
    const id = record.paymentIntentId;
    if (!id) {
      mismatches.push(
        mismatch("missing-at-stripe", record, null, null, "succeeded without a PaymentIntent id"),
      );
      continue;
    }
    const found = await gateway.retrievePaymentIntentWithRefunds(id);
    if (found.kind === "not_found") {
      mismatches.push(mismatch("missing-at-stripe", record, id, null, "Stripe has no such PaymentIntent"));
    } else if (found.kind !== "found") {
      throw new Error(`Stripe: retrieving ${id} failed (${describe(found)})`);
    } else if (found.paymentIntent.status !== "succeeded") {
      mismatches.push(
        mismatch(
          "not-succeeded-at-stripe",
          record,
          id,
          found.paymentIntent,
          `the ledger says succeeded; Stripe says ${found.paymentIntent.status}`,
        ),
      );
    } else {
      // Created outside the Stripe window: matched by id.
      matched += 1;
      mismatches.push(...compare(record, found.paymentIntent));
    }
  }

  return {
    from: fromIso,
    to: toIso,
    ledgerSucceeded: ledger.length,
    stripeSucceeded: ours.length,
    stripeIgnored: succeeded.length - ours.length,
    matched,
    mismatches,
  };
}

function compare(record: ChargeRecord, pi: ReconcilablePaymentIntent): Mismatch[] {
  const out: Mismatch[] = [];
  if (pi.amount !== record.amount) {
    out.push(mismatch("amount-differs", record, pi.id, pi, `ledger ${record.amount}, Stripe ${pi.amount}`));
  }
  if (pi.currency.toLowerCase() !== record.currency.toLowerCase()) {
    out.push(
      mismatch("currency-differs", record, pi.id, pi, `ledger ${record.currency}, Stripe ${pi.currency}`),
    );
  }
  if (
    pi.metadata.subscription_id !== record.subscriptionId ||
    (pi.metadata.period_start !== undefined && pi.metadata.period_start !== record.periodStart)
  ) {
    out.push(
      mismatch(
        "metadata-differs",
        record,
        pi.id,
        pi,
        `Stripe metadata says ${pi.metadata.subscription_id ?? "?"} @ ${pi.metadata.period_start ?? "?"}`,
      ),
    );
  }
  if (pi.amountRefunded > 0) {
    out.push(
      mismatch(
        "refunded",
        record,
        pi.id,
        pi,
        `${pi.amountRefunded >= pi.amount ? "fully" : "partly"} refunded at Stripe (${pi.amountRefunded} of ${pi.amount} ${pi.currency})`,
      ),
    );
  }
  return out;
}

function mismatch(
  kind: MismatchKind,
  record: ChargeRecord,
  paymentIntentId: string | null,
  pi: ReconcilablePaymentIntent | null,
  detail: string,
): Mismatch {
  return {
    kind,
    subscriptionId: record.subscriptionId,
    periodStart: record.periodStart,
    paymentIntentId,
    ledger: ledgerText(record),
    stripe: pi ? stripeText(pi) : "none",
    detail,
  };
}

function ledgerText(record: ChargeRecord): string {
  return `${record.state} ${money(record.amount, record.currency)}`;
}

function stripeText(pi: ReconcilablePaymentIntent): string {
  return `${pi.status} ${money(pi.amount, pi.currency)}${pi.amountRefunded > 0 ? ` refunded ${pi.amountRefunded}` : ""}`;
}

function describe(outcome: { kind: string; reason?: string; message?: string }): string {
  return [outcome.kind, outcome.reason ?? outcome.message].filter(Boolean).join(": ");
}

async function succeededInLedger(
  doc: DynamoDBDocumentClient,
  tables: TableNames,
  fromIso: string,
  toIso: string,
): Promise<ChargeRecord[]> {
  const out: ChargeRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: tables.charges,
        FilterExpression: "#state = :succeeded AND #settledAt BETWEEN :from AND :to",
        ExpressionAttributeNames: { "#state": "state", "#settledAt": "settledAt" },
        ExpressionAttributeValues: { ":succeeded": "succeeded", ":from": fromIso, ":to": toIso },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    out.push(...((page.Items ?? []) as ChargeRecord[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

async function getCharge(
  doc: DynamoDBDocumentClient,
  tables: TableNames,
  subscriptionId: string,
  periodStart: string,
): Promise<ChargeRecord | null> {
  const result = await doc.send(
    new GetCommand({ TableName: tables.charges, Key: { subscriptionId, periodStart }, ConsistentRead: true }),
  );
  return (result.Item as ChargeRecord | undefined) ?? null;
}
