/**
 * An endpoint in two phases, because Stripe's idempotency layer treats them differently:
 *
 * - `validate` checks the parameters alone. Its errors are answered and never saved under an
 *   idempotency key, so a corrected retry with the same key is safe.
 * - `execute` runs against the state. Whatever it answers (200, 400, 402, or a 500 from a bug) is the
 *   result saved under the key and replayed to later requests.
 */
import type { EmulatorClock } from "./clock";
import type { Params } from "./form";
import type { Json } from "./json";
import type { Store } from "./store";

export interface RouteInput {
  readonly params: Params;
  /** `:id` and friends from the path, URL-decoded. */
  readonly path: Readonly<Record<string, string>>;
}

export interface ExecContext {
  readonly store: Store;
  readonly clock: EmulatorClock;
  readonly livemode: boolean;
  /** The request's Idempotency-Key, recorded on the objects it touches for the admin snapshot. */
  readonly idempotencyKey: string | undefined;
  /** What the execution did that the request log reports; handlers set it. */
  readonly effects: ExecutionEffects;
}

export interface ExecutionEffects {
  /** A payment was attempted on the card (succeeded, declined, or needs authentication). */
  cardAttempt: boolean;
}

export interface ApiResult {
  readonly status: number;
  readonly body: Json;
}

export interface Route<V> {
  readonly method: "GET" | "POST";
  /** e.g. `/v1/payment_intents/:id/confirm`; also the route's name in request counts. */
  readonly pattern: string;
  validate(input: RouteInput): V;
  execute(ctx: ExecContext, input: V): ApiResult;
}

export type AnyRoute = Route<unknown>;

/** Erases the validated type so routes of different shapes share one table. */
export function defineRoute<V>(route: Route<V>): AnyRoute {
  return route as AnyRoute;
}

export function ok(body: Json): ApiResult {
  return { status: 200, body };
}

export interface RouteMatch {
  readonly route: AnyRoute;
  readonly path: Record<string, string>;
}

/** The first route whose method and pattern match; literal segments win because they come first. */
export function matchRoute(routes: readonly AnyRoute[], method: string, pathname: string): RouteMatch | null {
  const segments = pathname.split("/");
  for (const route of routes) {
    if (route.method !== method) continue;
    const pattern = route.pattern.split("/");
    if (pattern.length !== segments.length) continue;
    const path: Record<string, string> = {};
    let matched = true;
    for (let i = 0; i < pattern.length && matched; i++) {
      const want = pattern[i]!;
      const got = segments[i]!;
      if (want.startsWith(":")) {
        const value = safeDecode(got);
        if (value === null || value === "") matched = false;
        else path[want.slice(1)] = value;
      } else if (want !== got) {
        matched = false;
      }
    }
    if (matched) return { route, path };
  }
  return null;
}

function safeDecode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
