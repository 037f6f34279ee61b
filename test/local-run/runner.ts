/**
 * Runs `npm start`'s entry (dev/local-run/main.ts) as a child process, as a user would, and the checks
 * its tests share.
 */
import { connect } from "node:net";
import { startCommand, type RunnerProcess } from "../support/command";

/** `npm start -- ...args`. */
export function startRunner(args: readonly string[], timeoutMs = 110_000): RunnerProcess {
  return startCommand("dev/local-run/main.ts", args, timeoutMs);
}

/**
 * The arguments of a small run: two contender processes on a 2 s lease, no continuation links (a leader
 * slowed past its safe time on a busy machine hands over to the standby, not to a link:
 * test/local-run/continuation.test.ts covers those), the JSON summary on stdout and the HTML report at
 * `report`. The plain run and the takeover run use it; `extra` adds what they do besides.
 */
export function twoContenderArgs(
  subscriptions: number,
  report: string,
  extra: readonly string[] = [],
): string[] {
  return [
    "--subscriptions",
    String(subscriptions),
    "--contenders",
    "2",
    ...extra,
    "--lease-ms",
    "2000",
    "--max-links",
    "0",
    "--json",
    "--report",
    report,
  ];
}

/** True if nothing accepts connections on the endpoint's port any more. */
export function portClosed(endpoint: string): Promise<boolean> {
  const url = new URL(endpoint);
  return new Promise((resolveClosed) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    socket.once("connect", () => {
      socket.destroy();
      resolveClosed(false);
    });
    socket.once("error", () => resolveClosed(true));
  });
}

/** True if a process with this pid still exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
