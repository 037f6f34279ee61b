/** Raw HTTP against the emulator, for what the SDK would hide: headers, socket errors, malformed input. */
import { request } from "node:http";

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
  readonly text: string;
}

export interface RawRequest {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs?: number;
}

/** Resolves with the response, or rejects with the socket error (code ECONNRESET, ETIMEDOUT...). */
export function raw(baseUrl: string, req: RawRequest): Promise<RawResponse> {
  const url = new URL(req.path, baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: req.method ?? "GET",
        headers: {
          ...(req.body !== undefined && {
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": String(Buffer.byteLength(req.body)),
          }),
          ...req.headers,
        },
        agent: false,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("error", reject);
        res.on("end", () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
        });
      },
    );
    outgoing.setTimeout(req.timeoutMs ?? 10_000, () => {
      const error = Object.assign(new Error("timed out"), { code: "ETIMEDOUT" });
      outgoing.destroy(error);
    });
    outgoing.on("error", reject);
    if (req.body !== undefined) outgoing.write(req.body);
    outgoing.end();
  });
}

export const AUTH = { Authorization: "Bearer sk_test_raw_http" };

/** The `error` object of a Stripe error body. */
export function errorOf(res: RawResponse): Record<string, unknown> {
  return (res.body as { error: Record<string, unknown> }).error;
}
