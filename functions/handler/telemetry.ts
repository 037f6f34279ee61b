/**
 * Turns run events into structured logs (Powertools Logger) and EMF metrics (Powertools Metrics).
 * Metric names come from functions/observability/metric-names.ts, which the stack's alarms also use.
 * Every log line is scrubbed of Stripe secret keys on its way out (functions/core/secrets.ts).
 */
import { Logger } from "@aws-lambda-powertools/logger";
import type { CustomJsonReplacerFn } from "@aws-lambda-powertools/logger/types";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { redactSecrets } from "../core/secrets";
import type { RunEvent, RunObserver } from "../core/billing-run/events";
import type { ContenderReport } from "../core/billing-run/contender";
import type { Backlog } from "../core/billing-run/backlog";
import type { PacingStats } from "../core/billing-run/budget-pacer";
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from "../observability/metric-names";

/** `knownSecrets`: the keys in use, redacted whatever their shape (Stripe-shaped keys always are). */
export function createTelemetry(knownSecrets: () => readonly string[] = () => []): {
  logger: Logger;
  metrics: Metrics;
} {
  return {
    logger: new Logger({ serviceName: SERVICE_NAME, jsonReplacerFn: secretScrubber(knownSecrets) }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME }),
  };
}

/**
 * The logger's JSON replacer (its documented serialization hook): it sees every value of every line,
 * the message and the fields of formatted errors included, so no log line can carry a key. Object keys
 * are scrubbed too, since a replacer cannot rename them in place.
 */
export function secretScrubber(knownSecrets: () => readonly string[]): CustomJsonReplacerFn {
  return (_key, value) => {
    if (typeof value === "string") return redactSecrets(value, knownSecrets());
    if (!isPlainObject(value)) return value;
    const known = knownSecrets();
    const keys = Object.keys(value);
    if (keys.every((k) => redactSecrets(k, known) === k)) return value;
    return Object.fromEntries(keys.map((k) => [redactSecrets(k, known), value[k]]));
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

const OUTCOME_METRIC = {
  succeeded: METRIC.chargesSucceeded,
  declined: METRIC.chargesDeclined,
  needs_customer_action: METRIC.chargesNeedingAction,
  in_doubt: METRIC.chargesInDoubt,
  quarantined: METRIC.chargesQuarantined,
} as const;

export function observer(logger: Logger, metrics: Metrics): RunObserver {
  return (event: RunEvent) => {
    switch (event.type) {
      case "charge":
        if (event.outcome !== "rate_limited")
          metrics.addMetric(OUTCOME_METRIC[event.outcome], MetricUnit.Count, 1);
        if (event.outcome === "succeeded") {
          const single = metrics.singleMetric();
          single.addDimension("currency", event.currency);
          single.addMetric(METRIC.amountCharged, MetricUnit.Count, event.amount);
        }
        // Routine outcomes at debug; anything a person may need to look at at info or above.
        if (event.outcome === "succeeded") logger.debug("charge settled", { ...event });
        else if (event.outcome === "in_doubt" || event.outcome === "quarantined")
          logger.warn("charge needs attention", { ...event });
        else logger.info("charge settled", { ...event });
        return;
      case "lease-acquired":
        metrics.addMetric(METRIC.leaseAcquired, MetricUnit.Count, 1);
        if (event.tookOverFrom) metrics.addMetric(METRIC.leaseTakeovers, MetricUnit.Count, 1);
        logger.info(event.tookOverFrom ? "took over the lease" : "acquired the lease", { ...event });
        return;
      case "lease-lost":
        metrics.addMetric(METRIC.leaseLost, MetricUnit.Count, 1);
        logger.warn("lost the lease", { ...event });
        return;
      case "fenced-out":
        logger.warn("a write was fenced out: another contender holds the lease", { ...event });
        return;
      case "send-held-back":
        logger.warn("a request was held back: the lease is short of safe time", { ...event });
        return;
      case "lease-renewed":
        logger.debug("renewed the lease", { ...event });
        return;
      case "sweep":
        // Emitted on every sweep, zero included, so the alarm sees data rather than missing data.
        metrics.addMetric(METRIC.unreachableSubscriptions, MetricUnit.Count, event.unreachable);
        metrics.addMetric(
          METRIC.strayPaymentIntentsCanceled,
          MetricUnit.Count,
          event.strayPaymentIntentsCanceled,
        );
        if (event.unreachable > 0 || event.strayPaymentIntentsCanceled > 0)
          logger.warn("sweep", { ...event });
        else logger.info("sweep", { ...event });
        return;
      default:
        logger.info(event.type, { ...event });
    }
  };
}

export function recordRunEnd(
  logger: Logger,
  metrics: Metrics,
  report: ContenderReport,
  durationMs: number,
): void {
  metrics.addMetric(METRIC.runDuration, MetricUnit.Milliseconds, durationMs);
  const leftDue = report.led.reduce((sum, shard) => sum + shard.leftDue, 0);
  if (report.led.length > 0) metrics.addMetric(METRIC.subscriptionsLeftDue, MetricUnit.Count, leftDue);
  const completed = report.led.filter((shard) => shard.outcome === "complete").length;
  if (completed > 0) metrics.addMetric(METRIC.runCompleted, MetricUnit.Count, completed);
  logger.info("run finished", {
    runId: report.runId,
    asOf: report.asOf,
    led: report.led.map((s) => ({
      shard: s.shard,
      fence: s.fence,
      outcome: s.outcome,
      stopReason: s.stopReason,
      leftDue: s.leftDue,
    })),
    stoodBy: report.stoodBy,
    counts: report.tally,
    charged: report.charged,
    durationMs,
  });
}

/**
 * The invocation's Stripe requests against the account's budget (the dashboard divides their sum by the
 * period for requests per second), its 429s, and the most leaders it counted.
 */
export function recordPacing(logger: Logger, metrics: Metrics, stats: PacingStats): void {
  if (stats.requests === 0 && stats.counts === 0) return;
  metrics.addMetric(METRIC.stripeRequests, MetricUnit.Count, stats.requests);
  metrics.addMetric(METRIC.stripeRateLimited, MetricUnit.Count, stats.rateLimited);
  if (stats.mostLeaders > 0) metrics.addMetric(METRIC.leadersActive, MetricUnit.Count, stats.mostLeaders);
  const log = stats.rateLimited > 0 || stats.countFailures > 0 ? logger.warn : logger.info;
  log.call(logger, "stripe pacing", { ...stats });
}

/** The backlog after a run that led a shard: zero included, so the alarm sees a drained book as data. */
export function recordBacklog(logger: Logger, metrics: Metrics, backlog: Backlog): void {
  metrics.addMetric(METRIC.dueBacklog, MetricUnit.Count, backlog.due);
  metrics.addMetric(METRIC.oldestDueAge, MetricUnit.Seconds, Math.round(backlog.oldestAgeMs / 1000));
  logger.info("backlog", { ...backlog });
}
