/**
 * Contender processes: each one a separate Node process running the real Lambda handler
 * (dev/cluster/contender-process.ts), the way EventBridge starts one invocation per target. The parent
 * reads each child's log stream as typed lines, and can kill, pause and resume it. A process runs one
 * invocation and exits (spawnContender), or, warm, stays for more, as Lambda may reuse an execution
 * environment (spawnEnvironment); either way each invocation is a ContenderProcess of its own.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";
import type { TableNames } from "../../functions/schema/tables";
import { lineSplitter, parseLine, type ParsedLine, type RunFinished } from "./log-lines";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ENTRY = resolve(REPO_ROOT, "dev", "cluster", "contender-process.ts");
/** Lambda's limit on the Init phase (the runtime's start-up and the module's own code). */
export const INIT_LIMIT_MS = 10_000;

/** Lease timings as the function reads them (LEASE_*_MS). */
export interface LeaseSettings {
  readonly leaseMs: number;
  readonly renewMs: number;
  readonly marginMs: number;
}

/** Where and how every contender of a cluster runs: the function's environment, minus per-invocation bits. */
export interface FunctionEnvironment {
  readonly dynamoEndpoint: string;
  readonly tables: TableNames;
  readonly stripeUrl: string;
  readonly stripeKey: string;
  readonly shardCount: number;
  readonly lease: LeaseSettings;
  /** The account's Stripe budget, which the leaders share (STRIPE_ACCOUNT_REQUESTS_PER_SECOND). */
  readonly stripeRequestsPerSecond?: number;
  readonly stripeTimeoutMs?: number;
  readonly concurrency?: number;
  readonly stopClaimingMarginMs?: number;
  readonly standbyPollMs?: number;
  /**
   * The local invoke server continuation links go to (LAMBDA_ENDPOINT; dev/lambda-invoke). Without one,
   * MAX_CONTINUATION_LINKS is 0: a local contender never invokes anything else.
   */
  readonly lambdaEndpoint?: string;
  /** Continuation links per run (MAX_CONTINUATION_LINKS), with a lambdaEndpoint; the function's default if unset. */
  readonly maxContinuationLinks?: number;
  /** Anything else to set (or, with undefined, to remove) in the child's environment. */
  readonly extra?: Record<string, string | undefined>;
}

export interface ContenderSpec {
  /** A short name for views and reports: "c1", "r2.c3". */
  readonly label: string;
  readonly round: number;
  readonly event: unknown;
  /**
   * The invocation's time budget (the Lambda timeout); getRemainingTimeInMillis counts down from it once
   * the handler's module is loaded (the Invoke phase; Lambda's Init phase before it is not counted).
   */
  readonly budgetMs: number;
  /** Skews the child's Date.now by this much. */
  readonly clockOffsetMs?: number;
  readonly requestId?: string;
  /** SIGKILL the process this long after its budget ran out, as Lambda ends a timed-out invocation. */
  readonly hardTimeoutGraceMs?: number;
}

export interface ContenderExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Killed by the hard timeout (its budget plus grace from its Invoke phase), as Lambda would. */
  readonly timedOut: boolean;
}

export type ContenderStatus = "starting" | "running" | "paused" | "exited";

export interface ContenderProcess {
  readonly label: string;
  readonly round: number;
  readonly requestId: string;
  readonly pid: number;
  readonly status: ContenderStatus;
  /** The handler's owner id (`<requestId>/<suffix>`), known from its first log line. */
  readonly owner: string | null;
  /** The handler's return value, if it returned. */
  readonly result: unknown;
  readonly finished: RunFinished | null;
  readonly error: string | null;
  /** The last lines of plain text output (stack traces and such), for diagnosis. */
  readonly textTail: readonly string[];
  readonly exited: Promise<ContenderExit>;
  /** Registers a listener for every parsed line; returns a function that removes it. */
  onLine(listener: (line: ParsedLine, atMs: number) => void): () => void;
  /** Sends a signal; false if the process is gone. Prefer dev/cluster/signals.ts, which records it. */
  signal(signal: "SIGKILL" | "SIGSTOP" | "SIGCONT" | "SIGTERM"): boolean;
}

