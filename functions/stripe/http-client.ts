/**
 * The SDK's HTTP client without its one hidden retry. stripe-node retries a request once after a closed
 * connection (ECONNRESET, EPIPE) even with `maxNetworkRetries: 0`, and does it at once: after a pause
 * (SIGSTOP, a frozen Lambda), that retry leaves before the process can ask whether it still may send.
 * Giving the error another code turns that retry off; the gateway's own policy then decides, after the
 * send guard.
 *
 * It is also where the send guard is asked: here, right before the socket, and not before the SDK call,
 * so that nothing the SDK does on the way (its chain of callbacks and promises) comes between the last
 * check and the request leaving. Then once more in the socket's own write (guardedAgent below): Node
 * writes a request out only when it has a socket, a turn of the event loop later for a kept-alive one, a
 * whole connect later for a new one, and a process paused in between (SIGSTOP, a frozen Lambda) would
 * send after waking with its lease long gone.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import http from "node:http";
import https from "node:https";
import type { Duplex } from "node:stream";
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

/** One agent per protocol for every client of the process, kept alive as stripe-node's own defaults are. */
const AGENTS = {
  http: guardedAgent(new http.Agent({ keepAlive: true }), "connect"),
  https: guardedAgent(new https.Agent({ keepAlive: true }), "secureConnect"),
} as const;

/** The process's agent for `protocol` (tests close its connections to make the next request open one). */
export function stripeAgent(protocol: "http" | "https"): http.Agent {
  return AGENTS[protocol];
}

/** The SDK's Node client for `protocol` (its agent must match it), without the hidden retry, guarded. */
export function noHiddenRetryHttpClient(
  protocol: "http" | "https",
  inner: HttpClient = Stripe.createNodeHttpClient(AGENTS[protocol]),
): HttpClient {
  return {
    getClientName: () => inner.getClientName(),
    makeRequest: (...args: Parameters<HttpClient["makeRequest"]>) => {
      const refused = refusedBy(currentTry.getStore());
      if (refused) return Promise.reject(refused);
      return inner.makeRequest(...args).catch((error: unknown) => {
        throw renamed(error);
      });
    },
  };
}

/**
 * `agent`, asking the try's guard again at the last step JavaScript takes before a request's bytes leave:
 * the socket's own write (`_write`/`_writev`, which hand the bytes to the OS), on every write while the
 * socket carries that try's request. Node writes a request out once it has a socket: a turn of the event
 * loop after `http.request` for a kept-alive socket, a whole connect later for a new one (its writes wait,
 * corked, until it is up, so that they meet the guard then and not before). A refusal fails the write,
 * which destroys the socket with nothing sent, and is recorded on the try, as makeRequest's is.
 * Uses the Agent's documented hooks (`createConnection`, `reuseSocket`), both called while `http.request`
 * runs, so the try is the one in currentTry; with the default `maxSockets` (Infinity) no request waits in
 * the agent's queue, so every one passes through one of them. makeRequest's earlier check stays: a try
 * refused there opens no connection.
 */
function guardedAgent<A extends http.Agent>(agent: A, ready: "connect" | "secureConnect"): A {
  const createConnection = agent.createConnection.bind(agent);
  const reuseSocket = agent.reuseSocket.bind(agent);
  agent.createConnection = (options, callback) => {
    const socket = createConnection(options, callback);
    if (!socket) return socket;
    guardWrites(socket);
    if (carry(socket)) {
      socket.cork();
      socket.once(ready, () => socket.uncork());
    }
    return socket;
  };
  agent.reuseSocket = (socket, request) => {
    reuseSocket(socket, request);
    carry(socket);
  };
  return agent;
}

/** The guarded try whose request each socket carries now (none: its writes go as they are). */
const carried = new WeakMap<Duplex, GuardedTry>();

/** Marks `socket` as carrying the current try's request, if it is guarded; says whether it is. */
function carry(socket: Duplex): boolean {
  const attempt = currentTry.getStore();
  if (!attempt?.guard) {
    carried.delete(socket);
    return false;
  }
  carried.set(socket, attempt);
  return true;
}

/** Wraps the socket's write methods (every socket of the agent, once, as it is made) in the check. */
function guardWrites(socket: Duplex): void {
  const write = socket._write.bind(socket);
  socket._write = (chunk, encoding, callback) =>
    checked(socket, callback, () => write(chunk, encoding, callback));
  const writev = socket._writev?.bind(socket);
  if (writev)
    socket._writev = (chunks, callback) => checked(socket, callback, () => writev(chunks, callback));
}

/** Writes, unless the guard of the try `socket` carries refuses: then the write fails with the refusal. */
function checked(socket: Duplex, callback: (error?: Error | null) => void, write: () => void): void {
  const refused = refusedBy(carried.get(socket));
  if (refused) callback(refused);
  else write();
}

/** Asks the try's guard (none: allowed); a refusal is recorded on the try and returned as the error. */
function refusedBy(attempt: GuardedTry | undefined): SendRefusedError | null {
  const reason = attempt?.guard?.() ?? null;
  if (!attempt || reason === null) return null;
  attempt.refusal = reason;
  return new SendRefusedError(reason);
}

function renamed(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !Stripe.HttpClient.CONNECTION_CLOSED_ERROR_CODES.includes(code)) {
    return error;
  }
  return new ConnectionClosedError(code, { cause: error });
}
