/**
 * One /v1 request's way through the emulator, in Stripe's order (see faults.ts for where faults strike):
 *
 *   authenticate (401) -> [hold: wait, unexecuted, until released] -> rate limiter (429) -> route (404)
 *   -> decode parameters (400)
 *   -> idempotency lookup: replay | 409 in flight | 400 idempotency_error
 *   -> validate (400, not saved) -> claim the key -> latency -> execute -> save under the key -> answer
 *
 * Nothing before "claim the key" is saved, so retrying after a 401, 429 or validation error is safe.
 * The result is a disposition for the HTTP layer: respond, hold the socket (timeout) or drop it.
 */
import { authenticate } from "./auth";
import type { EmulatorClock } from "./clock";
import {
  ApiError,
  apiError,
  idempotencyEndpointMismatch,
  idempotencyKeyInUse,
  idempotencyKeyLength,
  idempotencyParamsMismatch,
  invalidRequest,
  rateLimited,
  unrecognizedUrl,
} from "./errors";
import type { FaultInjector } from "./faults";
import { decodeForm, FormError, isParams, type Params } from "./form";
import type { HeldRequests } from "./hold";
import type { IdempotencyStore, SavedResult } from "./idempotency";
import type { Json } from "./json";
import type { RequestEntry, RequestLog } from "./request-log";
import { matchRoute, type ApiResult, type RouteMatch } from "./route";
import { ROUTES } from "./routes";
import { searchPaymentIntents } from "./routes/payment-intents";
import type { Store } from "./store";
import { TokenBucket } from "./token-bucket";

/** Search has a rate limit of its own, lower than the account's: 20 reads per second. */
export const SEARCH_REQUESTS_PER_SECOND = 20;

export interface ApiRequest {
  readonly method: string;
  readonly pathname: string;
  /** The raw query string, without `?`. */
  readonly query: string;
  readonly body: string;
  readonly authorization: string | undefined;
  /** The Idempotency-Key header; undefined when absent, "" when sent empty. */
  readonly idempotencyKey: string | undefined;
  readonly requestId: string;
  /** Epoch ms its headers arrived; unset: when the pipeline saw it. */
  readonly receivedAt?: number;
}

export type Disposition =
  | {
      readonly kind: "respond";
      readonly status: number;
      readonly body: Json;
      readonly headers: Readonly<Record<string, string>>;
      readonly replayed: boolean;
    }
  | { readonly kind: "hold"; readonly replayed: boolean }
  | { readonly kind: "drop"; readonly replayed: boolean };

export interface PipelineDeps {
  readonly store: Store;
  readonly clock: EmulatorClock;
  readonly idempotency: IdempotencyStore;
  readonly faults: FaultInjector;
  readonly held: HeldRequests;
  readonly log: RequestLog;
  readonly apiVersion: string;
  /** Every key of a mode is one account (auth.ts); the key still names the sender in the log. */
  readonly singleAccount: boolean;
  /** Called after a POST has executed, to persist state. */
  readonly onCommit: () => void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What the request log says of one request besides its outcome; filled in on the way through. */
type Trace = Pick<
  RequestEntry,
  "apiKey" | "paymentIntent" | "executed" | "cardAttempt" | "at" | "sentAt" | "clock" | "heldMs"
>;

function respond(
  status: number,
  body: Json,
  headers: Record<string, string> = {},
  replayed = false,
): Disposition {
  return { kind: "respond", status, body, headers, replayed };
}

function fromError(error: ApiError): Disposition {
  return respond(error.status, error.body(), { ...error.headers });
}

export class Pipeline {
  private searchLimiter = Pipeline.newSearchLimiter();

  constructor(private readonly deps: PipelineDeps) {}

  private static newSearchLimiter(): TokenBucket {
    return new TokenBucket(SEARCH_REQUESTS_PER_SECOND, SEARCH_REQUESTS_PER_SECOND);
  }

  /** Refills Search's own rate limit (reset()). */
  resetLimits(): void {
    this.searchLimiter = Pipeline.newSearchLimiter();
  }

