/**
 * The end of a local run: a machine-readable summary (`--json`), the same as a table for people, and the
 * HTML report's contents.
 */
import type { ChargeOutcomeKind } from "../../functions/core/billing-run/events";
import { columns } from "../../cli/format";
import type { ReportInput } from "../cluster/report-html";
import type { LeaseInterval, Takeover } from "../cluster/timeline";
import type { RunOptions } from "./options";
import type { RunResult } from "./run";

export interface ContenderSummary {
  readonly contender: string;
  readonly round: number;
  readonly pid: number;
  readonly exit: { code: number | null; signal: string | null; timedOut: boolean } | null;
  readonly led: readonly { shard: number; fence: number; outcome: string; leftDue: number }[];
  readonly stoodBy: readonly { shard: number; reason: string }[];
  readonly charges: number;
  readonly fencedOut: number;
  readonly leaseLost: number;
  readonly error: string | null;
}

export interface ZombieSummary {
  readonly contender: string;
  readonly pausedMs: number | null;
  /** Fences it held when paused: shard → fence. */
  readonly fencesHeld: Record<string, number>;
  /** The fences its successors took on those shards while it slept. */
  readonly successorFences: readonly number[];
  /** Writes DynamoDB refused because its fence was stale, after it woke. */
  readonly fencedOutWrites: number;
  readonly leaseLost: readonly { shard: number; fence: number; during: string }[];
  /**
   * Charges it logged on waking. Not new charges: settle writes DynamoDB had accepted before the takeover,
   * whose responses it read only after SIGCONT. Anything it tried to write after the takeover is fenced out.
   */
  readonly chargesLoggedAfterWaking: number;
  readonly rejected: boolean;
}

export interface InvariantCheck {
  readonly id: string;
  readonly name: string;
  readonly ok: boolean;
}

export interface LocalRunSummary {
  readonly ok: boolean;
  readonly exitCode: number;
  readonly options: RunOptions;
  readonly asOf: string;
  readonly durationMs: number;
  readonly phases: RunResult["phases"];
  readonly seeded: {
    readonly subscriptions: number;
    readonly due: number;
    readonly notDue: number;
    readonly duePeriods: number;
    readonly byCategory: Record<string, number>;
  };
  readonly rounds: number;
  /** Continuation links the function invoked (each one more invocation), and those whose Invoke failed. */
  readonly continuationLinks: { readonly sent: number; readonly failed: number };
  /** Billing periods by their final state in the ledger (the charges table); what was charged per currency. */
  readonly charges: {
    readonly succeeded: number;
    readonly declined: number;
    readonly needs_customer_action: number;
    readonly quarantined: number;
    readonly in_doubt: number;
    readonly pending: number;
    readonly chargedByCurrency: Record<string, number>;
  };
  /**
   * Charge events the contenders logged, by outcome (the latest per period). A SIGKILLed leader may settle
   * a charge without living to log it: the ledger above is the authority.
   */
  readonly events: Record<ChargeOutcomeKind, number>;
  readonly dueLeft: number | null;
  readonly contenders: readonly ContenderSummary[];
  readonly leases: readonly LeaseInterval[];
  readonly takeovers: readonly Takeover[];
  readonly chaos: RunResult["chaos"];
  readonly zombie: ZombieSummary | null;
  readonly stripe: {
    readonly requests: RunResult["stripeRequests"];
    readonly paymentIntents: RunResult["paymentIntents"];
    readonly requestsPerSettledCharge: number | null;
  };
  readonly invariants: {
    readonly ok: boolean;
    readonly checks: readonly InvariantCheck[];
    readonly violations: readonly string[];
    readonly counts: unknown;
  };
  readonly errors: readonly string[];
  /** Things worth knowing that are not failures (chaos that was asked for but had no chance to happen). */
  readonly notes: readonly string[];
  readonly report: string | null;
  /** Where the infrastructure ran (stopped by the time the summary is printed). */
  readonly infrastructure: { readonly dynamoEndpoint: string; readonly stripeUrl: string };
}

const INVARIANTS: readonly [string, string][] = [
  ["1", "each subscription charged at most once per period"],
  ["2", "nothing due left unaccounted"],
  ["3", "fences never above what was issued"],
  ["5", "ledger equals the emulator's record"],
];

