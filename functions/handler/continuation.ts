/**
 * An invocation whose run is not finished hands it on: decide whether it continues at once (the core's
 * rules, functions/core/billing-run/continuation.ts), and if so send the next link, an asynchronous Invoke
 * of this same function, logged and counted. The link goes early when it can, as soon as a leader stops
 * claiming for its time budget (EarlyContinuation); otherwise at the invocation's end (continueRun).
 * Sending can fail; that is logged and counted too, and never fails the invocation, whose work is done:
 * the next schedule tick is the fallback.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { MetricUnit, type Metrics } from "@aws-lambda-powertools/metrics";
import type { ContenderReport } from "../core/billing-run/contender";
import {
  decideContinuation,
  decideEarly,
  settles,
  type ChainPosition,
  type ContinuationStop,
} from "../core/billing-run/continuation";
import type { RunObserver } from "../core/billing-run/events";
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
  readonly maxLinks: number;
  /** This function, unqualified (what the schedule invokes). */
  readonly functionArn: string;
  readonly remainingMs: () => number;
  readonly invoker: ContinuationInvoker;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** The longest an Invoke may take: Lambda queues an async event and answers at once. */
const INVOKE_TIMEOUT_MS = 10_000;

/**
 * Sends the next link early, the moment a leader of this invocation stops claiming for its time budget
 * (decideEarly). Watches the run's events for that moment and for the renewals settled before it; the
 * invocation's end asks `attempted()` first and decides there (continueRun) only if nothing was sent.
 */
export class EarlyContinuation {
  private settled = 0;
  private sending: Promise<ContinuationSummary> | null = null;

  constructor(private readonly c: ContinuationContext) {}

  /** `observe`, with this watching every event it is given. */
  watch(observe: RunObserver): RunObserver {
    return (event) => {
      observe(event);
      if (event.type === "charge" && settles(event.outcome)) this.settled += 1;
      if (event.type === "budget-exhausted" && this.sending === null) this.decide();
    };
  }

  /** What became of the early link, once its Invoke has answered; undefined if none was tried. */
  async attempted(): Promise<ContinuationSummary | undefined> {
    return (await this.sending) ?? undefined;
  }

  private decide(): void {
    const decision = decideEarly(this.settled, position(this.c));
    // Not now (no progress yet, links used up, a capped rerun): the end of the invocation decides.
    if (decision?.kind !== "continue") return;
    this.sending = send(this.c, decision, true);
  }
}

/** At the end of an invocation that sent no link early: whether its run goes on, and the link if so. */
export async function continueRun(
  c: ContinuationContext,
  report: ContenderReport,
): Promise<ContinuationSummary> {
  const decision = decideContinuation(report, position(c));
  if (decision.kind === "continue") return send(c, decision, false);
  // Work is left when a leader handed its shard back unfinished; then the next tick has it.
  if (decision.reason === "nothing left to continue") {
    c.logger.debug("run not continued", { reason: decision.reason });
  } else {
    c.logger.warn("run not continued: the next schedule tick goes on with it", { reason: decision.reason });
  }
  return { sent: false, stopped: decision.reason };
}

function position(c: ContinuationContext): ChainPosition {
  return {
    link: c.request.continuation?.link ?? 0,
    maxLinks: c.maxLinks,
    ...(c.request.maxCharges !== undefined && { maxCharges: c.request.maxCharges }),
  };
}

/** Invokes the next link, logged and counted; a failure is reported, never thrown. */
async function send(
  c: ContinuationContext,
  decision: { readonly link: number; readonly maxCharges?: number },
  early: boolean,
): Promise<ContinuationSummary> {
  const event = continuationEvent(c.runId, c.request, decision.link, decision.maxCharges);
  // Bounded by what is left of this invocation, with a moment to log and return.
  const timeoutMs = Math.max(250, Math.min(INVOKE_TIMEOUT_MS, c.remainingMs() - 500));
  const outcome = await c.invoker.invokeAsync(c.functionArn, event, timeoutMs);
  if (outcome.sent) {
    c.metrics.addMetric(METRIC.continuationLinksSent, MetricUnit.Count, 1);
    c.logger.info("continuation sent", { nextLink: decision.link, early, statusCode: outcome.statusCode });
    return { sent: true, link: decision.link };
  }
  c.metrics.addMetric(METRIC.continuationLinksFailed, MetricUnit.Count, 1);
  c.logger.error("continuation failed: the next schedule tick goes on with the run", {
    nextLink: decision.link,
    early,
    error: outcome.error,
  });
  return { sent: false, link: decision.link, error: outcome.error };
}