  async handle(request: ApiRequest): Promise<Disposition> {
    const match = matchRoute(ROUTES, request.method, request.pathname);
    const label = match ? `${request.method} ${match.route.pattern}` : `${request.method} (unrecognized)`;
    const trace: Trace = {
      apiKey: null,
      paymentIntent: match?.route.pattern.startsWith("/v1/payment_intents/:id")
        ? (match.path.id ?? null)
        : null,
      executed: false,
      cardAttempt: false,
      at: 0,
      sentAt: request.receivedAt ?? Date.now(),
      clock: 0,
      heldMs: 0,
    };
    let disposition = await this.process(request, match, trace);
    // Every answer to a POST with a key echoes the key, refusals included.
    if (disposition.kind === "respond" && request.method === "POST" && request.idempotencyKey !== undefined) {
      disposition = {
        ...disposition,
        headers: { ...disposition.headers, "Idempotency-Key": request.idempotencyKey },
      };
    }
    const outcome =
      disposition.kind === "respond"
        ? disposition.status
        : disposition.kind === "hold"
          ? "timeout"
          : "dropped";
    this.deps.log.record({
      ...trace,
      ...(!trace.executed && { at: Date.now(), clock: this.deps.clock.now() }),
      route: label,
      path: request.pathname,
      idempotencyKey: request.idempotencyKey ?? null,
      outcome,
      replayed: disposition.replayed,
    });
    return disposition;
  }

  private async process(request: ApiRequest, match: RouteMatch | null, trace: Trace): Promise<Disposition> {
    const { clock, idempotency, faults } = this.deps;
    const account = authenticate(request.authorization, this.deps.singleAccount);
    if (account instanceof ApiError) return fromError(account);
    trace.apiKey = account.key;
    const hold = faults.hold(request.method, request.pathname, account.key);
    if (hold) {
      const heldSince = performance.now();
      const fate = await this.deps.held.hold(
        {
          apiKey: account.key,
          method: request.method,
          path: request.pathname,
          idempotencyKey: request.idempotencyKey ?? null,
          paymentIntent: trace.paymentIntent,
          metadata: this.periodOf(request, trace.paymentIntent),
        },
        hold.releaseAfterMs,
      );
      trace.heldMs = Math.round(performance.now() - heldSince);
      // A held request models one still inside its sender: it leaves it only now.
      trace.sentAt = Date.now();
      if (fate === "discard") return { kind: "drop", replayed: false };
    }
    if (!faults.admit(request.pathname, account.key)) return fromError(rateLimited());
    if (!match) return fromError(unrecognizedUrl(request.method, request.pathname));
    if (match.route === searchPaymentIntents && !this.searchLimiter.take()) return fromError(rateLimited());

    let params: Params;
    try {
      params = decodeForm(request.method === "POST" ? request.body : request.query);
    } catch (error) {
      if (error instanceof FormError)
        return fromError(
          invalidRequest(error.message, error.param === undefined ? {} : { param: error.param }),
        );
      throw error;
    }

    // Idempotency applies to POST only; on GET the header has no effect.
    const key = request.method === "POST" ? request.idempotencyKey : undefined;
    const endpoint = `${request.method} ${request.pathname}`;
    if (key !== undefined) {
      if (key.length < 1 || key.length > 255) return fromError(idempotencyKeyLength(key.length));
      const found = idempotency.lookup(account.id, key, endpoint, params, clock.now());
      switch (found.kind) {
        case "in_flight":
          return fromError(idempotencyKeyInUse(key));
        case "other_endpoint":
          return fromError(idempotencyEndpointMismatch(key, found.firstEndpoint, endpoint));
        case "other_params":
          return fromError(idempotencyParamsMismatch(key));
        case "replay":
          return this.replay(request, found.result, account.key);
        case "new":
          break;
      }
    }

    let validated: unknown;
    try {
      validated = match.route.validate({ params, path: match.path });
    } catch (error) {
      if (error instanceof ApiError) return fromError(error);
      throw error;
    }

    // From here the request has reached execution: its result, whatever it is, is saved under the key.
    if (key !== undefined) idempotency.claim(account.id, key, endpoint, params, clock.now());
    const latency = faults.latencyMs();
    if (latency > 0) await sleep(latency);

    const fault = faults.forExecution(request.pathname, false, account.key);
    const saved = key !== undefined;
    let result: ApiResult & { headers: Record<string, string> };
    if (fault === "error500") {
      result = errorResult(apiError(saved));
    } else {
      result = this.execute(match, validated, account.livemode, key, trace);
      if (fault === "error500-after-commit") result = errorResult(apiError(saved));
    }
    if (key !== undefined) {
      const savedResult: SavedResult = { ...result, requestId: request.requestId };
      idempotency.save(account.id, key, savedResult);
    }
    if (request.method === "POST") this.deps.onCommit();
    if (fault === "timeout") return { kind: "hold", replayed: false };
    if (fault === "drop-after-charge") return { kind: "drop", replayed: false };
    return respond(result.status, result.body, result.headers);
  }