export function summarize(
  options: RunOptions,
  result: RunResult,
  durationMs: number,
  reportPath: string | null,
): LocalRunSummary {
  const { cluster, state } = result;
  const timeline = cluster.timeline;
  const byState = result.invariants?.counts.byState ?? {};
  const ledger = {
    succeeded: byState.succeeded ?? 0,
    declined: byState.declined ?? 0,
    needs_customer_action: byState.needs_customer_action ?? 0,
    quarantined: byState.quarantined ?? 0,
    in_doubt: byState.in_doubt ?? 0,
    pending: byState.pending ?? 0,
    chargedByCurrency: result.paymentIntents.succeededAmounts,
  };
  const contenders: ContenderSummary[] = cluster.processes.map((p) => {
    const info = timeline.contenders().find((c) => c.label === p.label);
    const view = state.contenders.get(p.label);
    return {
      contender: p.label,
      round: p.round,
      pid: p.pid,
      exit: info?.exit ?? null,
      led: (p.finished?.led ?? []).map((l) => ({
        shard: l.shard,
        fence: l.fence,
        outcome: l.outcome,
        leftDue: l.leftDue,
      })),
      stoodBy: p.finished?.stoodBy ?? [],
      charges: view?.charges ?? 0,
      fencedOut: view?.fencedOut ?? 0,
      leaseLost: view?.leaseLost ?? 0,
      error: p.error,
    };
  });
  const violations = result.invariants?.violations ?? ["the invariant check did not run"];
  const checks = INVARIANTS.map(([id, name]) => ({
    id,
    name,
    ok: result.invariants !== null && !violations.some((v) => v.startsWith(`invariant ${id}:`)),
  }));
  const invariantsOk = result.invariants?.ok ?? false;
  const zombie = zombieOf(result);
  const ok =
    invariantsOk &&
    result.errors.length === 0 &&
    (zombie === null || zombie.rejected || zombie.pausedMs === null);
  const settled = ledger.succeeded + ledger.declined + ledger.needs_customer_action;
  return {
    ok,
    exitCode: ok ? 0 : 1,
    options,
    asOf: result.asOf,
    durationMs: Math.round(durationMs),
    phases: {
      infrastructureMs: Math.round(result.phases.infrastructureMs),
      seedMs: Math.round(result.phases.seedMs),
      runMs: Math.round(result.phases.runMs),
      checkMs: Math.round(result.phases.checkMs),
    },
    seeded: {
      subscriptions: options.subscriptions,
      due: result.dataSet.due,
      notDue: result.dataSet.notDue,
      duePeriods: result.dataSet.duePeriods,
      byCategory: { ...result.dataSet.byCategory },
    },
    rounds: result.roundsFired,
    continuationLinks: {
      sent: timeline.continuations().filter((c) => c.sent).length,
      failed: timeline.continuations().filter((c) => !c.sent).length,
    },
    charges: ledger,
    events: state.counts(),
    dueLeft: result.dueLeft,
    contenders,
    leases: timeline.leaseIntervals(),
    takeovers: timeline.takeovers(),
    chaos: result.chaos,
    zombie,
    stripe: {
      requests: result.stripeRequests,
      paymentIntents: result.paymentIntents,
      requestsPerSettledCharge:
        settled > 0 ? Math.round((result.stripeRequests.run / settled) * 100) / 100 : null,
    },
    invariants: { ok: invariantsOk, checks, violations, counts: result.invariants?.counts ?? null },
    errors: result.errors,
    notes: notesOf(options, result),
    report: reportPath,
    infrastructure: { dynamoEndpoint: cluster.infra.dynamo.endpoint, stripeUrl: cluster.infra.stripe.url },
  };
}

function notesOf(options: RunOptions, result: RunResult): string[] {
  const notes: string[] = [];
  if (options.killLeaderAfter !== null && !result.chaos.some((c) => c.kind === "kill")) {
    notes.push(
      `--kill-leader-after ${options.killLeaderAfter}: no leader settled that many charges, so none was killed`,
    );
  }
  if (options.pauseLeaderMs !== null && !result.chaos.some((c) => c.kind === "pause")) {
    notes.push(
      `--pause-leader: no leader settled ${options.pauseLeaderAfter} charges (--pause-leader-after), so none was paused`,
    );
  }
  if (options.pauseLeaderMs !== null && options.pauseLeaderMs <= options.leaseMs) {
    notes.push(
      `--pause-leader ${options.pauseLeaderMs} ms is not longer than the lease (${options.leaseMs} ms): the leader may keep its lease`,
    );
  }
  return notes;
}

