/**
 * Clean shutdown: clean-up steps run once, last registered first, on normal exit, on failure and on
 * Ctrl-C (SIGINT), SIGTERM or SIGHUP. A second Ctrl-C while cleaning up exits at once (DynamoDB Local's
 * watchdog and the contenders' stdin watch still take their processes down with us).
 */
export class Shutdown {
  private readonly steps: { name: string; run: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;
  private removeHandlers: (() => void) | undefined;
  /** Set when a signal started the shutdown: the exit code the process should end with (128 + signal). */
  signalExitCode: number | null = null;

  /** Registers a clean-up step; returns a function that unregisters it. */
  add(name: string, run: () => Promise<void> | void): () => void {
    const step = { name, run };
    this.steps.push(step);
    return () => {
      const index = this.steps.indexOf(step);
      if (index !== -1) this.steps.splice(index, 1);
    };
  }

  get started(): boolean {
    return this.running !== undefined;
  }

  /** Runs every step once (later calls wait for the first). Errors are reported, not thrown. */
  run(onError: (name: string, error: unknown) => void = () => undefined): Promise<void> {
    this.running ??= (async () => {
      for (const step of [...this.steps].reverse()) {
        try {
          await step.run();
        } catch (error) {
          onError(step.name, error);
        }
      }
      this.steps.length = 0;
      this.removeHandlers?.();
    })();
    return this.running;
  }

  /**
   * On SIGINT, SIGTERM or SIGHUP: call `onSignal`, clean up, exit with 128 + the signal's number.
   * Returns a function that removes the handlers.
   */
  exitOnSignals(onSignal: (signal: NodeJS.Signals) => void = () => undefined): () => void {
    const codes: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
    const handler = (signal: NodeJS.Signals) => {
      const code = codes[signal] ?? 1;
      if (this.signalExitCode !== null) process.exit(code); // a second Ctrl-C: go now
      this.signalExitCode = code;
      onSignal(signal);
      void this.run().finally(() => process.exit(code));
    };
    for (const signal of Object.keys(codes) as NodeJS.Signals[]) process.on(signal, handler);
    this.removeHandlers = () => {
      for (const signal of Object.keys(codes) as NodeJS.Signals[]) process.off(signal, handler);
    };
    return this.removeHandlers;
  }
}
