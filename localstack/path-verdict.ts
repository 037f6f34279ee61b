/**
 * What a run of the billing path (billing-path.ts) means: the problems that fail it, and the summary
 * localstack/fire.sh prints. Apart from the run so that both can be checked on made-up reports.
 */
import type { PathReport } from "./billing-path";

/**
 * Everything that fails the run: a contender that failed or did not finish its run, a violated invariant,
 * a stray PaymentIntent, and fewer or more successful charges than seeded subscriptions (every seeded card
 * succeeds, so each must be charged once, in this one firing).
 */
export function problems(report: PathReport): string[] {
  const found: string[] = [];
  for (const i of report.invocations) {
    if (!i.ok) found.push(`${i.contender} failed: ${i.error}`);
    else if (i.result.status !== "ok") found.push(`${i.contender} ended with status "${i.result.status}"`);
  }
  found.push(...report.invariants.violations, ...report.strays);
  const { subscriptions } = report.options;
  const charged = report.invariants.counts.providerSucceeded;
  if (charged !== subscriptions) {
    found.push(
      `${charged} successful charges at the provider for ${subscriptions} subscriptions due ` +
        "(every seeded card succeeds: each should be charged once)",
    );
  }
  return found;
}

/** Which contenders led each shard, in order; without faults, exactly one per shard. */
export function leadersByShard(report: PathReport): Map<number, string[]> {
  const leaders = new Map<number, string[]>();
  for (const i of report.invocations) {
    if (!i.ok) continue;
    for (const { shard } of i.result.led) leaders.set(shard, [...(leaders.get(shard) ?? []), i.contender]);
  }
  return new Map([...leaders].sort(([a], [b]) => a - b));
}

export function summaryLines(report: PathReport): string[] {
  const { options, invocations, invariants } = report;
  const found = problems(report);
  const contenders = invocations.map((i) => {
    if (!i.ok) return `${i.contender} failed`;
    const led = i.result.led.map((s) => `led shard ${s.shard} (fence ${s.fence}, ${s.outcome})`);
    return `${i.contender} ${led.length > 0 ? led.join(", ") : "stood by"}`;
  });
  const states = Object.entries(invariants.counts.byState)
    .map(([state, n]) => `${n} ${state}`)
    .join(", ");
  return [
    `${options.contenders} contenders fired at once for ${options.asOf}: ${contenders.join("; ")}`,
    `ledger: ${invariants.counts.chargeRecords} charge records (${states || "none"}) for ` +
      `${invariants.counts.subscriptions} subscriptions seeded as ${options.prefix}_*`,
    `provider: ${invariants.counts.providerSucceeded} successful charges, ${report.paymentIntents} PaymentIntents in all`,
    "checked: invariants 1 (one charge per period), 2 (nothing due left), 3 (fences), 5 (ledger = provider), " +
      "7 (no stray PaymentIntents), and one successful charge per subscription",
    found.length === 0 ? "PASS" : `FAIL (${found.length}):`,
    ...found.map((p) => `  - ${p}`),
  ];
}
