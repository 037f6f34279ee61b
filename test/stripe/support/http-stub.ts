/**
 * A real local HTTP server (node:http) that answers as a test says, for the cases the emulator cannot
 * produce: a 409 that clears, a 5xx without Stripe-Should-Retry, error bodies that echo the key, a
 * Secrets Manager endpoint. Every request is recorded with its headers and body.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface StubRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The form-encoded body, decoded (Stripe's POSTs). */
  readonly form: URLSearchParams;
}

export interface StubAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

export interface HttpStub {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly requests: StubRequest[];
  close(): Promise<void>;
}

export async function startHttpStub(answer: (request: StubRequest) => StubAnswer): Promise<HttpStub> {
  const requests: StubRequest[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const request: StubRequest = {
        method: req.method ?? "GET",
        path: req.url ?? "/",
        headers: req.headers,
        body,
        form: new URLSearchParams(body),
      };
      requests.push(request);
      const reply = answer(request);
      const text = JSON.stringify(reply.body);
      res.writeHead(reply.status, {
        "Content-Type": "application/json",
        "Content-Length": String(Buffer.byteLength(text)),
        "Request-Id": `req_stub_${requests.length}`,
        ...reply.headers,
      });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: "127.0.0.1",
    port,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A Stripe error body, as the API sends it. */
export function stripeError(
  status: number,
  error: { type: string; message: string; code?: string; decline_code?: string; payment_intent?: unknown },
  headers?: Record<string, string>,
): StubAnswer {
  return { status, body: { error }, ...(headers && { headers }) };
}

/** A PaymentIntent with the fields the gateway reads. */
export function stubPaymentIntent(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "pi_stub_1",
    object: "payment_intent",
    amount: 2500,
    currency: "eur",
    customer: "cus_stub",
    status: "requires_confirmation",
    latest_charge: null,
    last_payment_error: null,
    metadata: {},
    created: Math.floor(Date.now() / 1000),
    ...fields,
  };
}
