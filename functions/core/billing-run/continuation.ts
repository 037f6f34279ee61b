/**
 * Whether an invocation hands its run on to a continuation link: another invocation of the same function,
 * started at once, rather than waiting for the next schedule tick. A big book then drains at the
 * provider's rate across invocations. Pure: the handler sends the link (functions/handler/continuation.ts).
 *
 * A link is only another contender for the same run: it races for the lease like any invocation and
 * bills as of min(its asOf, now). So a duplicated, late or stale link can do no harm; these rules only
 * keep the chain short. An invocation sends at most one link, and only when
 *  - a shard it led was handed back unfinished (released `partial`): stopped for its time budget, most
 *    often; or for its lease's safe time (renewals ran late) or with renewals left due (in doubt, rate
 *    limited). Not when it lost the lease (its successor goes on), not when a rerun's cap was reached;
 *  - it settled at least one renewal (a link that made no progress would likely be followed by another
 *    that makes none);
 *  - the run has links left (`maxLinks`), and a capped rerun has charges left.
 * A link usually goes early (`decideEarly`), when the leader stops claiming for its time budget rather
 * than when its invocation ends: the next link's start then overlaps this one's last seconds.
 */
import type { ContenderReport } from "./contender";
import type { ChargeOutcomeKind } from "./events";
import { MAX_CHARGES_STOP } from "./shard-leader";

/** Where an invocation stands in its run's chain: the scheduled or console invocation is link 0. */
export interface ChainPosition {
  readonly link: number;
  /** Continuation links allowed per run (RunSettings.maxContinuationLinks). */
  readonly maxLinks: number;
  /** A capped rerun's `maxCharges` for this link; the next link may claim what this one left. */
  readonly maxCharges?: number;
}

export type ContinuationStop =
  /** No shard it led was handed back unfinished: finished, lost to a successor, capped, or never led. */
  | "nothing left to continue"
  /** It led and handed back without settling a renewal: another link would likely do the same. */
  | "no progress"
  | "link limit reached"
  | "maxCharges reached";

export type ContinuationDecision =
  | { readonly kind: "continue"; readonly link: number; readonly maxCharges?: number }
  | { readonly kind: "stop"; readonly reason: ContinuationStop };

/** The outcomes that settle a renewal; in doubt and rate limited leave it due. */
const SETTLING: ReadonlySet<ChargeOutcomeKind> = new Set([
  "succeeded",
  "declined",
  "needs_customer_action",
  "quarantined",
] as const);

/** Whether a renewal's outcome settles it. */
export function settles(outcome: ChargeOutcomeKind): boolean {
  return SETTLING.has(outcome);
}

/** Renewals whose outcome was recorded (those left due: in doubt, rate limited, stopped, are not). */
export function settledRenewals(report: Pick<ContenderReport, "tally">): number {
  let settled = 0;
  for (const outcome of SETTLING) settled += report.tally[outcome];
  return settled;
}

/** At the end of an invocation: whether its run goes on in a next link. */
export function decideContinuation(
  report: Pick<ContenderReport, "led" | "tally" | "claimed">,
  position: ChainPosition,
): ContinuationDecision {
  const handedBack = report.led.some(
    (shard) => shard.outcome === "partial" && shard.stopReason !== MAX_CHARGES_STOP,
  );
  if (!handedBack) return { kind: "stop", reason: "nothing left to continue" };
  return decideLink({ settled: settledRenewals(report), claimed: report.claimed }, position);
}

/**
 * Early, the moment a leader stops claiming for its time budget (it will hand its shard back `partial`
 * once its renewals in flight settle): the next link starts then, its start-up and its wait for the lease
 * overlapping this invocation's last seconds instead of following them. Only a run without a cap goes
 * early (a capped rerun's claims are known at the end); `settled` counts this invocation's so far.
 */
export function decideEarly(settled: number, position: ChainPosition): ContinuationDecision | null {
  if (position.maxCharges !== undefined) return null;
  return decideLink({ settled, claimed: 0 }, position);
}

/** The rules every link obeys, early or at the end: progress made, links left, a cap's charges left. */
function decideLink(
  progress: { readonly settled: number; readonly claimed: number },
  position: ChainPosition,
): ContinuationDecision {
  if (progress.settled === 0) return { kind: "stop", reason: "no progress" };
  const link = position.link + 1;
  if (link > position.maxLinks) return { kind: "stop", reason: "link limit reached" };
  if (position.maxCharges === undefined) return { kind: "continue", link };
  const maxCharges = position.maxCharges - progress.claimed;
  if (maxCharges < 1) return { kind: "stop", reason: "maxCharges reached" };
  return { kind: "continue", link, maxCharges };
}
