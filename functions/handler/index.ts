/**
 * The Lambda entry point. A thin adapter: validate the event, then run one contender of the billing job
 * (take a shard's lease and bill, or stand by and take over) and report. See README "Reruns".
 */
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import { rotate, runContender } from "../core/billing-run/contender";
import type { RunRequest } from "../core/billing-run/shard-leader";
import { dryRun } from "../core/billing-run/dry-run";
import { billableShards } from "../core/lease/lease";
import { refreshStripeApiKey, stripeApiKey } from "../aws/stripe-key";
import { redactSecrets } from "../core/secrets";
import { InvalidEventError, parseBillingEvent, type BillingRequest } from "./billing-event";
import { createBillingJob, createGateway, leaderDeps, type BillingJob } from "./billing-job";
import { continueRun, EarlyContinuation } from "./continuation";
import { LambdaInvoker, unqualifiedArn } from "../aws/lambda-invoker";
import { checkTimeBudget, readConfig } from "./config";
import { InvalidInputError } from "../core/input-error";
import { createTelemetry, observer, recordBacklog, recordPacing, recordRunEnd } from "./telemetry";
import { measureBacklog } from "../core/billing-run/backlog";
import { warmStackTraces } from "./warm-up";

warmStackTraces();

// Every Stripe key this environment has read: no log line or error names one.
const keysRead = new Set<string>();
const { logger, metrics } = createTelemetry(() => [...keysRead]);

// Clients live across warm invocations; the configuration is read once per environment.
let job: BillingJob | undefined;
let invoker: LambdaInvoker | undefined;

export async function handler(event: unknown, context: Context): Promise<unknown> {
  const startedAt = Date.now();
  // Keys appended for the previous invocation (runId, owner, asOf) must not label this one's lines.
  logger.resetKeys();
  job = checkedJob(context);
  const { config } = job;
  let request: BillingRequest;
  try {
    request = parseBillingEvent(event, startedAt, config.run.shardCount);
  } catch (error) {
    // Refused before any lease or charge; the message names each bad field.
    if (error instanceof InvalidEventError) logger.error("event refused", { problems: error.problems });
    throw error;
  }
  // A retried async invocation keeps its request id; the suffix keeps owners unique anyway.
  const owner = `${context.awsRequestId}/${randomUUID().slice(0, 8)}`;
  // A continuation link goes on with its run: same id; the link number tells the chain's invocations apart.
  const runId =
    request.continuation?.runId ??
    (request.kind === "scheduled"
      ? `scheduled:${request.firedAt ?? request.asOf}`
      : `rerun:${request.asOf}:${context.awsRequestId.slice(0, 8)}`);
  const link = request.continuation?.link ?? 0;
  logger.appendKeys({ runId, link, owner, asOf: request.asOf, kind: request.kind });
  // Shards that once had a lease stay billed after SHARD_COUNT is lowered: nothing is stranded.
  const billable = billableShards(config.run.shardCount, await job.lease.listLeaseKeys());
  const shards = request.shards ?? billable;

  if (request.dryRun) {
    const report = await dryRun(job.store, job.store, shards, request.asOf, {
      ...(!request.shards && { billableShards: billable }),
      ...(request.subscriptionIds && { subscriptionIds: request.subscriptionIds }),
      maxPeriods: config.run.maxPeriodsPerSubscription,
    });
    logger.info("dry run", { counts: report.counts });
    return { status: "dry-run", runId, ...report };
  }

  try {
    const apiKey = remembered(await stripeApiKey(config.stripe.key));
    const gateway = createGateway(config, apiKey, job.clock, {
      refreshApiKey: async () => remembered(await refreshStripeApiKey(config.stripe.key)),
      pacer: job.pacer,
    });
    const chain = {
      runId,
      request,
      maxLinks: config.run.maxContinuationLinks,
      functionArn: unqualifiedArn(context.invokedFunctionArn),
      remainingMs: () => context.getRemainingTimeInMillis(),
      invoker: (invoker ??= new LambdaInvoker(config.lambdaEndpoint)),
      logger,
      metrics,
    };
    const early = new EarlyContinuation(chain);
    const observe = early.watch(observer(logger, metrics));
    const deps = { ...leaderDeps(job, gateway, observe, chain.remainingMs), billableShards: billable };
    const report = await runContender(deps, owner, runRequest(runId, request, link, shards), rotate(shards));
    recordRunEnd(logger, metrics, report, Date.now() - startedAt);
    // Before the backlog is measured: the next link starts while this invocation finishes its reports.
    const continuation = (await early.attempted()) ?? (await continueRun(chain, report));
    if (report.led.length > 0) await recordBacklogOf(job, billable, context.getRemainingTimeInMillis());
    return { status: "ok", ...report, continuation };
  } catch (error) {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const message = redactSecrets(text, [...keysRead]);
    logger.error("run failed", { error: message });
    throw new Error(message);
  } finally {
    recordPacing(logger, metrics, job.pacer.takeStats());
    metrics.publishStoredMetrics();
  }
}

/**
 * Measuring the backlog takes a few queries per shard: never with so little time left that it could carry
 * the invocation past its timeout (Lambda would count that as an error).
 */
const BACKLOG_MIN_REMAINING_MS = 5_000;

/** What is still due after a run that led a shard. Only observed: a failure to measure fails nothing. */
async function recordBacklogOf(
  job: BillingJob,
  shards: readonly number[],
  remainingMs: number,
): Promise<void> {
  if (remainingMs < BACKLOG_MIN_REMAINING_MS) {
    logger.warn("backlog not measured", { error: `only ${remainingMs} ms left of the invocation` });
    return;
  }
  try {
    recordBacklog(logger, metrics, await measureBacklog(job.store, shards, job.clock.now()));
  } catch (error) {
    logger.warn("backlog not measured", { error: error instanceof Error ? error.message : String(error) });
  }
}

function remembered(key: string): string {
  keysRead.add(key);
  return key;
}

function runRequest(
  runId: string,
  request: BillingRequest,
  link: number,
  shards: readonly number[],
): RunRequest {
  const targeted = request.subscriptionIds !== undefined || request.maxCharges !== undefined;
  return {
    runId,
    asOf: request.asOf,
    ...(request.subscriptionIds && { subscriptionIds: request.subscriptionIds }),
    ...(request.maxCharges !== undefined && { maxCharges: request.maxCharges }),
    // The run's first invocation staggers its leaders' stops; its links keep the spacing (stagger.ts).
    ...(link === 0 && !targeted && { staggerAmong: shards }),
  };
}

/**
 * This environment's job, its settings checked against this invocation's time budget: settings that can
 * never bill are refused before any lease or write, naming the variable.
 */
function checkedJob(context: Context): BillingJob {
  try {
    job ??= createBillingJob(readConfig());
    checkTimeBudget(job.config.run, context.getRemainingTimeInMillis());
    return job;
  } catch (error) {
    if (error instanceof InvalidInputError) logger.error("settings refused", { error: error.message });
    throw error;
  }
}
