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
 *   CONTENDER_WARM        "1": after the invocation, stay for more, as Lambda may reuse an execution
 *                         environment: each further invocation arrives on stdin as one JSON line
 *                         `{"event":...,"requestId":"...","budgetMs":N}` and runs the same way (no Init)
 *
 * Output (stdout): per invocation, a `started` line, the handler's JSON log lines, then one
 * `{"__contender":"result"|"error",...}` line.
 * Lambda sends a function's stdout and stderr to one log stream; so does this process, so that the
 * Logger's warnings (written to stderr) stay in order with the rest.
 *
 * Production code is untouched: the clock skew wraps Date.now before the handler is imported.
 */
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import type { Context } from "aws-lambda";
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

const spawnedAt = performance.now();

function emit(line: Record<string, unknown>): Promise<void> {
  return new Promise((resolve) => process.stdout.write(`${JSON.stringify(line)}\n`, () => resolve()));
}

/** One invocation, as the runtime hands it to the handler. */
interface InvocationInput {
  readonly event: unknown;
  readonly requestId: string;
  /** The invocation's time budget; getRemainingTimeInMillis counts down from it from the Invoke phase. */
  readonly budgetMs: number;
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Runs one invocation to its `result` or `error` line; resolves with the process's exit code for it. */
async function invoke(handler: Handler, input: InvocationInput, initMs: number): Promise<number> {
  // Monotonic: Lambda's deadline does not move with the wall clock.
  const invokedAt = performance.now();
  const context = localLambdaContext({
    functionName: "lease-billing-local",
    requestId: input.requestId,
    remainingMs: () => Math.max(0, Math.round(input.budgetMs - (performance.now() - invokedAt))),
  });
  await emit({
    __contender: "started",
    pid: process.pid,
    requestId: input.requestId,
    budgetMs: input.budgetMs,
    clockOffsetMs: offsetMs,
    initMs,
  });
  try {
    const result = await handler(input.event, context);
    await emit({ __contender: "result", result });
    return 0;
  } catch (error) {
    await emit({ __contender: "error", error: error instanceof Error ? error.message : String(error) });
    return 1;
  }
}

/** A further invocation of a warm environment, from its stdin line. */
function parseInvocation(line: string): InvocationInput {
  const input = JSON.parse(line) as Partial<InvocationInput>;
  if (typeof input.requestId !== "string" || typeof input.budgetMs !== "number") {
    throw new Error(`an invocation line needs requestId and budgetMs: ${line.slice(0, 200)}`);
  }
  return { event: input.event, requestId: input.requestId, budgetMs: input.budgetMs };
}

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
  const first: InvocationInput = {
    event,
    requestId: process.env.CONTENDER_REQUEST_ID ?? randomUUID(),
    budgetMs: Number(process.env.CONTENDER_BUDGET_MS ?? "60000"),
  };
  const code = await invoke(handler, first, Math.round(performance.now() - spawnedAt));
  if (process.env.CONTENDER_WARM !== "1") return code;
  // Warm: the module (its clients, its configuration) stays loaded for the next invocation, as in Lambda.
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (line.trim() === "") continue;
    await invoke(handler, parseInvocation(line), 0);
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    await emit({ __contender: "error", error: String(error) });
    process.exit(1);
  },
);