  private async replay(request: ApiRequest, saved: SavedResult, apiKey: string): Promise<Disposition> {
    const latency = this.deps.faults.latencyMs();
    if (latency > 0) await sleep(latency);
    const fault = this.deps.faults.forExecution(request.pathname, true, apiKey);
    if (fault === "timeout") return { kind: "hold", replayed: true };
    if (fault === "drop-after-charge") return { kind: "drop", replayed: true };
    return respond(
      saved.status,
      saved.body,
      { ...saved.headers, "Idempotent-Replayed": "true", "Original-Request": saved.requestId },
      true,
    );
  }

  private execute(
    match: RouteMatch,
    validated: unknown,
    livemode: boolean,
    key: string | undefined,
    trace: Trace,
  ): ApiResult & { headers: Record<string, string> } {
    const { store, clock } = this.deps;
    const effects = { cardAttempt: false };
    trace.executed = true;
    trace.at = Date.now();
    trace.clock = clock.now();
    let result: ApiResult & { headers: Record<string, string> };
    try {
      result = {
        ...match.route.execute({ store, clock, livemode, idempotencyKey: key, effects }, validated),
        headers: {},
      };
    } catch (error) {
      if (!(error instanceof ApiError)) {
        // A bug in the emulator: answer as Stripe answers its own bugs, and say so on stderr.
        console.error("stripe-emulator: internal error", error);
      }
      result = errorResult(error instanceof ApiError ? error : apiError(key !== undefined));
    }
    trace.cardAttempt = effects.cardAttempt;
    trace.paymentIntent ??= paymentIntentIn(result.body);
    return result;
  }

  /** For a held request's summary: the metadata of the PaymentIntent it concerns, or of the one it creates. */
  private periodOf(request: ApiRequest, paymentIntent: string | null): Record<string, string> {
    const pi = paymentIntent === null ? undefined : this.deps.store.paymentIntents.get(paymentIntent);
    if (pi) return { ...pi.metadata };
    try {
      const metadata = decodeForm(request.body).metadata;
      if (!isParams(metadata)) return {};
      return Object.fromEntries(
        Object.entries(metadata).filter((e): e is [string, string] => typeof e[1] === "string"),
      );
    } catch {
      return {};
    }
  }
}

/** The PaymentIntent in an answer: the object itself, or the one inside a card error. */
function paymentIntentIn(body: Json): string | null {
  const object = body as { object?: unknown; id?: unknown; error?: { payment_intent?: { id?: unknown } } };
  if (object.object === "payment_intent" && typeof object.id === "string") return object.id;
  const inError = object.error?.payment_intent?.id;
  return typeof inError === "string" ? inError : null;
}

function errorResult(error: ApiError): ApiResult & { headers: Record<string, string> } {
  return { status: error.status, body: error.body(), headers: { ...error.headers } };
}
