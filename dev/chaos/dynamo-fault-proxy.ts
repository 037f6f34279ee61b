/**
 * A small HTTP fault proxy between the AWS SDK and DynamoDB Local. Contenders get its URL as their
 * DYNAMODB_ENDPOINT. Each request is, by a seeded draw:
 *
 *   - throttled: answered 400 ProvisionedThroughputExceededException at once, NOT forwarded (nothing
 *     happened; the SDK retries it as throttling);
 *   - failed: answered 500 InternalServerError at once, NOT forwarded (nothing happened);
 *   - forwarded, and its response dropped: DynamoDB applied it, then the connection is destroyed without
 *     an answer (the write happened, the client does not know; the SDK retries it as a network error);
 *   - or forwarded, and its response passed back unchanged.
 *
 * The proxy counts what it did, by kind and by DynamoDB operation (the X-Amz-Target header).
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { seededRng } from "../stripe-emulator/random";
import type { DynamoFaultRates } from "./scenario";

export type ProxyFaultKind = "throttle" | "error500" | "drop-response";

export interface ProxyCounts {
  forwarded: number;
  throttle: number;
  error500: number;
  "drop-response": number;
  /** Faults per operation, e.g. {"TransactWriteItems": {"throttle": 2}}. */
  byOperation: Record<string, Partial<Record<ProxyFaultKind, number>>>;
}

export interface DynamoFaultProxy {
  /** `http://127.0.0.1:<port>`: what DYNAMODB_ENDPOINT should be. */
  readonly endpoint: string;
  /** Replaces the rates; all zero turns faults off (the proxy then only forwards). */
  setRates(rates: DynamoFaultRates): void;
  counts(): ProxyCounts;
  stop(): Promise<void>;
}

export const NO_DYNAMO_FAULTS: DynamoFaultRates = { throttleRate: 0, error500Rate: 0, dropResponseRate: 0 };

const THROTTLE_BODY = {
  __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
  message:
    "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API. (injected by the chaos proxy)",
};
const ERROR500_BODY = {
  __type: "com.amazonaws.dynamodb.v20120810#InternalServerError",
  message: "Internal server error (injected by the chaos proxy)",
};

function checkRates(rates: DynamoFaultRates): DynamoFaultRates {
  const total = rates.throttleRate + rates.error500Rate + rates.dropResponseRate;
  for (const [name, value] of Object.entries(rates)) {
    if (typeof value !== "number" || !(value >= 0 && value <= 1))
      throw new Error(`${name} must be between 0 and 1, got ${String(value)}`);
  }
  if (total > 1) throw new Error(`the fault rates add up to ${total}, more than 1`);
  return { ...rates };
}

export async function startDynamoFaultProxy(options: {
  /** DynamoDB Local's endpoint, e.g. http://127.0.0.1:8000 */
  readonly target: string;
  readonly seed: number;
  readonly rates?: DynamoFaultRates;
}): Promise<DynamoFaultProxy> {
  const target = new URL(options.target);
  const rng = seededRng(options.seed);
  let rates = checkRates(options.rates ?? NO_DYNAMO_FAULTS);
  const counts: ProxyCounts = { forwarded: 0, throttle: 0, error500: 0, "drop-response": 0, byOperation: {} };
  let requestSeq = 0;

  const count = (kind: ProxyFaultKind, operation: string) => {
    counts[kind] += 1;
    const op = (counts.byOperation[operation] ??= {});
    op[kind] = (op[kind] ?? 0) + 1;
  };

  const answer = (res: ServerResponse, status: number, body: object) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "Content-Type": "application/x-amz-json-1.0",
      "Content-Length": Buffer.byteLength(text),
      "x-amzn-RequestId": `chaos-${process.pid}-${++requestSeq}`,
    });
    res.end(text);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const targetHeader = req.headers["x-amz-target"];
    const operation = (Array.isArray(targetHeader) ? targetHeader[0] : targetHeader)?.split(".")[1] ?? "?";
    // One draw decides the request's fate, so the rates are exact shares of one interval.
    const draw = rng();
    if (draw < rates.throttleRate) {
      count("throttle", operation);
      answer(res, 400, THROTTLE_BODY);
      return;
    }
    if (draw < rates.throttleRate + rates.error500Rate) {
      count("error500", operation);
      answer(res, 500, ERROR500_BODY);
      return;
    }
    const drop = draw < rates.throttleRate + rates.error500Rate + rates.dropResponseRate;
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        // The Host header is signed by SigV4; DynamoDB Local does not check signatures, so pass it as is.
        headers: req.headers,
      },
      (upstreamRes) => {
        const chunks: Buffer[] = [];
        upstreamRes.on("data", (chunk: Buffer) => chunks.push(chunk));
        upstreamRes.on("end", () => {
          if (drop) {
            // DynamoDB applied it; the client never hears.
            count("drop-response", operation);
            req.socket.destroy();
            return;
          }
          counts.forwarded += 1;
          if (res.destroyed) return;
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          res.end(Buffer.concat(chunks));
        });
        upstreamRes.on("error", () => req.socket.destroy());
      },
    );
    upstream.on("error", () => {
      // DynamoDB Local went away (the suite is stopping): the client sees a dropped connection.
      req.socket.destroy();
    });
    upstream.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => handle(req, res, Buffer.concat(chunks)));
    req.on("error", () => req.socket.destroy());
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    setRates(next) {
      rates = checkRates(next);
    },
    counts: () => structuredClone(counts),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
