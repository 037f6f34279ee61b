/**
 * Protects the Stripe key: it appears in no log line, no stored item and no thrown error, even when
 * Stripe's answers echo it. The real handler runs against DynamoDB Local and a local HTTP stub that
 * answers Stripe-shaped 400, 402 and 500 errors whose messages carry the bearer key; the function's
 * logger is also checked on its own, since the gateway scrubbing first would hide a logger that does not.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { dueSubscriptions, seedSubscriptions, stripeClient } from "../../dev/seed";
import { scanAll } from "../../dev/invariants";
import { redactSecrets } from "../../functions/core/secrets";
import { createTelemetry } from "../../functions/handler/telemetry";
import { createTestTables, type TestTables } from "../support/dynamo";
import {
  startHttpStub,
  stripeError,
  stubPaymentIntent,
  type HttpStub,
  type StubAnswer,
  type StubRequest,
} from "../stripe/support/http-stub";
import { functionEnvironment, lambdaContext } from "./harness";

const KEY = "sk_test_redactionSecret0123456789";
const AS_OF = "2026-11-23T12:00:00.000Z";
/** How each group of subscriptions fares at the stub: the prefix of their ids. */
const GROUPS = { rejected: "rej", cardErrorOnCreate: "card", serverError: "down", declined: "decl" };

let tables: TestTables;
let stub: HttpStub;
const echoedStatuses = new Set<number>();
const paymentIntents = new Map<string, Record<string, unknown>>();

beforeAll(async () => {
  [tables, stub] = await Promise.all([createTestTables("redaction"), startHttpStub(answer)]);
  const stripe = stripeClient(KEY, stub.url);
  for (const prefix of Object.values(GROUPS)) {
    await seedSubscriptions(tables.doc, tables.names, stripe, dueSubscriptions(2, AS_OF, 1, prefix));
  }
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await stub?.close();
});

/** The bearer key the request came with, echoed in an error message. */
function echo(
  request: StubRequest,
  status: number,
  type: string,
  extra: Record<string, unknown> = {},
): StubAnswer {
  const key = String(request.headers.authorization ?? "").replace(/^Bearer /, "");
  echoedStatuses.add(status);
  return stripeError(status, { type, message: `Request refused for key ${key}`, ...extra });
}

function answer(request: StubRequest): StubAnswer {
  const path = request.path.split("?")[0]!;
  if (path === "/v1/customers")
    return { status: 200, body: { id: `cus_${stub.requests.length}`, object: "customer" } };
  if (/^\/v1\/payment_methods\/[^/]+\/attach$/.test(path)) {
    return { status: 200, body: { id: `pm_${stub.requests.length}`, object: "payment_method" } };
  }
  if (request.method === "GET" && path === "/v1/payment_intents") {
    return { status: 200, body: { object: "list", data: [...paymentIntents.values()], has_more: false } };
  }
  if (path === "/v1/payment_intents") return create(request);
  const confirm = /^\/v1\/payment_intents\/([^/]+)\/confirm$/.exec(path);
  if (confirm) return decline(request, confirm[1]!);
  if (/\/cancel$/.test(path)) {
    return echo(request, 400, "invalid_request_error", { code: "payment_intent_unexpected_state" });
  }
  const retrieve = /^\/v1\/payment_intents\/([^/]+)$/.exec(path);
  const known = retrieve && paymentIntents.get(retrieve[1]!);
  if (known) return { status: 200, body: known };
  return echo(request, 500, "api_error");
}

function create(request: StubRequest): StubAnswer {
  const subscription = request.form.get("metadata[subscription_id]") ?? "";
  if (subscription.startsWith(GROUPS.rejected)) {
    return echo(request, 400, "invalid_request_error", { code: "parameter_invalid_integer" });
  }
  if (subscription.startsWith(GROUPS.cardErrorOnCreate)) {
    return echo(request, 402, "card_error", { code: "card_declined", decline_code: "do_not_honor" });
  }
  if (subscription.startsWith(GROUPS.serverError)) return echo(request, 500, "api_error");
  const id = `pi_${subscription}`;
  const metadata = Object.fromEntries(
    [...request.form.entries()]
      .filter(([k]) => k.startsWith("metadata["))
      .map(([k, v]) => [k.slice("metadata[".length, -1), v]),
  );
  const pi = stubPaymentIntent({ id, customer: request.form.get("customer"), metadata });
  paymentIntents.set(id, pi);
  return { status: 200, body: pi };
}

