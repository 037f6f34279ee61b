/**
 * A contender in its own process, for the shard scenario (bench/scenarios/shards.ts): on each "run"
 * message it waits for the common start instant, runs one contender of the job until the deadline, and
 * reports its succeeded charges' timestamps and its own CPU time. Started with `node --import tsx`.
 */
import { runRequest, startContender } from "./contender";
import type { TableRef } from "./contender";

export interface RunMessage {
  readonly type: "run";
  readonly tables: TableRef;
  readonly emulatorUrl: string;
  readonly shardCount: number;
  readonly index: number;
  readonly runId: string;
  readonly asOf: string;
  readonly startAt: number;
  readonly deadline: number;
  readonly concurrency: number;
  readonly pageSize: number;
  readonly maxRequestsPerSecond: number;
}

export interface DoneMessage {
  readonly type: "done";
  readonly index: number;
  readonly chargeTimes: number[];
  readonly otherOutcomes: number;
  readonly shardsLed: number[];
  readonly completeBeforeDeadline: boolean;
  readonly error?: string;
}

const send = (message: unknown) => process.send?.(message);

async function run(message: RunMessage): Promise<DoneMessage> {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, message.startAt - Date.now())));
  const request = { ...runRequest("shards", message.asOf), runId: message.runId };
  const contender = startContender(message.tables, message.emulatorUrl, request, {
    maxRequestsPerSecond: message.maxRequestsPerSecond,
    settings: {
      shardCount: message.shardCount,
      concurrency: message.concurrency,
      pageSize: message.pageSize,
    },
    deadline: () => message.deadline,
    firstShard: message.index % message.shardCount,
  });
  try {
    const report = await contender.report;
    const charges = contender.events.filter((e) => e.event.type === "charge");
    const succeeded = charges.filter((e) => e.event.type === "charge" && e.event.outcome === "succeeded");
    return {
      type: "done",
      index: message.index,
      chargeTimes: succeeded.map((e) => e.at),
      otherOutcomes: charges.length - succeeded.length,
      shardsLed: report.led.map((r) => r.shard),
      completeBeforeDeadline: contender.events.some(
        (e) => e.event.type === "lease-released" && e.event.outcome === "complete" && e.at < message.deadline,
      ),
    };
  } finally {
    contender.job.doc.destroy();
  }
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
      error: String(error),
    }),
  );
});
// The parent's end is ours too: a lost IPC channel means exit, never an orphan.
process.on("disconnect", () => process.exit(0));
send({ type: "ready" });
