/**
 * Counts of the /v1 requests the emulator received, for tests and the admin snapshot: by route pattern
 * (`POST /v1/payment_intents/:id/confirm`), by outcome (the HTTP status, or `timeout` / `dropped` when
 * no response was sent), and how many were idempotent replays.
 */
export interface RequestCounts {
  total: number;
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
  replayed: number;
}

export type Outcome = number | "timeout" | "dropped";

export class RequestLog {
  private counts: RequestCounts = RequestLog.empty();

  private static empty(): RequestCounts {
    return { total: 0, byRoute: {}, byStatus: {}, replayed: 0 };
  }

  record(route: string, outcome: Outcome, replayed: boolean): void {
    const c = this.counts;
    c.total += 1;
    c.byRoute[route] = (c.byRoute[route] ?? 0) + 1;
    const status = String(outcome);
    c.byStatus[status] = (c.byStatus[status] ?? 0) + 1;
    if (replayed) c.replayed += 1;
  }

  snapshot(): RequestCounts {
    return structuredClone(this.counts);
  }

  clear(): void {
    this.counts = RequestLog.empty();
  }
}
