/**
 * The admin API under `/__emulator/`, a path Stripe does not use, for test harnesses that run billing
 * contenders as separate processes. No authentication: the emulator only listens on localhost.
 *
 *   GET  /__emulator/state    the AdminSnapshot
 *   POST /__emulator/clock    {"advanceMs": n}
 *   POST /__emulator/faults   a FaultPlan (replaces the current one)
 *   POST /__emulator/inject   {"kind": "timeout", "path": "/v1/payment_intents", "count": 1}
 *   POST /__emulator/reset
 */
import { parseFaultPlan, parseInjectedFault, type FaultPlan, type InjectedFault } from "./faults";
import type { Json } from "./json";
import type { AdminSnapshot } from "./snapshot";

export interface EmulatorControls {
  snapshot(): AdminSnapshot;
  advanceClock(ms: number): void;
  now(): number;
  setFaults(plan: FaultPlan): void;
  injectNext(fault: InjectedFault): void;
  reset(): void;
}

export interface AdminResponse {
  readonly status: number;
  readonly body: Json;
}

function problem(status: number, message: string): AdminResponse {
  return { status, body: { error: { message } } };
}

export function handleAdmin(
  controls: EmulatorControls,
  method: string,
  pathname: string,
  body: string,
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