/** What became of a paused leader: its writes after waking must all have been refused. */
function zombieOf(result: RunResult): ZombieSummary | null {
  const pause = result.chaos.find((c) => c.kind === "pause");
  if (!pause) return null;
  const timeline = result.cluster.timeline;
  const resumedAt = pause.resumedAt ?? null;
  const after = (at: number) => resumedAt !== null && at >= resumedAt;
  const shards = Object.keys(pause.holding).map(Number);
  const successorFences = timeline
    .leaseIntervals()
    .filter((i) => shards.includes(i.shard) && i.contender !== pause.contender && i.from > pause.at)
    .map((i) => i.fence);
  const fencedOut = timeline
    .eventsOf("fenced-out")
    .filter((e) => e.contender === pause.contender && after(e.at));
  const lost = timeline.eventsOf("lease-lost").filter((e) => e.contender === pause.contender && after(e.at));
  const charges = timeline.charges().filter((c) => c.contender === pause.contender && after(c.at));
  return {
    contender: pause.contender,
    pausedMs: resumedAt === null ? null : resumedAt - pause.at,
    fencesHeld: pause.holding,
    successorFences,
    fencedOutWrites: fencedOut.length,
    leaseLost: lost.map((e) => ({ shard: e.event.shard, fence: e.event.fence, during: e.event.during })),
    chargesLoggedAfterWaking: charges.length,
    // Woken past its lease, it must learn it lost the lease (a fenced write or a refused renewal).
    rejected: successorFences.length === 0 || fencedOut.length + lost.length > 0,
  };
}

// ---------------------------------------------------------------------------------------------------

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function money(byCurrency: Record<string, number>): string {
  const parts = Object.entries(byCurrency)
    .sort((a, b) => b[1] - a[1])
    .map(([c, v]) => (c === "jpy" ? `${v} ${c}` : `${(v / 100).toFixed(2)} ${c}`));
  return parts.length > 0 ? parts.join(", ") : "nothing";
}

function exitText(c: ContenderSummary): string {
  if (!c.exit) return "running";
  if (c.exit.signal) return `${c.exit.signal}${c.exit.timedOut ? " (timeout)" : ""}`;
  return `exit ${c.exit.code}`;
}

