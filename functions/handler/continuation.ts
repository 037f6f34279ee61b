/**
 * The end of an invocation whose run is not finished: decide whether it continues at once (the core's
 * rules, functions/core/billing-run/continuation.ts), and if so send the next link, an asynchronous Invoke
 * of this same function, logged and counted. Sending can fail; that is logged and counted too, and never
 * fails the invocation, whose work is done: the next schedule tick is the fallback.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { MetricUnit, type Metrics } from "@aws-lambda-powertools/metrics";
import type { ContenderReport } from "../core/billing-run/contender";
import { decideContinuation, type ContinuationStop } from "../core/billing-run/continuation";
import type { ContinuationInvoker } from "../aws/lambda-invoker";
import { METRIC } from "../observability/metric-names";
import { continuationEvent, type BillingRequest } from "./billing-event";

/** What the invocation reports about its run's next link. */
export type ContinuationSummary =
  | { readonly sent: true; readonly link: number }
  | { readonly sent: false; readonly link: number; readonly error: string }
  | { readonly sent: false; readonly stopped: ContinuationStop };

export interface ContinuationContext {
  readonly runId: string;
  readonly request: BillingRequest;
  readonly report: ContenderReport;
  readonly maxLinks: number;
  /** This function, unqualified (what the schedule invokes). */
  readonly functionArn: string;
  readonly remainingMs: number;
  readonly invoker: ContinuationInvoker;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** The longest an Invoke may take: Lambda queues an async event and answers at once. */
const INVOKE_TIMEOUT_MS = 10_000;

export async function continueRun(c: ContinuationContext): Promise<ContinuationSummary> {
  const decision = decideContinuation(c.report, {
    link: c.request.continuation?.link ?? 0,
    maxLinks: c.maxLinks,
    ...(c.request.maxCharges !== undefined && { maxCharges: c.request.maxCharges }),
  });
  if (decision.kind === "stop") {
    // Work is left when a leader handed its shard back unfinished; then the next tick has it.
    if (decision.reason === "nothing left to continue") {
      c.logger.debug("run not continued", { reason: decision.reason });
    } else {
      c.logger.warn("run not continued: the next schedule tick goes on with it", { reason: decision.reason });
    }
    return { sent: false, stopped: decision.reason };
  }
  const event = continuationEvent(c.runId, c.request, decision.link, decision.maxCharges);
  // Bounded by what is left of this invocation, with a moment to log and return.
  const timeoutMs = Math.max(250, Math.min(INVOKE_TIMEOUT_MS, c.remainingMs - 500));
  const outcome = await c.invoker.invokeAsync(c.functionArn, event, timeoutMs);
  if (outcome.sent) {
    c.metrics.addMetric(METRIC.continuationLinksSent, MetricUnit.Count, 1);
    c.logger.info("continuation sent", { nextLink: decision.link, statusCode: outcome.statusCode });
    return { sent: true, link: decision.link };
  }
  c.metrics.addMetric(METRIC.continuationLinksFailed, MetricUnit.Count, 1);
  c.logger.error("continuation failed: the next schedule tick goes on with the run", {
    nextLink: decision.link,
    error: outcome.error,
  });
  return { sent: false, link: decision.link, error: outcome.error };
}
