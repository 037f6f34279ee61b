/**
 * The SDK's HTTP client without its one hidden retry. stripe-node retries a request once after a closed
 * connection (ECONNRESET, EPIPE) even with `maxNetworkRetries: 0`, and does it at once: after a pause
 * (SIGSTOP, a frozen Lambda), that retry leaves before the process can ask whether it still may send.
 * Giving the error another code turns that retry off; the gateway's own policy then decides, after the
 * send guard.
 */
import Stripe from "stripe";

type HttpClient = ReturnType<typeof Stripe.createNodeHttpClient>;

export const CONNECTION_CLOSED = "STRIPE_CONNECTION_CLOSED";

export function noHiddenRetryHttpClient(inner: HttpClient = Stripe.createNodeHttpClient()): HttpClient {
  return {
    getClientName: () => inner.getClientName(),
    makeRequest: (...args: Parameters<HttpClient["makeRequest"]>) =>
      inner.makeRequest(...args).catch((error: unknown) => {
        throw renamed(error);
      }),
  };
}

function renamed(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !Stripe.HttpClient.CONNECTION_CLOSED_ERROR_CODES.includes(code)) {
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  return Object.assign(new Error(`connection closed (${code}): ${message}`, { cause: error }), {
    code: CONNECTION_CLOSED,
  });
}