export function formatSummary(summary: LocalRunSummary, options: { color: boolean }): string {
  const paint = (code: number, t: string) => (options.color ? `\x1b[${code}m${t}\x1b[0m` : t);
  const c = summary.charges;
  const lines: string[] = [];
  lines.push("");
  lines.push(
    summary.ok
      ? paint(32, `PASS: every invariant holds (exit 0) in ${s(summary.durationMs)}`)
      : paint(31, `FAIL (exit ${summary.exitCode}) after ${s(summary.durationMs)}`),
  );
  lines.push("");
  const facts: [string, string][] = [
    [
      "subscriptions",
      `${summary.seeded.subscriptions} seeded: ${summary.seeded.due} due at ${summary.asOf} (${summary.seeded.duePeriods} periods), ` +
        `${summary.seeded.notDue} not yet due, ${summary.seeded.byCategory.invalid ?? 0} invalid`,
    ],
    [
      "charges",
      `succeeded ${c.succeeded} (${money(c.chargedByCurrency)}), declined ${c.declined}, needs action ${c.needs_customer_action}, ` +
        `quarantined ${c.quarantined}, in doubt ${c.in_doubt}, pending ${c.pending}; due left ${summary.dueLeft ?? "?"}`,
    ],
    [
      "stripe",
      `${summary.stripe.paymentIntents.total} PaymentIntents (${Object.entries(
        summary.stripe.paymentIntents.byStatus,
      )
        .map(([k, v]) => `${v} ${k}`)
        .join(", ")}); ${summary.stripe.requests.run} requests during the run` +
        (summary.stripe.requestsPerSettledCharge !== null
          ? ` (${summary.stripe.requestsPerSettledCharge} per settled charge)`
          : ""),
    ],
    [
      "rounds",
      `${summary.rounds} schedule tick(s), ${summary.contenders.length} invocation(s), ` +
        `${summary.continuationLinks.sent} of them continuation links` +
        (summary.continuationLinks.failed > 0 ? ` (${summary.continuationLinks.failed} failed to send)` : ""),
    ],
  ];
  for (const t of summary.takeovers) {
    facts.push([
      "takeover",
      `${t.to} took over shard ${t.shard} from ${t.from ?? "?"} at ${s(t.at)}: fence ${t.fromFence ?? "?"} → ${t.toFence}`,
    ]);
  }
  for (const k of summary.chaos) {
    facts.push([
      k.kind === "kill" ? "killed" : "paused",
      `${k.contender} at ${s(k.at)} after ${k.afterCharges} charges, holding fence ${Object.entries(k.holding)
        .map(([sh, f]) => `${f} (shard ${sh})`)
        .join(", ")}` + (k.resumedAt !== undefined ? `; resumed at ${s(k.resumedAt)}` : ""),
    ]);
  }
  if (summary.zombie) {
    const z = summary.zombie;
    facts.push([
      "zombie",
      `${z.contender} woke after ${z.pausedMs === null ? "?" : s(z.pausedMs)} still holding fence ${Object.values(z.fencesHeld).join(", ")} ` +
        `while fence ${z.successorFences.join(", ") || "?"} led: ${z.fencedOutWrites} write(s) refused by DynamoDB (stale fence), ` +
        `lease lost ${z.leaseLost.map((l) => `during ${l.during}`).join(", ") || "never reported"}; ` +
        `${z.rejected ? "its writes were rejected, as they must be" : "its writes were NOT rejected"}`,
    ]);
  }
  facts.push([
    "duration",
    `${s(summary.durationMs)}: infrastructure ${s(summary.phases.infrastructureMs)}, seeding ${s(summary.phases.seedMs)}, ` +
      `run ${s(summary.phases.runMs)}, checks ${s(summary.phases.checkMs)}`,
  ]);
  if (summary.report) facts.push(["report", summary.report]);
  lines.push(...columns(facts.map(([k, v]) => [k, v])).map((l) => `  ${l}`));
  lines.push("");
  const rows: string[][] = [
    [
      "contender",
      "round",
      "pid",
      "exit",
      "led (shard/fence → outcome)",
      "charges",
      "fenced out",
      "lease lost",
    ],
  ];
  for (const ct of summary.contenders) {
    const held = ledText(summary, ct);
    rows.push([
      ct.contender,
      String(ct.round),
      String(ct.pid),
      exitText(ct),
      held,
      String(ct.charges),
      String(ct.fencedOut),
      String(ct.leaseLost),
    ]);
  }
  lines.push(...columns(rows).map((l, i) => `  ${i === 0 ? paint(1, l) : l}`));
  lines.push("");
  lines.push("  invariants (dev/invariants.ts):");
  for (const check of summary.invariants.checks) {
    lines.push(`    ${check.ok ? paint(32, "✓") : paint(31, "✗")} ${check.id}. ${check.name}`);
  }
  for (const v of summary.invariants.violations.slice(0, 20)) lines.push(paint(31, `    ${v}`));
  if (summary.invariants.violations.length > 20)
    lines.push(`    ... ${summary.invariants.violations.length - 20} more`);
  for (const e of summary.errors) lines.push(paint(31, `  error: ${e}`));
  for (const n of summary.notes) lines.push(paint(33, `  note: ${n}`));
  lines.push("");
  return lines.join("\n");
}

