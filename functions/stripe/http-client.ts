/**
 * The SDK's HTTP client without its one hidden retry. stripe-node retries a request once after a closed
 * connection (ECONNRESET, EPIPE) even with `maxNetworkRetries: 0`, and does it at once: after a pause
 * (SIGSTOP, a frozen Lambda), that retry leaves before the process can ask whether it still may send.
 * Giving the error another code turns that retry off; the gateway's own policy then decides, after the
 * send guard.
 *
 * It is also where the send guard is asked: here, right before the socket, and not before the SDK call,
 * so that nothing the SDK does on the way (its chain of callbacks and promises) comes between the last
 * check and the request leaving.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import Stripe from "stripe";
import { BillingJobError } from "../core/errors";

type HttpClient = ReturnType<typeof Stripe.createNodeHttpClient>;

export const CONNECTION_CLOSED = "STRIPE_CONNECTION_CLOSED";

/** A closed connection under a code the SDK does not retry by itself; the socket's error is the cause. */
export class ConnectionClosedError extends BillingJobError {
  override readonly name: string = "ConnectionClosedError";
  readonly code = CONNECTION_CLOSED;

  constructor(
    /** The socket's own code (ECONNRESET, EPIPE). */
    readonly socketCode: string,
    options: { readonly cause: unknown },
  ) {
    const message = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`connection closed (${socketCode}): ${message}`, options);
  }
}

/** One try of one request: the guard to ask before it leaves, and its answer if it said no. */
export interface GuardedTry {
  readonly guard: (() => string | null) | undefined;
  refusal: string | null;
}

/** The guard refused at the socket: nothing was sent. The gateway reads `GuardedTry.refusal`, not this. */
export class SendRefusedError extends BillingJobError {
  override readonly name: string = "SendRefusedError";
}

const currentTry = new AsyncLocalStorage<GuardedTry>();

/** Runs one SDK call with `attempt` as the try whose guard the HTTP client asks. */
export function underGuard<T>(attempt: GuardedTry, call: () => Promise<T>): Promise<T> {
  return currentTry.run(attempt, call);
}

export function noHiddenRetryHttpClient(inner: HttpClient = Stripe.createNodeHttpClient()): HttpClient {
  return {
    getClientName: () => inner.getClientName(),
    makeRequest: (...args: Parameters<HttpClient["makeRequest"]>) => {
      const attempt = currentTry.getStore();
      const refusal = attempt?.guard?.() ?? null;
      if (attempt && refusal !== null) {
        attempt.refusal = refusal;
        return Promise.reject(new SendRefusedError(refusal));
      }
      return inner.makeRequest(...args).catch((error: unknown) => {
        throw renamed(error);
      });
    },
  };
}

function renamed(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !Stripe.HttpClient.CONNECTION_CLOSED_ERROR_CODES.includes(code)) {
    return error;
  }
  return new ConnectionClosedError(code, { cause: error });
}
