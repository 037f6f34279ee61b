/**
 * What the emulator received on /v1, for tests, the admin snapshot and checkers:
 *
 * - counts: by route pattern (`POST /v1/payment_intents/:id/confirm`), by outcome (the HTTP status, or
 *   `timeout` / `dropped` when no response was sent), and how many were idempotent replays;
 * - one entry per request, in the order they were answered: who sent it (the API key), when it executed
 *   and whether it reached the card. A checker can then ask "was this card attempt the current leader's?"
 *   from the emulator's side, without trusting the clients' own account of what they sent.
 */
export interface RequestCounts {
  total: number;
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
  replayed: number;
}

export type Outcome = number | "timeout" | "dropped";

export interface RequestEntry {
  /** 1, 2, ... in the order requests were answered (or given up on). */
  seq: number;
  /** The route pattern, `POST /v1/payment_intents/:id/confirm`, or `POST (unrecognized)`. */
  route: string;
  path: string;
  /** The API key it was sent with; null when it had none that authenticates. */
  apiKey: string | null;
  idempotencyKey: string | null;
  /** The PaymentIntent it concerned: the one in its path, or the one a create made. */
  paymentIntent: string | null;
  outcome: Outcome;
  replayed: boolean;
  /**
   * The endpoint ran against the state: not refused before execution (401, 429, 404, 400 from parameter
   * validation, 409 and idempotency errors), not a replay, not a 500 instead of executing.
   */
  executed: boolean;
  /**
   * It attempted a payment on the card (the charge succeeded, was declined, or needs authentication).
   * A confirmation the state machine refused (`payment_intent_unexpected_state`) is executed but is not one.
   */
  cardAttempt: boolean;
  /** Epoch ms, real time (not the emulator clock), when it executed, or when it was answered if it did not. */
  at: number;
  /**
   * Epoch ms, real time, when it left its sender: when it arrived, or when a `hold` fault (a request still
   * inside a paused process) let it go. Execution can come later (latency), as at Stripe, where a request
   * the client stopped waiting for may still run.
   */
  sentAt: number;
  /** The emulator clock at that moment. */
  clock: number;
  /** How long a `hold` fault kept it before it went on (0: not held). */
  heldMs: number;
}

/** Entries kept at most; older ones are dropped (and counted) so a long-lived emulator stays bounded. */
export const MAX_REQUEST_ENTRIES = 200_000;

export class RequestLog {
  private counts: RequestCounts = RequestLog.empty();
  private entries: RequestEntry[] = [];
  private seq = 0;
  private droppedEntries = 0;

  private static empty(): RequestCounts {
    return { total: 0, byRoute: {}, byStatus: {}, replayed: 0 };
  }

  record(entry: Omit<RequestEntry, "seq">): void {
    const c = this.counts;
    c.total += 1;
    c.byRoute[entry.route] = (c.byRoute[entry.route] ?? 0) + 1;
    const status = String(entry.outcome);
    c.byStatus[status] = (c.byStatus[status] ?? 0) + 1;
    if (entry.replayed) c.replayed += 1;
    this.entries.push({ seq: ++this.seq, ...entry });
    // Trimmed a tenth at a time, so that a full log does not copy itself on every request.
    if (this.entries.length > MAX_REQUEST_ENTRIES) {
      const excess = this.entries.length - MAX_REQUEST_ENTRIES + Math.floor(MAX_REQUEST_ENTRIES / 10);
      this.entries.splice(0, excess);
      this.droppedEntries += excess;
    }
  }

  snapshot(): RequestCounts {
    return structuredClone(this.counts);
  }

  /** The entries after `afterSeq` (default: all kept), and how many older ones were dropped. */
  list(afterSeq = 0): { entries: RequestEntry[]; dropped: number } {
    return {
      entries: structuredClone(this.entries.filter((e) => e.seq > afterSeq)),
      dropped: this.droppedEntries,
    };
  }

  clear(): void {
    this.counts = RequestLog.empty();
    this.entries = [];
    this.seq = 0;
    this.droppedEntries = 0;
  }
}
