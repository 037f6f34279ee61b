/**
 * A local stand-in for Lambda's Invoke API, enough of it for the AWS SDK's LambdaClient: the function's
 * continuation links (functions/aws/lambda-invoker.ts) reach it through LAMBDA_ENDPOINT, and whoever
 * started it decides what an invocation is (dev/lambda-invoke/index.ts: a real contender process each).
 *
 *   POST /2015-03-31/functions/{FunctionName}/invocations
 *     X-Amz-Invocation-Type: Event     → 202, empty body, X-Amz-Request-Id (queued: `onInvoke` is called)
 *     X-Amz-Invocation-Type: DryRun    → 204 (the name and payload are checked, nothing runs)
 *     RequestResponse (or none)        → 400 InvalidParameterValueException: only asynchronous invokes
 *   FunctionName: the name, a partial ARN (`123456789012:function:name`) or the ARN, optionally qualified
 *   by $LATEST; another function → 404 ResourceNotFoundException. The payload must be a JSON document of at
 *   most 256 KB (Lambda's limit for an asynchronous invoke) → else 400 InvalidRequestContentException /
 *   413 RequestTooLargeException. Errors carry `X-Amzn-ErrorType` and a JSON body, as Lambda's do.
 *
 * For chaos, `answer` may make a request fail: a 500 (ServiceException, which the SDK retries) or a
 * dropped connection (no answer at all). The SDK's request signature is not checked.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { BillingJobError } from "../../functions/core/errors";
import { header, readBody } from "../http-request";

/** Lambda's payload limit for an asynchronous invocation. */
export const MAX_EVENT_PAYLOAD_BYTES = 256 * 1024;

const PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

export interface Invocation {
  /** The request id the 202 answered with; a contender started for it may use it as its awsRequestId. */
  readonly requestId: string;
  /** The FunctionName of the request, as sent. */
  readonly functionName: string;
  readonly payload: unknown;
  /** Epoch ms when the request was accepted. */
  readonly receivedAt: number;
}

/** What one request sees, for `answer`. */
export interface InvokeRequest {
  readonly functionName: string;
  readonly invocationType: string;
  readonly payload: unknown;
  /** How many requests this server has been sent with this exact payload, this one included. */
  readonly attempt: number;
}

/** accept: as Lambda would; error-500: a ServiceException; drop: the connection closes with no answer. */
export type Answer = "accept" | "error-500" | "drop";

export interface InvokeServerOptions {
  /** The function this server stands for: its name (any of its ARN forms is accepted too). */
  readonly functionName: string;
  /** Each accepted Event invocation, before the 202 is sent: start it, queue it, record it. */
  readonly onInvoke: (invocation: Invocation) => void;
  /** How to answer a request that would be accepted; default: accept. */
  readonly answer?: (request: InvokeRequest) => Answer;
  readonly host?: string;
  /** 0 picks a free port (default). */
  readonly port?: number;
}

export interface InvokeServerCounts {
  readonly accepted: number;
  readonly dryRuns: number;
  readonly refused: number;
  readonly failed500: number;
  readonly dropped: number;
}

export interface InvokeServer {
  /** Where LAMBDA_ENDPOINT points: http://host:port */
  readonly url: string;
  /** Accepted invocations, in order. */
  readonly invocations: readonly Invocation[];
  counts(): InvokeServerCounts;
  stop(): Promise<void>;
}

class RequestError extends BillingJobError {
  override readonly name: string = "RequestError";
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startInvokeServer(options: InvokeServerOptions): Promise<InvokeServer> {
  const invocations: Invocation[] = [];
  const attempts = new Map<string, number>();
  const counts = { accepted: 0, dryRuns: 0, refused: 0, failed500: 0, dropped: 0 };
  const sockets = new Set<Socket>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    try {
      const functionName = checkedFunction(req, options.functionName);
      const body = await readBody(
        req,
        MAX_EVENT_PAYLOAD_BYTES,
        () => new RequestError(413, "RequestTooLargeException", "Request must be smaller than 262144 bytes"),
      );
      const payload = parsePayload(body);
      const invocationType = header(req, "x-amz-invocation-type") ?? "RequestResponse";
      if (invocationType === "DryRun") {
        counts.dryRuns += 1;
        return reply(res, 204, requestId);
      }
      if (invocationType !== "Event") {
        throw new RequestError(
          400,
          "InvalidParameterValueException",
          `this local server runs asynchronous invocations only (X-Amz-Invocation-Type: Event), got ${invocationType}`,
        );
      }
      const attempt = (attempts.get(body) ?? 0) + 1;
      attempts.set(body, attempt);
      const answer = options.answer?.({ functionName, invocationType, payload, attempt }) ?? "accept";
      if (answer === "drop") {
        counts.dropped += 1;
        req.socket.destroy();
        return;
      }
      if (answer === "error-500") {
        counts.failed500 += 1;
        throw new RequestError(
          500,
          "ServiceException",
          "the local invoke server failed this request (chaos)",
        );
      }
      const invocation: Invocation = { requestId, functionName, payload, receivedAt: Date.now() };
      invocations.push(invocation);
      counts.accepted += 1;
      options.onInvoke(invocation);
      reply(res, 202, requestId);
    } catch (error) {
      const e =
        error instanceof RequestError
          ? error
          : new RequestError(500, "ServiceException", error instanceof Error ? error.message : String(error));
      if (e.status < 500) counts.refused += 1;
      replyError(res, requestId, e);
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${address.address}:${address.port}`,
    invocations,
    counts: () => ({ ...counts }),
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      })),
  };
}

/** The function the request names, if it is ours (by name, partial ARN or ARN; unqualified or $LATEST). */
function checkedFunction(req: IncomingMessage, ours: string): string {
  if (req.method !== "POST") throw new RequestError(405, "InvalidRequestContentException", "only POST");
  const match = PATH.exec(new URL(req.url ?? "/", "http://local.invalid").pathname);
  if (!match) throw new RequestError(404, "UnknownOperationException", `no such operation: ${req.url ?? ""}`);
  const given = decodeURIComponent(match[1]!);
  const parts = given.split(":");
  // name | account:function:name[:q] | arn:partition:lambda:region:account:function:name[:q]
  const nameAt = parts[0] === "arn" ? 6 : parts.length >= 3 ? 2 : 0;
  const name = parts[nameAt];
  const qualifier = parts[nameAt + 1];
  if (name !== ours || (qualifier !== undefined && qualifier !== "$LATEST") || parts.length > nameAt + 2) {
    throw new RequestError(404, "ResourceNotFoundException", `Function not found: ${given.slice(0, 200)}`);
  }
  return given;
}

function parsePayload(body: string): unknown {
  if (body === "") return {};
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new RequestError(400, "InvalidRequestContentException", "Could not parse request body into json");
  }
}

function reply(res: ServerResponse, status: number, requestId: string): void {
  res.writeHead(status, { "x-amzn-RequestId": requestId, "Content-Length": 0 });
  res.end();
}

function replyError(res: ServerResponse, requestId: string, error: RequestError): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify({ Type: error.status < 500 ? "User" : "Service", message: error.message });
  res.writeHead(error.status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    "x-amzn-RequestId": requestId,
    "x-amzn-ErrorType": error.type,
  });
  res.end(text);
}
