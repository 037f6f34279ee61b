/**
 * A contender process on a Timeline: its spawn, what its log lines say (run events, the run's end, its
 * failure, continuation links) and its exit, and SIGKILL for all at the end. dev/cluster's Cluster and the
 * chaos suite's Fleet (dev/chaos/fleet.ts) drive their contenders through these, so both record a run the
 * same way and dev/cluster's report draws either.
 */
import type { ContenderExit, ContenderProcess } from "./contenders";
import type { ParsedLine } from "./log-lines";
import { sendSignal } from "./signals";
import type { Timeline } from "./timeline";

export interface Tracking {
  readonly round: number;
  readonly clockOffsetMs: number;
  /** Every parsed line of the process, after it was recorded. */
  readonly onLine: (line: ParsedLine, at: number) => void;
  /** Called when it exited, just before the exit is recorded. */
  readonly onExit?: (exit: ContenderExit) => void;
}

/** Records a freshly spawned process and follows it; resolves when its exit has been recorded. */
export function track(timeline: Timeline, p: ContenderProcess, tracking: Tracking): Promise<ContenderExit> {
  timeline.nameOwner(p.requestId, p.label);
  timeline.record({
    at: timeline.now(),
    kind: "spawn",
    contender: p.label,
    round: tracking.round,
    pid: p.pid,
    requestId: p.requestId,
    clockOffsetMs: tracking.clockOffsetMs,
  });
  p.onLine((line, at) => {
    recordLine(timeline, p, line, at);
    tracking.onLine(line, at);
  });
  return p.exited.then((exit) => {
    tracking.onExit?.(exit);
    timeline.record({
      at: timeline.now(),
      kind: "exit",
      contender: p.label,
      code: exit.code,
      signal: exit.signal,
      timedOut: exit.timedOut,
    });
    return exit;
  });
}

/** What a line says that the timeline keeps. */
function recordLine(timeline: Timeline, p: ContenderProcess, line: ParsedLine, at: number): void {
  if (line.kind === "run-event") {
    if (typeof line.line.owner === "string") timeline.nameOwner(line.line.owner, p.label);
    timeline.record({ at, kind: "event", contender: p.label, event: line.event });
  } else if (line.kind === "run-finished") {
    timeline.record({ at, kind: "finished", contender: p.label, finished: line.finished });
  } else if (line.kind === "continuation") {
    const { sent, link, error } = line;
    timeline.record({ at, kind: "continuation", contender: p.label, link, sent, error });
  } else {
    const error = failureOf(line);
    if (error !== null) timeline.record({ at, kind: "failed", contender: p.label, error });
  }
}

/** The error a line reports the handler or its process failed with, or null. */
export function failureOf(line: ParsedLine): string | null {
  if (line.kind === "run-failed") return line.error;
  if (line.kind === "contender" && line.phase === "error") return line.data.error ?? "error";
  return null;
}

/** SIGKILLs every process still running (continuing paused ones first) and waits for them, 5 s at most. */
export async function killAll(
  processes: readonly ContenderProcess[],
  timeline: Timeline,
  reason: string,
): Promise<void> {
  const alive = processes.filter((p) => p.status !== "exited");
  for (const p of alive) {
    sendSignal(p, "SIGKILL", timeline, reason);
    p.signal("SIGCONT");
  }
  await Promise.race([
    Promise.all(alive.map((p) => p.exited)),
    new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
  ]);
}
