/**
 * The HTTP layer (node:http): reads requests, hands /v1 requests to the pipeline and /__emulator/ ones
 * to the admin API, and carries out the pipeline's disposition, including the two that send nothing:
 * holding the socket open (a timeout, until the client gives up or the emulator stops) and destroying
 * it (a connection dropped after the charge). Nothing a client sends can crash it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { handleAdmin, type EmulatorControls } from "./admin";
import type { Json } from "./json";
import type { Pipeline } from "./pipeline";
import { newRequestId } from "./random";
import { BillingJobError } from "../../functions/core/errors";
import { header, readBody } from "../http-request";

const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpServer {
  readonly port: number;
  close(): Promise<void>;
}

class BodyTooLarge extends BillingJobError {
  override readonly name: string = "BodyTooLarge";
}

function send(res: ServerResponse, status: number, body: Json, headers: Record<string, string>): void {
  if (res.destroyed || res.headersSent) return;
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-cache, no-store",
    ...headers,
  });
  res.end(text);
}

export function startHttpServer(
  pipeline: Pipeline,
  controls: EmulatorControls,
  apiVersion: string,
  host: string,
  port: number,
): Promise<HttpServer> {
  const sockets = new Set<Socket>();
  const held = new Set<ServerResponse>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Its headers are in: as close to when it left its sender as this process can tell.
    const receivedAt = Date.now();
    const requestId = newRequestId();
    const base = { "Request-Id": requestId, "Stripe-Version": apiVersion };
    const url = new URL(req.url ?? "/", "http://emulator.invalid");
    let body: string;
    try {
      body = await readBody(req, MAX_BODY_BYTES, () => new BodyTooLarge("request body too large"));
    } catch (error) {
      const message =
        error instanceof BodyTooLarge
          ? "The request body is too large."
          : "The request body could not be read.";
      send(res, 400, { error: { type: "invalid_request_error", message } }, base);
      return;
    }
    if (url.pathname.startsWith("/__emulator/")) {
      const answer = handleAdmin(controls, req.method ?? "GET", url.pathname, body, url.search.slice(1));
      send(res, answer.status, answer.body, base);
      return;
    }
    const disposition = await pipeline.handle({
      method: req.method ?? "GET",
      pathname: url.pathname,
      query: url.search.slice(1),
      body,
      authorization: header(req, "authorization"),
      idempotencyKey: header(req, "idempotency-key"),
      requestId,
      receivedAt,
    });
    switch (disposition.kind) {
      case "respond":
        send(res, disposition.status, disposition.body, { ...base, ...disposition.headers });
        return;
      case "hold":
        // The request committed; the client hears nothing until it times out.
        held.add(res);
        res.on("close", () => held.delete(res));
        return;
      case "drop":
        req.socket.destroy();
        return;
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error("stripe-emulator: request failed", error);
      send(
        res,
        500,
        { error: { type: "api_error", message: "The Stripe emulator failed on this request." } },
        {},
      );
    });
  });
  // Long enough that the SDK's keep-alive sockets are not closed under it between requests.
  server.keepAliveTimeout = 60_000;
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("clientError", (_error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      const actualPort = typeof address === "object" && address !== null ? address.port : port;
      resolve({
        port: actualPort,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const res of held) res.socket?.destroy();
            server.closeAllConnections();
            for (const socket of sockets) socket.destroy();
          }),
      });
    });
  });
}
