/**
 * One invocation of the billing job: a contender. For each shard it either takes the lease and leads, or
 * stands by: it polls the lease (DynamoDB has no watch) and takes over when the holder's lease expires,
 * or leaves when the holder released a finished run that covers its own. It gives up when its own time
 * budget runs low.
 */
import { MAX_CLOCK_SKEW_MS } from "../clock";
import { InvalidInputError } from "../input-error";
import type { LeaseSnapshot } from "../lease/lease";
import { billableShards, shardLeaseKey } from "../lease/lease";
import {
  ClaimCounter,
  emptyTally,
  leadShard,
  TIME_BUDGET_STOP,
  type LeaderDeps,
  type RunRequest,
  type ShardReport,
  type Tally,
} from "./shard-leader";

export interface ContenderReport {
  readonly owner: string;
  readonly runId: string;
  readonly asOf: string;
  readonly led: readonly ShardReport[];
  /** Shards this contender left to others: finished by them, or still held when its budget ran out. */
  readonly stoodBy: readonly { shard: number; reason: string }[];
  readonly tally: Tally;
  readonly charged: Record<string, number>;
  /** Renewals claimed over every shard it led (a rerun's `maxCharges` counts these). */
  readonly claimed: number;
}

/**
 * One contender's run over `shardOrder` (by default every billable shard, starting at a random one).
 * Billable shards are 0..SHARD_COUNT-1 and every shard that ever had a lease, so lowering SHARD_COUNT
 * strands nothing (lease.ts billableShards).
 */
export async function runContender(
  given: LeaderDeps,
  owner: string,
  request: RunRequest,
  shardOrder?: readonly number[],
): Promise<ContenderReport> {
  const billable =
    given.billableShards ?? billableShards(given.settings.shardCount, await given.lease.listLeaseKeys());
  const deps: LeaderDeps = { ...given, billableShards: billable };
  const order = shardOrder ?? rotate(billable);
  const { clock, observe, settings } = deps;
  // The handler refuses such events; this holds whatever calls the core: nothing is billed ahead of time.
  if (!(Date.parse(request.asOf) <= clock.now() + MAX_CLOCK_SKEW_MS)) {
    throw new InvalidInputError("asOf", `${request.asOf} is later than now: a run never bills ahead of time`);
  }
  const open = new Set(order);
  const led: ShardReport[] = [];
  const stoodBy: { shard: number; reason: string }[] = [];
  const claimed = new ClaimCounter(request.maxCharges);
  /** Ends this contender's run, leaving every shard still open to others for `reason`. */
  const leave = (reason: string): ContenderReport => {
    for (const s of open) stoodBy.push({ shard: s, reason });
    return summarize(owner, request, led, stoodBy, claimed.count);
  };

  while (open.size > 0) {
    for (const shard of order) {
      if (!open.has(shard)) continue;
      if (deps.remainingMs() < settings.stopClaimingMarginMs)
        return leave("time budget ran out while standing by");
      const leaseKey = shardLeaseKey(shard);
      // A free lease whose last run finished everything due at our asOf is not taken: nothing to do.
      const result = await deps.lease.acquire(leaseKey, owner, (free) => finishedRun(free, request.asOf));
      if (result.kind === "not-needed") {
        observe({ type: "standby-exit", shard, reason: result.reason });
        stoodBy.push({ shard, reason: result.reason });
        open.delete(shard);
        continue;
      }
      if (result.kind === "held") {
        observe({
          type: "lease-held-by-other",
          shard,
          holder: result.holder.owner,
          fence: result.holder.fence,
          expiresAt: result.holder.expiresAt,
        });
        continue;
      }
      observe({
        type: "lease-acquired",
        shard,
        fence: result.lease.fence,
        tookOverFrom: expiredHolder(result.previous, owner),
      });
      const report = await leadShard(deps, shard, result.lease, request, claimed, result.previous);
      led.push(report);
      // Led to the end, or stopped for its own reasons: either way this contender is done with the shard.
      // Lost it to a successor: the successor finishes; this one (maybe a woken zombie) stops too.
      open.delete(shard);
      // Stopped for its time budget, maybe early to stagger the hand-overs (stagger.ts): its continuation
      // link goes on with the shard, and this contender takes no other lease, whatever time it has left.
      if (report.stopReason === TIME_BUDGET_STOP) return leave("time budget spent on another shard");
    }
    if (open.size > 0) await clock.sleep(settings.standbyPollMs);
  }
  return summarize(owner, request, led, stoodBy, claimed.count);
}

/**
 * Why a standby may leave: the lease is free and its last run finished everything due at `asOf`. A last
 * run counts only for instants it really covered: one whose `asOf` was later than its own finish (a bad
 * event stored before such events were refused) covered nothing, so it can never stop billing.
 */
function finishedRun(free: LeaseSnapshot, asOf: string): string | null {
  // Asked only of a lease the client judged free (released, or its holder gone): no clock to compare.
  const last = free.lease?.lastRun;
  if (last && last.outcome === "complete" && last.asOf >= asOf && Date.parse(last.asOf) <= last.finishedAt) {
    return `run ${last.runId} finished everything due at ${last.asOf}`;
  }
  return null;
}

/**
 * The holder this acquisition took over from: one still named on the lease record when we looked. The
 * write succeeded only because that holder was judged gone (a holder that released in between leaves no
 * name on the record, and is not a takeover).
 */
function expiredHolder(snapshot: LeaseSnapshot, owner: string): string | null {
  const lease = snapshot.lease;
  if (!lease || lease.owner === null || lease.owner === owner) return null;
  return lease.owner;
}

/** `shards`, starting at a random one: contenders start apart, so several leaders work at once. */
export function rotate(shards: readonly number[]): number[] {
  return defaultShardOrder(shards.length).map((i) => shards[i]!);
}

/** Contenders start at different shards, so with several shards several leaders work at once. */
export function defaultShardOrder(
  shardCount: number,
  start = Math.floor(Math.random() * shardCount),
): number[] {
  return Array.from({ length: shardCount }, (_, i) => (start + i) % shardCount);
}

function summarize(
  owner: string,
  request: RunRequest,
  led: ShardReport[],
  stoodBy: { shard: number; reason: string }[],
  claimed: number,
): ContenderReport {
  const tally = emptyTally();
  const charged: Record<string, number> = {};
  for (const report of led) {
    for (const [k, v] of Object.entries(report.tally)) tally[k as keyof Tally] += v;
    for (const [c, v] of Object.entries(report.charged)) charged[c] = (charged[c] ?? 0) + v;
  }
  return { owner, runId: request.runId, asOf: request.asOf, led, stoodBy, tally, charged, claimed };
}