function decline(request: StubRequest, id: string): StubAnswer {
  const pi = { ...paymentIntents.get(id), status: "requires_payment_method" };
  const answer = echo(request, 402, "card_error", {
    code: "card_declined",
    decline_code: "generic_decline",
    payment_intent: {
      ...pi,
      last_payment_error: { code: "card_declined", decline_code: "generic_decline", message: `key ${KEY}` },
    },
  });
  paymentIntents.set(id, pi);
  return answer;
}

function environment(): Record<string, string> {
  const url = new URL(`http://${stub.host}:${stub.port}`);
  return functionEnvironment(tables, url, KEY, { STRIPE_MAX_NETWORK_RETRIES: "1" });
}

/** Runs `body` with everything written to stdout and stderr captured. */
async function captured(body: () => Promise<void>): Promise<string> {
  let logs = "";
  const capture = (chunk: string | Uint8Array) => ((logs += chunk.toString()), true);
  const out = vi.spyOn(process.stdout, "write").mockImplementation(capture);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(capture);
  try {
    await body();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return logs;
}

describe("the Stripe key, echoed by Stripe in 400, 402 and 500 answers", () => {
  it("appears in no log line, no table item and no error of a run and a rerun", async () => {
    const errors: string[] = [];
    const logs = await captured(async () => {
      vi.resetModules();
      for (const [k, v] of Object.entries(environment())) vi.stubEnv(k, v);
      const { handler } = await import("../../functions/handler/index");
      for (const event of [
        { source: "aws.events", "detail-type": "Scheduled Event", time: AS_OF, id: "e1" },
        { action: "rerun", asOf: AS_OF },
      ]) {
        await handler(event, lambdaContext()).catch((e: Error) =>
          errors.push(`${e.name}: ${e.message} ${e.stack}`),
        );
      }
    });
    // The stub really put the key in each kind of answer, and the run really logged.
    expect([...echoedStatuses].sort()).toEqual([400, 402, 500]);
    expect(logs).toContain("run finished");

    expect(logs).not.toContain(KEY);
    for (const message of errors) expect(message).not.toContain(KEY);
    for (const table of Object.values(tables.names)) {
      const items = await scanAll(tables.doc, table);
      expect(items.length).toBeGreaterThan(0);
      expect(JSON.stringify(items)).not.toContain(KEY);
    }
    // What Stripe said still reaches the logs, scrubbed.
    expect(logs).toContain("[redacted]");
  });
});

describe("the function's logger", () => {
  it("scrubs every line: the message, fields, object keys and errors with their causes", async () => {
    const oddKey = "sk_live_odd-shaped.key";
    const { logger } = createTelemetry(() => [oddKey]);
    const logs = await captured(async () => {
      logger.warn(`message with ${KEY}`, {
        nested: { deep: [`value ${oddKey}`] },
        [KEY]: "as an object key",
        error: new Error(`failed with ${KEY}`, { cause: new Error(`because of ${oddKey}`) }),
      });
      logger.error("an error argument", new Error(`rk_test_restricted1234 and ${KEY}`));
    });
    const lines = logs.trim().split("\n");
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toContain(KEY);
      expect(line).not.toContain(oddKey);
      expect(line).not.toContain("rk_test_restricted1234");
    }
    expect(lines[0]).toContain("message with [redacted]");
    expect(lines[0]).toContain("value [redacted]");
    expect(lines[0]).toContain("failed with [redacted]");
    expect(lines[0]).toContain("because of [redacted]");
  });
});

describe("the scrubber", () => {
  it("replaces every secret and restricted key, live or test, wherever it stands in the text", () => {
    const keys = ["sk_live_51Abc", "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "rk_live_9z_Y", "rk_test_x1"];
    for (const key of keys) {
      expect(redactSecrets(`Bearer ${key}`)).toBe("Bearer [redacted]");
      expect(redactSecrets(`"${key}",(${key})`)).toBe('"[redacted]",([redacted])');
    }
  });

  it("replaces a known key whatever its shape, and leaves what is no secret alone", () => {
    expect(redactSecrets("key=odd-key.value!", ["odd-key.value"])).toBe("key=[redacted]!");
    expect(redactSecrets("task_live_report, pk_live_pub, sk_test_****4242, sk_test_")).toBe(
      "task_live_report, pk_live_pub, sk_test_****4242, sk_test_",
    );
    // A known value too short to be a secret would garble the text if replaced everywhere.
    expect(redactSecrets("a b c", ["a"])).toBe("a b c");
  });
});
