/**
 * Doing things to contenders, recorded on the timeline: SIGKILL (a crashed or timed-out invocation),
 * SIGSTOP and SIGCONT (a GC pause, a frozen Lambda environment), and a pause for a fixed time.
 */
import type { ContenderProcess } from "./contenders";
import type { Signal, Timeline } from "./timeline";

export function sendSignal(
  process: ContenderProcess,
  signal: Signal,
  timeline?: Timeline,
  reason = "",
): boolean {
  const sent = process.signal(signal);
  if (sent)
    timeline?.record({ at: timeline.now(), kind: "signal", contender: process.label, signal, reason });
  return sent;
}

export const sigkill = (p: ContenderProcess, timeline?: Timeline, reason = "killed") =>
  sendSignal(p, "SIGKILL", timeline, reason);

export const sigstop = (p: ContenderProcess, timeline?: Timeline, reason = "paused") =>
  sendSignal(p, "SIGSTOP", timeline, reason);

export const sigcont = (p: ContenderProcess, timeline?: Timeline, reason = "resumed") =>
  sendSignal(p, "SIGCONT", timeline, reason);

/**
 * Stops the process for `durationMs`, then continues it. Resolves when it was continued (or is gone).
 * `cancel()` continues it at once (used by shutdown, so nothing is left stopped).
 */
export function pauseFor(
  p: ContenderProcess,
  durationMs: number,
  timeline?: Timeline,
  reason = `paused for ${durationMs} ms`,
): { resumed: Promise<boolean>; cancel(): void } {
  if (!sigstop(p, timeline, reason)) return { resumed: Promise.resolve(false), cancel: () => undefined };
  let done = false;
  let cancel: () => void = () => undefined;
  const resumed = new Promise<boolean>((resolve) => {
    const settle = (value: () => boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(value());
    };
    const timer = setTimeout(() => settle(() => sigcont(p, timeline)), durationMs);
    cancel = () => settle(() => sigcont(p, timeline, "resumed early (shutdown)"));
    void p.exited.then(() => settle(() => false));
  });
  return { resumed, cancel: () => cancel() };
}
