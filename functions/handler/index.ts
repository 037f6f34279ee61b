/**
 * The Lambda entry point. A thin adapter: validate the event, then run one contender of the billing job
 * (take a shard's lease and bill, or stand by and take over) and report. See README "Reruns".
 */
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import { runContender, defaultShardOrder } from "../core/billing-run/contender";
import { dryRun } from "../core/billing-run/dry-run";
import { redactor, stripeApiKey } from "../aws/stripe-key";
import { InvalidEventError, parseBillingEvent, type BillingRequest } from "./billing-event";
import { createBillingJob, createGateway, leaderDeps, type BillingJob } from "./billing-job";
import { readConfig } from "./config";
import { createTelemetry, observer, recordRunEnd } from "./telemetry";

const { logger, metrics } = createTelemetry();

// Clients live across warm invocations; the configuration is read once per environment.
let job: BillingJob | undefined;

export async function handler(event: unknown, context: Context): Promise<unknown> {
  const startedAt = Date.now();
  job ??= createBillingJob(readConfig());
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
  const runId =
    request.kind === "scheduled"
      ? `scheduled:${request.asOf}`
      : `rerun:${request.asOf}:${context.awsRequestId.slice(0, 8)}`;
  logger.appendKeys({ runId, owner, asOf: request.asOf, kind: request.kind });
  const shards = request.shards ?? Array.from({ length: config.run.shardCount }, (_, i) => i);

  if (request.dryRun) {
    const report = await dryRun(job.store, job.store, shards, request.asOf, request.subscriptionIds);
    logger.info("dry run", { counts: report.counts });
    return { status: "dry-run", runId, ...report };
  }

  let redact = (text: string) => text;
  try {
    const apiKey = await stripeApiKey(config.stripe.key);
    redact = redactor(apiKey);
    const gateway = createGateway(config, apiKey);
    const deps = leaderDeps(job, gateway, observer(logger, metrics), () =>
      context.getRemainingTimeInMillis(),
    );
    const order = rotate(shards);
    const report = await runContender(deps, owner, runRequest(runId, request), order);
    recordRunEnd(logger, metrics, report, Date.now() - startedAt);
    return { status: "ok", ...report };
  } catch (error) {
    const message = redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    logger.error("run failed", { error: message });
    throw new Error(message);
  } finally {
    metrics.publishStoredMetrics();
  }
}

function runRequest(runId: string, request: BillingRequest) {
  return {
    runId,
    asOf: request.asOf,
    ...(request.subscriptionIds && { subscriptionIds: request.subscriptionIds }),
    ...(request.maxCharges !== undefined && { maxCharges: request.maxCharges }),
  };
}

/** Contenders start at different shards so that, with several shards, several lead at once. */
function rotate(shards: readonly number[]): number[] {
  const order = defaultShardOrder(shards.length);
  return order.map((i) => shards[i]!);
}
