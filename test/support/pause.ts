/**
 * Tools to freeze an in-process contender, as a GC pause, SIGSTOP or a frozen Lambda environment would:
 * a gate that blocks its provider calls, and a clock whose sleeps (its heartbeat) block with it.
 */
import { systemClock, type Clock } from "../../functions/core/clock";

export class Gate {
  private opened: Promise<void> = Promise.resolve();
  private release: () => void = () => undefined;
  private closedFlag = false;

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.opened = new Promise((resolve) => (this.release = resolve));
  }

  open(): void {
    this.closedFlag = false;
    this.release();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Resolves at once when open; when closed, when opened again. */
  pass(): Promise<void> {
    return this.opened;
  }
}

/** The real clock, except that sleeping waits for the gate too: a paused process's timers do not fire. */
export function pausableClock(gate: Gate, base: Clock = systemClock): Clock {
  return {
    now: () => base.now(),
    sleep: async (ms, signal) => {
      await base.sleep(ms, signal);
      await gate.pass();
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` until true or the deadline passes. */
export async function waitFor(
  condition: () => boolean,
  timeoutMs = 20_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
