/**
 * A contender in its own process, for the shard scenario (bench/scenarios/shards.ts): on each "run"
 * message it waits for the common start instant, runs one contender of the job until the deadline, and
 * reports its succeeded charges' timestamps and its own CPU time. Started with `node --import tsx`.
 */
import { runRequest, startContender } from "./contender";
import type { TableRef } from "./contender";
import { ItemOperationCounter } from "./item-operations";
import type { PacingStats } from "../functions/core/billing-run/budget-pacer";

export interface RunMessage {
  readonly type: "run";
  readonly tables: TableRef;
  readonly emulatorUrl: string;
  readonly shardCount: number;
  readonly index: number;
  readonly runId: string;
  readonly asOf: string;
  readonly startAt: number;
  /** When the measured window opens (epoch ms); it closes at the deadline. */
  readonly windowStart: number;
  readonly deadline: number;
  readonly concurrency: number;
  readonly pageSize: number;
  readonly accountRequestsPerSecond: number;
}

export interface DoneMessage {
  readonly type: "done";
  readonly index: number;
  readonly chargeTimes: number[];
  readonly otherOutcomes: number;
  readonly shardsLed: number[];
  /** Its shard had nothing left due before the deadline (it swept, or released complete): seed more. */
  readonly completeBeforeDeadline: boolean;
  /** DynamoDB items this contender's requests touched within the window (bench/item-operations.ts). */
  readonly itemOperationsInWindow: number;
  /** DynamoDB requests within the window, and the milliseconds they took, added up. */
  readonly dynamoRequestsInWindow: number;
  readonly dynamoRequestMsInWindow: number;
  /** What its pacer saw (its share of the account's budget): requests, 429s, leaders counted. */
  readonly pacing?: PacingStats;
  readonly error?: string;
}

const send = (message: unknown) => process.send?.(message);

async function run(message: RunMessage): Promise<DoneMessage> {
  await sleepUntil(message.startAt);
  const request = { ...runRequest("shards", message.asOf), runId: message.runId };
  const contender = startContender(message.tables, message.emulatorUrl, request, {
    accountRequestsPerSecond: message.accountRequestsPerSecond,
    settings: {
      shardCount: message.shardCount,
      concurrency: message.concurrency,
      pageSize: message.pageSize,
    },
    deadline: () => message.deadline,
    firstShard: message.index % message.shardCount,
    // Its shard has nothing left due: what the leader does from here (the sweep) is not billing.
    onSweep: () => (outOfWork ??= { at: Date.now(), items: items.snapshot() }),
  });
  let outOfWork: { at: number; items: ReturnType<ItemOperationCounter["snapshot"]> } | undefined;
  const items = new ItemOperationCounter().attach(contender.job.doc);
  let failure: string | undefined;
  contender.report.catch((error: unknown) => (failure = String(error)));
  await sleepUntil(message.windowStart);
  const atWindowStart = items.snapshot();
  await sleepUntil(message.deadline);
  // Billing only: up to the deadline, or to the start of the sweep if the leader ran out of work first
  // (its scan of every subscription and list of the job's PaymentIntents would count as the charges').
  const swept = outOfWork !== undefined && outOfWork.at < message.deadline ? outOfWork : undefined;
  const atEnd =
    swept === undefined ? items.snapshot() : swept.at < message.windowStart ? atWindowStart : swept.items;
  const itemOperationsInWindow = atEnd.total - atWindowStart.total;
  const dynamoRequestsInWindow = atEnd.requests - atWindowStart.requests;
  const dynamoRequestMsInWindow = atEnd.requestMs - atWindowStart.requestMs;
  // Counted up to the deadline; then the contender is abandoned rather than left to finish its renewals
  // in flight (its tables are thrown away), so the next configuration starts on an idle machine.
  contender.kill();
  const pacing = contender.job.pacer.takeStats();
  const before = contender.events.filter((e) => e.at < message.deadline);
  const charges = before.filter((e) => e.event.type === "charge");
  const succeeded = charges.filter((e) => e.event.type === "charge" && e.event.outcome === "succeeded");
  return {
    type: "done",
    index: message.index,
    chargeTimes: succeeded.map((e) => e.at),
    otherOutcomes: charges.length - succeeded.length,
    shardsLed: before.flatMap((e) => (e.event.type === "lease-acquired" ? [e.event.shard] : [])),
    completeBeforeDeadline:
      swept !== undefined ||
      before.some((e) => e.event.type === "lease-released" && e.event.outcome === "complete"),
    itemOperationsInWindow,
    dynamoRequestsInWindow,
    dynamoRequestMsInWindow,
    pacing,
    ...(failure !== undefined && { error: failure }),
  };
}

async function sleepUntil(at: number): Promise<void> {
  const wait = at - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

process.on("message", (message: RunMessage | { type: "exit" }) => {
  if (message.type === "exit") process.exit(0);
  run(message).then(send, (error: unknown) =>
    send({
      type: "done",
      index: message.index,
      chargeTimes: [],
      otherOutcomes: 0,
      shardsLed: [],
      completeBeforeDeadline: false,
      itemOperationsInWindow: 0,
      dynamoRequestsInWindow: 0,
      dynamoRequestMsInWindow: 0,
      error: String(error),
    }),
  );
});
// The parent's end is ours too: a lost IPC channel means exit, never an orphan.
process.on("disconnect", () => process.exit(0));
send({ type: "ready" });