export function reportInput(summary: LocalRunSummary, result: RunResult): ReportInput {
  const c = summary.charges;
  const facts: [string, string][] = [
    ["scheduled time (asOf)", summary.asOf],
    ["options", optionText(summary.options)],
    [
      "subscriptions",
      `${summary.seeded.subscriptions} seeded, ${summary.seeded.due} due (${summary.seeded.duePeriods} periods), ${summary.seeded.notDue} not yet due`,
    ],
    [
      "charges",
      `succeeded ${c.succeeded}, declined ${c.declined}, needs action ${c.needs_customer_action}, quarantined ${c.quarantined}, in doubt ${c.in_doubt}; due left ${summary.dueLeft ?? "?"}`,
    ],
    ["charged", money(c.chargedByCurrency)],
    [
      "stripe",
      `${summary.stripe.paymentIntents.total} PaymentIntents, ${summary.stripe.requests.run} requests during the run` +
        (summary.stripe.requestsPerSettledCharge !== null
          ? ` (${summary.stripe.requestsPerSettledCharge} per settled charge)`
          : ""),
    ],
    ["rounds", String(summary.rounds)],
    ["duration", s(summary.durationMs)],
  ];
  if (summary.zombie) {
    const z = summary.zombie;
    facts.push([
      "zombie",
      `${z.contender} (fence ${Object.values(z.fencesHeld).join(", ")}) woke while fence ${z.successorFences.join(", ") || "?"} led: ${z.fencedOutWrites} write(s) refused by DynamoDB, lease lost ${z.leaseLost.length} time(s); ${z.chargesLoggedAfterWaking} charge(s) logged on waking were settled before the takeover`,
    ]);
  }
  return {
    title: `lease-billing local run · ${summary.asOf}`,
    timeline: result.cluster.timeline,
    leaseMs: summary.options.leaseMs,
    verdict: {
      ok: summary.ok,
      headline: summary.ok
        ? "PASS: every invariant holds"
        : `FAIL: ${summary.invariants.violations.length} violation(s)`,
    },
    facts,
    violations: [...summary.invariants.violations, ...summary.errors],
    notes: summary.notes,
    tables: [
      {
        title: "Invariants",
        columns: ["", "invariant", "holds"],
        rows: summary.invariants.checks.map((ch) => [ch.id, ch.name, ch.ok ? "yes" : "NO"]),
      },
      {
        title: "Leases",
        columns: ["shard", "fence", "contender", "from", "to", "end", "took over from"],
        rows: summary.leases.map((l) => [
          l.shard,
          l.fence,
          l.contender,
          s(l.from),
          l.to === null ? "-" : s(l.to),
          l.end,
          l.tookOverFrom ?? "",
        ]),
      },
      {
        title: "Contenders",
        columns: ["contender", "round", "pid", "exit", "charges", "fenced out", "lease lost", "led"],
        rows: summary.contenders.map((ct) => [
          ct.contender,
          ct.round,
          ct.pid,
          exitText(ct),
          ct.charges,
          ct.fencedOut,
          ct.leaseLost,
          ledText(summary, ct),
        ]),
      },
      {
        title: "Chaos",
        columns: ["what", "contender", "at", "after charges", "fences held"],
        rows: summary.chaos.map((k) => [
          k.kind === "kill" ? "SIGKILL" : "SIGSTOP",
          k.contender,
          s(k.at),
          k.afterCharges,
          JSON.stringify(k.holding),
        ]),
      },
    ],
  };
}

/** What a contender led, from its "run finished" line, or from the timeline if it never got to say. */
function ledText(summary: LocalRunSummary, ct: ContenderSummary): string {
  const led = ct.led.map(
    (l) => `${l.shard}/${l.fence} → ${l.outcome}${l.leftDue ? ` (${l.leftDue} left)` : ""}`,
  );
  if (led.length > 0) return led.join(", ");
  const tenures = summary.leases.filter((l) => l.contender === ct.contender);
  if (tenures.length > 0) return tenures.map((l) => `${l.shard}/${l.fence} → ${l.end}`).join(", ");
  return ct.stoodBy.length > 0 ? "stood by" : "-";
}

function optionText(o: RunOptions): string {
  const parts = [
    `--subscriptions ${o.subscriptions}`,
    `--contenders ${o.contenders}`,
    `--shards ${o.shards}`,
    `--lease-ms ${o.leaseMs}`,
    `--stripe-latency-ms ${o.stripeLatencyMs}`,
    `--seed ${o.seed}`,
  ];
  if (o.stripeRateLimit !== null) parts.push(`--stripe-rate-limit ${o.stripeRateLimit}`);
  if (o.killLeaderAfter !== null) parts.push(`--kill-leader-after ${o.killLeaderAfter}`);
  if (o.pauseLeaderMs !== null) parts.push(`--pause-leader ${o.pauseLeaderMs}ms`);
  return parts.join(" ");
}
