/**
 * Faster contender processes for long chaos runs. dev/cluster spawns each contender as
 * `node --import tsx dev/cluster/contender-process.ts`, which compiles and resolves hundreds of modules at
 * every start (about a second of CPU each). The chaos suite starts thousands, so by default it bundles
 * that same entry (dev/cluster/contender-process.ts, and with it the real handler) once with esbuild, the
 * way the stack bundles the function for Lambda (CommonJS, everything included), and starts plain
 * `node <bundle>` instead: the same code, five times less start-up CPU.
 *
 * The process it returns is dev/cluster's ContenderProcess, built from dev/cluster's own pieces
 * (functionEnv, the line parser); `--tsx` on the command line uses dev/cluster's spawnContender itself.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import {
  REPO_ROOT,
  functionEnv,
  type ContenderExit,
  type ContenderProcess,
  type ContenderSpec,
  type ContenderStatus,
  type FunctionEnvironment,
} from "../cluster/contenders";
import { lineSplitter, parseLine, type ParsedLine, type RunFinished } from "../cluster/log-lines";

/** How a contender process is started: dev/cluster's spawnContender has this shape. */
export type Spawner = (
  env: FunctionEnvironment,
  spec: ContenderSpec & { readonly requestId: string },
  clock: () => number,
) => ContenderProcess;

/** Bundles dev/cluster/contender-process.ts (the real handler inside) into one CommonJS file; returns its path. */
export async function buildContenderBundle(
  dir = join(tmpdir(), `lease-billing-chaos-${process.pid}`),
): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, "contender-process.cjs");
  await build({
    entryPoints: [resolve(REPO_ROOT, "dev", "cluster", "contender-process.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    external: [],
    logLevel: "error",
    // Smaller stack traces point at the bundle; the source map makes them point at the sources.
    sourcemap: "inline",
    sourcesContent: false,
  });
  return outfile;
}

/** The parent's environment minus what would change the child's logging or AWS identity (as dev/cluster does). */
function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (k === "POWERTOOLS_DEV" || k.startsWith("AWS_") || k.startsWith("STRIPE_")) continue;
    if (k === "NODE_OPTIONS" || k === "LOG_LEVEL" || k === "POWERTOOLS_LOG_LEVEL") continue;
    out[k] = v;
  }
  return out;
}

export function bundledSpawner(bundle: string): Spawner {
  return (env, spec, clock) => {
    const child: ChildProcess = spawn(process.execPath, ["--enable-source-maps", bundle], {
      cwd: REPO_ROOT,
      env: {
        ...baseEnv(),
        ...functionEnv(env),
        CONTENDER_EVENT: JSON.stringify(spec.event),
        CONTENDER_REQUEST_ID: spec.requestId,
        CONTENDER_BUDGET_MS: String(spec.budgetMs),
        CLOCK_OFFSET_MS: String(spec.clockOffsetMs ?? 0),
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    if (child.pid === undefined) throw new Error(`could not start contender ${spec.label}`);

    const listeners = new Set<(line: ParsedLine, atMs: number) => void>();
    const textTail: string[] = [];
    const state = {
      status: "starting" as ContenderStatus,
      owner: null as string | null,
      result: undefined as unknown,
      finished: null as RunFinished | null,
      error: null as string | null,
    };
    const handle = (raw: string) => {
      const parsed = parseLine(raw);
      const at = clock();
      if (parsed.kind === "text") {
        textTail.push(parsed.text);
        if (textTail.length > 40) textTail.shift();
      } else if (parsed.kind === "contender") {
        if (parsed.phase === "started" && state.status === "starting") state.status = "running";
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
    };
    const out = lineSplitter(handle);
    const err = lineSplitter(handle);
    child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
    child.stdin?.on("error", () => undefined);

    // Lambda ends an invocation that overruns its timeout; so does this, `hardTimeoutGraceMs` after.
    let timedOut = false;
    const hardTimeout = setTimeout(
      () => {
        timedOut = true;
        child.kill("SIGCONT");
        child.kill("SIGKILL");
      },
      spec.budgetMs + (spec.hardTimeoutGraceMs ?? 5_000),
    );
    hardTimeout.unref();

    const exited = new Promise<ContenderExit>((resolveExit) => {
      child.once("close", (code, signal) => {
        clearTimeout(hardTimeout);
        out.end();
        err.end();
        state.status = "exited";
        child.stdin?.destroy();
        resolveExit({ code, signal, timedOut });
      });
    });

    return {
      label: spec.label,
      round: spec.round,
      requestId: spec.requestId,
      pid: child.pid,
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
        if (state.status === "exited" || child.exitCode !== null || child.signalCode !== null) return false;
        const sent = child.kill(signal);
        if (sent && signal === "SIGSTOP") state.status = "paused";
        if (sent && signal === "SIGCONT" && state.status === "paused") state.status = "running";
        return sent;
      },
    };
  };
}
