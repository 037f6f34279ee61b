/**
 * The admin API under `/__emulator/`, a path Stripe does not use, for test harnesses that run billing
 * contenders as separate processes. No authentication: the emulator only listens on localhost.
 *
 *   GET  /__emulator/state    the AdminSnapshot
 *   POST /__emulator/clock    {"advanceMs": n}
 *   POST /__emulator/faults   a FaultPlan (replaces the current one)
 *   POST /__emulator/inject   {"kind": "timeout", "path": "/v1/payment_intents", "count": 1, "apiKey"?}
 *   POST /__emulator/inject/cancel  {"apiKey"?}: forgets queued one-shots
 *   GET  /__emulator/held     requests a `hold` fault is keeping
 *   POST /__emulator/release  {"id"?, "apiKey"?, "path"?, "discard"?}: lets them go on (or drops them)
 *   GET  /__emulator/requests?after=N   the request log: sender, execution time, card attempt
 *   POST /__emulator/reset
 */
import { parseFaultPlan, parseInjectedFault, type FaultPlan, type InjectedFault } from "./faults";
import type { HeldFilter, HeldRequestSummary } from "./hold";
import type { Json } from "./json";
import type { RequestEntry } from "./request-log";
import type { AdminSnapshot } from "./snapshot";

/** What the admin API can do to the emulator; the StripeEmulator handle (index.ts) offers the same to code. */
export interface EmulatorControls {
  /** Replaces the fault plan. */
  setFaults(plan: FaultPlan): void;
  /** Deterministic one-shot faults for tests, struck by the next matching requests. */
  injectNext(fault: InjectedFault): void;
  /** Forgets queued one-shot faults (those aimed at `apiKey` only, if given); returns the strikes left. */
  cancelInjected(apiKey?: string): number;
  /** Requests a `hold` fault is keeping, oldest first. */
  heldRequests(): HeldRequestSummary[];
  /** Lets matching held requests go on, as if they had just arrived; returns how many. */
  releaseHeld(filter?: HeldFilter): number;
  /** Drops matching held requests unexecuted (their sender died); returns how many. */
  discardHeld(filter?: HeldFilter): number;
  /** Every /v1 request answered so far after `afterSeq`: sender, execution time, card attempt. */
  requestLog(afterSeq?: number): { entries: RequestEntry[]; dropped: number };
  /** Moves the emulator clock forward (idempotency keys expire at exactly 24 h on it). */
  advanceClock(ms: number): void;
  now(): number;
  /** Same data as GET /__emulator/state. */
  snapshot(): AdminSnapshot;
  /**
   * Forgets all objects, idempotency keys, counters and the request log, queued one-shot faults, held
   * requests (dropped unexecuted) and rate-limit budgets; keeps the plan and clock.
   */
  reset(): void;
}

export interface AdminResponse {
  readonly status: number;
  readonly body: Json;
}

function problem(status: number, message: string): AdminResponse {
  return { status, body: { error: { message } } };
}

function optionalString(json: unknown, name: string): string | undefined {
  const value = (json as Record<string, unknown>)[name];
  if (value !== undefined && typeof value !== "string") throw new Error(`${name} must be a string.`);
  return value;
}

function heldFilter(json: unknown): HeldFilter {
  const { id } = json as { id?: unknown };
  if (id !== undefined && !Number.isSafeInteger(id)) throw new Error("id must be a whole number.");
  const apiKey = optionalString(json, "apiKey");
  const path = optionalString(json, "path");
  return {
    ...(id !== undefined && { id: id as number }),
    ...(apiKey !== undefined && { apiKey }),
    ...(path !== undefined && { path }),
  };
}

export function handleAdmin(
  controls: EmulatorControls,
  method: string,
  pathname: string,
  body: string,
  query = "",
): AdminResponse {
  let json: unknown = {};
  if (method === "POST" && body.trim() !== "") {
    try {
      json = JSON.parse(body);
    } catch {
      return problem(400, "The body must be JSON.");
    }
  }
  try {
    const route = `${method} ${pathname}`;
    switch (route) {
      case "GET /__emulator/state":
        return { status: 200, body: controls.snapshot() as unknown as Json };
      case "POST /__emulator/clock": {
        const advanceMs = (json as { advanceMs?: unknown }).advanceMs;
        if (typeof advanceMs !== "number") return problem(400, 'Expected {"advanceMs": number}.');
        controls.advanceClock(advanceMs);
        return { status: 200, body: { now: controls.now() } };
      }
      case "POST /__emulator/faults":
        controls.setFaults(parseFaultPlan(json));
        return { status: 200, body: { faults: controls.snapshot().faults as Json } };
      case "POST /__emulator/inject":
        controls.injectNext(parseInjectedFault(json));
        return { status: 200, body: { pendingInjections: controls.snapshot().pendingInjections } };
      case "POST /__emulator/inject/cancel":
        return { status: 200, body: { canceled: controls.cancelInjected(optionalString(json, "apiKey")) } };
      case "GET /__emulator/held":
        return { status: 200, body: { held: controls.heldRequests() as unknown as Json } };
      case "POST /__emulator/release": {
        const filter = heldFilter(json);
        return (json as { discard?: unknown }).discard === true
          ? { status: 200, body: { discarded: controls.discardHeld(filter) } }
          : { status: 200, body: { released: controls.releaseHeld(filter) } };
      }
      case "GET /__emulator/requests": {
        const after = Number(new URLSearchParams(query).get("after") ?? "0");
        if (!Number.isSafeInteger(after) || after < 0) return problem(400, "after must be a whole number.");
        return { status: 200, body: controls.requestLog(after) as unknown as Json };
      }
      case "POST /__emulator/reset":
        controls.reset();
        return { status: 200, body: { reset: true } };
      default:
        return problem(404, `Unknown admin endpoint: ${route}`);
    }
  } catch (error) {
    return problem(400, error instanceof Error ? error.message : String(error));
  }
}