export function functionEnv(env: FunctionEnvironment): Record<string, string> {
  const url = new URL(env.stripeUrl);
  const vars: Record<string, string | undefined> = {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    DYNAMODB_ENDPOINT: env.dynamoEndpoint,
    LEASE_TABLE_NAME: env.tables.leases,
    SUBSCRIPTIONS_TABLE_NAME: env.tables.subscriptions,
    CHARGES_TABLE_NAME: env.tables.charges,
    STRIPE_SECRET_KEY: env.stripeKey,
    STRIPE_API_HOST: url.hostname,
    STRIPE_API_PORT: url.port,
    STRIPE_API_PROTOCOL: url.protocol.replace(":", ""),
    SHARD_COUNT: String(env.shardCount),
    LEASE_DURATION_MS: String(env.lease.leaseMs),
    LEASE_RENEW_INTERVAL_MS: String(env.lease.renewMs),
    LEASE_SAFETY_MARGIN_MS: String(env.lease.marginMs),
    STRIPE_ACCOUNT_REQUESTS_PER_SECOND: optional(env.stripeRequestsPerSecond),
    STRIPE_TIMEOUT_MS: optional(env.stripeTimeoutMs),
    BILLING_CONCURRENCY: optional(env.concurrency),
    STOP_CLAIMING_MARGIN_MS: optional(env.stopClaimingMarginMs),
    STANDBY_POLL_MS: optional(env.standbyPollMs),
    LAMBDA_ENDPOINT: env.lambdaEndpoint,
    MAX_CONTINUATION_LINKS: env.lambdaEndpoint ? optional(env.maxContinuationLinks) : "0",
    // Every run event is a log line; routine ones (settled charges, renewals) are at DEBUG.
    LOG_LEVEL: "DEBUG",
    POWERTOOLS_SERVICE_NAME: "lease-billing",
    POWERTOOLS_METRICS_NAMESPACE: "LeaseBilling",
    ...env.extra,
  };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars)) if (v !== undefined) out[k] = v;
  return out;
}

function optional(value: number | undefined): string | undefined {
  return value === undefined ? undefined : String(value);
}

/** The parent's environment, minus what would change the child's logging or AWS identity. */
function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    // POWERTOOLS_DEV pretty-prints logs over several lines; real AWS credentials have no business here.
    if (k === "POWERTOOLS_DEV" || k.startsWith("AWS_") || k.startsWith("STRIPE_")) continue;
    if (k === "NODE_OPTIONS" || k === "LOG_LEVEL" || k === "POWERTOOLS_LOG_LEVEL") continue;
    out[k] = v;
  }
  return out;
}

/**
 * Contender processes still running. A contender dies by itself when this process's end closes its stdin,
 * but one that is SIGSTOPped (a pause fault) cannot run that code: on the way out, each is SIGKILLed (which
 * a stopped process does not need to run anything to obey).
 */
const live = new Set<ChildProcess>();
let killOnExit = false;

function tracked(child: ChildProcess): void {
  live.add(child);
  child.once("close", () => live.delete(child));
  if (killOnExit) return;
  killOnExit = true;
  process.once("exit", () => {
    for (const c of live) c.kill("SIGKILL");
  });
}

/** How the contender's node process runs the entry: from source through tsx, by default. */
export const FROM_SOURCE: readonly string[] = ["--import", "tsx", ENTRY];

export function spawnContender(
  env: FunctionEnvironment,
  spec: ContenderSpec,
  clock: () => number = () => performance.now(),
  nodeArgs: readonly string[] = FROM_SOURCE,
): ContenderProcess {
  return spawnEnvironment(env, spec, clock, nodeArgs, false).first;
}

/**
 * One process that runs invocations one at a time, as a Lambda execution environment does: a cold one
 * runs its first and exits; a warm one (`warm`) stays after each for another, which runs without Init.
 * Unlike Lambda's, an idle environment is not frozen: nothing of the handler runs once it has returned.
 */
export interface ContenderEnvironment {
  readonly pid: number;
  /** Its last invocation is over and it waits for the next (warm environments only). */
  readonly idle: boolean;
  /** Another invocation here, only while idle, with the first's clock offset (one process, one clock). */
  invoke(spec: ContenderSpec): ContenderProcess;
  /** SIGKILLs the process, whatever it does (an idle one has no invocation that would see it). */
  kill(): void;
}

/** Lines of a contender process go to the invocation it runs now. */
interface RunningInvocation {
  readonly view: ContenderProcess;
  handle(parsed: ParsedLine, at: number): void;
  /** The process is gone: the invocation ends with it if it had not. */
  closed(exit: Omit<ContenderExit, "timedOut">): void;
}

