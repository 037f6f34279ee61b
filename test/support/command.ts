/**
 * Runs one of the project's commands (a script in the repository, through tsx) as a child process, as a
 * user would, and collects its output.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));

export interface RunnerOutput {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface RunnerProcess {
  readonly child: ChildProcess;
  /** Resolves when stderr has printed a line matching `pattern`; rejects if the runner ends first. */
  waitForStderr(pattern: RegExp): Promise<RegExpExecArray>;
  readonly done: Promise<RunnerOutput>;
}

/** Runs `script` (a path in the repository, through tsx) with `args`. */
export function startCommand(script: string, args: readonly string[], timeoutMs = 110_000): RunnerProcess {
  const started = performance.now();
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: REPO,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const waiters: { pattern: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const w of [...waiters]) {
      const match = w.pattern.exec(stderr);
      if (match) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(match);
      }
    }
  });
  // A stuck runner is stopped the way a user would: SIGTERM, which it answers with a clean shutdown.
  const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
  const done = new Promise<RunnerOutput>((resolveDone) => {
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolveDone({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
  return {
    child,
    done,
    waitForStderr: (pattern) =>
      new Promise((resolveMatch, reject) => {
        const match = pattern.exec(stderr);
        if (match) return resolveMatch(match);
        waiters.push({ pattern, resolve: resolveMatch });
        void done.then((out) =>
          reject(
            new Error(
              `the runner ended (${out.code ?? out.signal}) before printing ${pattern}:\n${out.stderr}`,
            ),
          ),
        );
      }),
  };
}
