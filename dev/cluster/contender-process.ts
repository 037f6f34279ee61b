/**
 * One invocation of the real Lambda handler, as its own process: what the runner and the chaos suite
 * spawn (`node --import tsx dev/cluster/contender-process.ts`) once per EventBridge target.
 *
 * Input (environment): the function's own variables (DYNAMODB_ENDPOINT, table names, STRIPE_*, lease
 * timings, LOG_LEVEL, ...), plus
 *   CONTENDER_EVENT       the event, as JSON (an EventBridge scheduled event, say)
 *   CONTENDER_REQUEST_ID  the invocation's awsRequestId
 *   CONTENDER_BUDGET_MS   the invocation's time budget; getRemainingTimeInMillis counts down from it once
 *                         the handler's module is loaded: Lambda's timeout limits the Invoke phase, not the
 *                         Init phase before it (runtime start-up and the module's own code)
 *   CLOCK_OFFSET_MS       skews this process's wall clock (Date.now) by that much, for chaos
 *
 * Output (stdout): the handler's JSON log lines, then one `{"__contender":"result"|"error",...}` line.
 * Lambda sends a function's stdout and stderr to one log stream; so does this process, so that the
 * Logger's warnings (written to stderr) stay in order with the rest.
 *
 * Production code is untouched: the clock skew wraps Date.now before the handler is imported.
 */
import { randomUUID } from "node:crypto";
import { localLambdaContext } from "../lambda-context";

const offsetMs = Number(process.env.CLOCK_OFFSET_MS ?? "0");
if (!Number.isFinite(offsetMs)) {
  process.stderr.write(
    `CLOCK_OFFSET_MS must be a number of milliseconds, got "${process.env.CLOCK_OFFSET_MS}"\n`,
  );
  process.exit(2);
}
if (offsetMs !== 0) {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + offsetMs;
}

// One ordered stream, as a Lambda log stream is.
process.stderr.write = process.stdout.write.bind(process.stdout) as typeof process.stderr.write;

// The runner holds our stdin open: when it ends (the runner died, even by SIGKILL), so do we.
process.stdin.on("end", () => process.kill(process.pid, "SIGKILL"));
process.stdin.on("error", () => process.kill(process.pid, "SIGKILL"));
process.stdin.resume();

const budgetMs = Number(process.env.CONTENDER_BUDGET_MS ?? "60000");
const requestId = process.env.CONTENDER_REQUEST_ID ?? randomUUID();
const spawnedAt = performance.now();
/** When the Invoke phase began; monotonic: Lambda's deadline does not move with the wall clock. */
let invokedAt = Number.POSITIVE_INFINITY;

function emit(line: Record<string, unknown>): Promise<void> {
  return new Promise((resolve) => process.stdout.write(`${JSON.stringify(line)}\n`, () => resolve()));
}

const context = localLambdaContext({
  functionName: "lease-billing-local",
  requestId,
  remainingMs: () => Math.max(0, Math.round(budgetMs - Math.max(0, performance.now() - invokedAt))),
});

async function main(): Promise<number> {
  let event: unknown;
  try {
    event = JSON.parse(process.env.CONTENDER_EVENT ?? "null");
  } catch (error) {
    await emit({ __contender: "error", error: `CONTENDER_EVENT is not JSON: ${(error as Error).message}` });
    return 2;
  }
  // Init, then Invoke: the budget (and the runner's hard timeout) start once the module is loaded.
  const { handler } = await import("../../functions/handler/index");
  invokedAt = performance.now();
  await emit({
    __contender: "started",
    pid: process.pid,
    requestId,
    budgetMs,
    clockOffsetMs: offsetMs,
    initMs: Math.round(invokedAt - spawnedAt),
  });
  try {
    const result = await handler(event, context);
    await emit({ __contender: "result", result });
    return 0;
  } catch (error) {
    await emit({ __contender: "error", error: error instanceof Error ? error.message : String(error) });
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    await emit({ __contender: "error", error: String(error) });
    process.exit(1);
  },
);