export function spawnEnvironment(
  env: FunctionEnvironment,
  spec: ContenderSpec,
  clock: () => number,
  nodeArgs: readonly string[],
  warm: boolean,
): { readonly environment: ContenderEnvironment; readonly first: ContenderProcess } {
  const requestId = requestIdOf(spec);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs], {
    cwd: REPO_ROOT,
    env: {
      ...baseEnv(),
      ...functionEnv(env),
      CONTENDER_EVENT: JSON.stringify(spec.event),
      CONTENDER_REQUEST_ID: requestId,
      CONTENDER_BUDGET_MS: String(spec.budgetMs),
      CLOCK_OFFSET_MS: String(spec.clockOffsetMs ?? 0),
      ...(warm && { CONTENDER_WARM: "1" }),
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  if (child.pid === undefined) throw new Error(`could not start contender ${spec.label}`);
  const pid = child.pid;
  tracked(child);

  let current: RunningInvocation;
  let gone = false;
  const handle = (raw: string) => current.handle(parseLine(raw), clock());
  const out = lineSplitter(handle);
  const err = lineSplitter(handle);
  child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
  child.stdin?.on("error", () => undefined); // the child may be gone before we close it
  child.once("close", (code, signal) => {
    gone = true;
    out.end();
    err.end();
    child.stdin?.destroy();
    current.closed({ code, signal });
  });

  const host: ProcessHandle = {
    pid,
    alive: () => !gone && child.exitCode === null && child.signalCode === null,
    kill: (signal) => child.kill(signal),
    // Paused or not: SIGCONT, then SIGKILL, as the hard timeout always did.
    end: () => {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
    },
  };
  // The first invocation comes with the process (its environment); Init counts towards Lambda's Init limit.
  current = startInvocation(host, spec, requestId, INIT_LIMIT_MS, warm);
  const first = current.view;
  const environment: ContenderEnvironment = {
    pid,
    get idle() {
      return warm && !gone && current.view.status === "exited";
    },
    invoke(next) {
      if (!this.idle) throw new Error(`environment ${pid} is not idle`);
      const nextId = requestIdOf(next);
      current = startInvocation(host, next, nextId, 0, warm);
      child.stdin?.write(
        `${JSON.stringify({ event: next.event, requestId: nextId, budgetMs: next.budgetMs })}\n`,
      );
      return current.view;
    },
    kill: host.end,
  };
  return { environment, first };
}

function requestIdOf(spec: ContenderSpec): string {
  return spec.requestId ?? `${spec.label}-${randomUUID()}`;
}

/** What an invocation may do to the process it runs in. */
interface ProcessHandle {
  readonly pid: number;
  alive(): boolean;
  kill(signal: NodeJS.Signals): boolean;
  /** Ends the process now, paused or not (Lambda ending an environment). */
  end(): void;
}

/**
 * One invocation in a process: its lines, its state, its end. A cold process's invocation ends when the
 * process exits; a warm one's at its `result` or `error` line (exit code 0 or 1, as a cold one would).
 */
function startInvocation(
  proc: ProcessHandle,
  spec: ContenderSpec,
  requestId: string,
  initAllowanceMs: number,
  warm: boolean,
): RunningInvocation {
  const listeners = new Set<(line: ParsedLine, atMs: number) => void>();
  const textTail: string[] = [];
  const state = {
    status: "starting" as ContenderStatus,
    owner: null as string | null,
    result: undefined as unknown,
    finished: null as RunFinished | null,
    error: null as string | null,
  };
  let resolveExit: (exit: ContenderExit) => void = () => undefined;
  const exited = new Promise<ContenderExit>((resolve) => (resolveExit = resolve));
  const end = (exit: ContenderExit) => {
    if (state.status === "exited") return;
    clearTimeout(hardTimeout);
    state.status = "exited";
    resolveExit(exit);
  };

  // Lambda's timeout limits the Invoke phase, which the process announces (its `started` line): the hard
  // timeout is its budget plus a grace (the handler's own deadline acts first) from then. Until then, a
  // backstop allows Lambda's Init limit (INIT_LIMIT_MS) on top, for a process that has not started yet.
  let timedOut = false;
  let hardTimeout: NodeJS.Timeout | undefined;
  const graceMs = spec.hardTimeoutGraceMs ?? 5_000;
  const armHardTimeout = (ms: number) => {
    clearTimeout(hardTimeout);
    hardTimeout = setTimeout(() => {
      timedOut = true;
      proc.end();
    }, ms);
    hardTimeout.unref();
  };
  armHardTimeout(initAllowanceMs + spec.budgetMs + graceMs);

  const handle = (parsed: ParsedLine, at: number) => {
    if (parsed.kind === "text") {
      textTail.push(parsed.text);
      if (textTail.length > 40) textTail.shift();
    } else if (parsed.kind === "contender") {
      if (parsed.phase === "started") {
        if (state.status === "starting") state.status = "running";
        armHardTimeout(spec.budgetMs + graceMs);
      }
      if (parsed.phase === "result") state.result = parsed.data.result;
      if (parsed.phase === "error") state.error = parsed.data.error ?? "unknown error";
    } else if (parsed.kind === "run-finished") {
      state.finished = parsed.finished;
    } else if (parsed.kind === "run-failed") {
      state.error = parsed.error;
    }
    if (
      state.owner === null &&
      (parsed.kind === "run-event" || parsed.kind === "log" || parsed.kind === "run-finished") &&
      typeof parsed.line.owner === "string"
    ) {
      state.owner = parsed.line.owner;
    }
    for (const listener of listeners) listener(parsed, at);
    // A warm process stays; its invocation is over once the handler's answer is out.
    if (warm && parsed.kind === "contender" && parsed.phase !== "started") {
      end({ code: parsed.phase === "result" ? 0 : 1, signal: null, timedOut: false });
    }
  };

  const view: ContenderProcess = {
    label: spec.label,
    round: spec.round,
    requestId,
    pid: proc.pid,
    get status() {
      return state.status;
    },
    get owner() {
      return state.owner;
    },
    get result() {
      return state.result;
    },
    get finished() {
      return state.finished;
    },
    get error() {
      return state.error;
    },
    textTail,
    exited,
    onLine(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    signal(signal) {
      if (state.status === "exited" || !proc.alive()) return false;
      const sent = proc.kill(signal);
      if (sent && signal === "SIGSTOP") state.status = "paused";
      if (sent && signal === "SIGCONT" && state.status === "paused") state.status = "running";
      return sent;
    },
  };
  return { view, handle, closed: (exit) => end({ ...exit, timedOut }) };
}
