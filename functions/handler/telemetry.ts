/**
 * Turns run events into structured logs (Powertools Logger) and EMF metrics (Powertools Metrics).
 * Metric names come from functions/observability/metric-names.ts, which the stack's alarms also use.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { RunEvent, RunObserver } from "../core/billing-run/events";
import type { ContenderReport } from "../core/billing-run/contender";
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from "../observability/metric-names";

export function createTelemetry(): { logger: Logger; metrics: Metrics } {
  return {
    logger: new Logger({ serviceName: SERVICE_NAME }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME }),
  };
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
        logger.info(event.tookOverFrom ? "took over the lease" : "acquired the lease", { ...event });
        return;
      case "lease-lost":
        metrics.addMetric(METRIC.leaseLost, MetricUnit.Count, 1);
        logger.warn("lost the lease", { ...event });
        return;
      case "fenced-out":
        logger.warn("a write was fenced out: another contender holds the lease", { ...event });
        return;
      case "lease-renewed":
        logger.debug("renewed the lease", { ...event });
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
