/**
 * The errors thrown on the money path are typed (functions/core/errors.ts): each is a BillingJobError,
 * names itself with a literal that survives the minified Lambda bundle, and keeps what caused it, so the
 * handler's log line shows the whole chain. The fenced writer's are provoked through its real retry and
 * cancellation handling, with DynamoDB's own TransactionCanceledException class; DynamoDB Local cannot
 * be made to throttle or to conflict nine times in a row on demand. Lease contention is provoked on
 * DynamoDB Local in test/integration/lease/lease.test.ts ("contention").
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type Stripe from "stripe";
import { BillingJobError } from "../../functions/core/errors";
import { ManualClock } from "../../functions/core/clock";
import { InvalidInputError } from "../../functions/core/input-error";
import { LeaseContentionError } from "../../functions/core/lease/lease-contention-error";
import { UnreadableRecordError } from "../../functions/core/billing-run/ports";
import { FencedWriter, type FencedItem } from "../../functions/aws/fenced-writer";
import { FencedWriteCancelledError, FencedWriteConflictError } from "../../functions/aws/fenced-write-errors";
import { StripeKeyError } from "../../functions/aws/stripe-key";
import { PaymentProviderConfigError, StripeApiFailure } from "../../functions/stripe/stripe-gateway";
import {
  CONNECTION_CLOSED,
  ConnectionClosedError,
  noHiddenRetryHttpClient,
} from "../../functions/stripe/http-client";
import { InvalidEventError } from "../../functions/handler/billing-event";

const TOKEN = { leaseKey: "billing/shard-0", owner: "c1", fence: 3 };
const ITEM: FencedItem = { Put: { TableName: "charges", Item: { pk: "sub_1", sk: "2026-01-01" } } };

/** A document client whose every transaction DynamoDB cancels with these reasons (the fence check first). */
function cancelling(codes: readonly string[]): { doc: DynamoDBDocumentClient; sent: () => number } {
  let sent = 0;
  const send = async () => {
    sent += 1;
    throw new TransactionCanceledException({
      message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(", ")}]`,
      $metadata: {},
      CancellationReasons: codes.map((Code) => ({ Code })),
    });
  };
  return { doc: { send } as unknown as DynamoDBDocumentClient, sent: () => sent };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("expected a rejection"),
    (error: unknown) => error,
  );
}

describe("fenced write errors", () => {
  const cases: [string, string[], new (...args: never[]) => Error, object, string, number][] = [
    [
      "a cancellation for a reason the writer does not retry",
      ["None", "ThrottlingError"],
      FencedWriteCancelledError,
      { name: "FencedWriteCancelledError", code: "ThrottlingError" },
      "fenced write cancelled: ThrottlingError",
      1,
    ],
    [
      "a write that still conflicts after eight retries",
      ["None", "TransactionConflict"],
      FencedWriteConflictError,
      { name: "FencedWriteConflictError", conflicts: 9 },
      "fenced write: too many transaction conflicts",
      9,
    ],
  ];
  it.each(cases)(
    "%s is a typed BillingJobError caused by DynamoDB's cancellation",
    async (_case, codes, type, fields, message, sends) => {
      const dynamo = cancelling(codes);
      const writer = new FencedWriter(dynamo.doc, "leases", new ManualClock(0));
      const error = await rejection(writer.write(TOKEN, [ITEM]));
      expect(error).toBeInstanceOf(type);
      expect(error).toBeInstanceOf(BillingJobError);
      expect(error).toMatchObject(fields);
      expect((error as Error).message).toBe(message);
      expect((error as Error).cause).toBeInstanceOf(TransactionCanceledException);
      expect(dynamo.sent()).toBe(sends);
    },
  );

  it("a cancellation by the fence check is a result, not an error", async () => {
    const dynamo = cancelling(["ConditionalCheckFailed", "None"]);
    const writer = new FencedWriter(dynamo.doc, "leases", new ManualClock(0));
    await expect(writer.write(TOKEN, [ITEM])).resolves.toEqual({ ok: false, reason: "fenced-out" });
  });

  it("a write of no items is refused as InvalidInputError before anything is sent", async () => {
    const dynamo = cancelling(["None"]);
    const writer = new FencedWriter(dynamo.doc, "leases", new ManualClock(0));
    const error = await rejection(writer.write(TOKEN, []));
    expect(error).toMatchObject({ name: "InvalidInputError", field: "items" });
    expect(dynamo.sent()).toBe(0);
  });
});

/** What the SDK's HTTP client, wrapped as the gateway wraps it, rejects with when the socket fails so. */
function failedRequest(socketError: Error): Promise<unknown> {
  const inner = {
    getClientName: () => "stub",
    makeRequest: () => Promise.reject(socketError),
  } as unknown as ReturnType<typeof Stripe.createNodeHttpClient>;
  const client = noHiddenRetryHttpClient("https", inner);
  return rejection(
    client.makeRequest("api.stripe.com", "443", "/v1/payment_intents", "POST", {}, "", "https", 1000),
  );
}

describe("Stripe's closed connection", () => {
  it("is a ConnectionClosedError under a code the SDK does not retry, caused by the socket's error", async () => {
    const socket = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    const error = await failedRequest(socket);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).toMatchObject({
      name: "ConnectionClosedError",
      code: CONNECTION_CLOSED,
      socketCode: "ECONNRESET",
    });
    expect((error as Error).message).toBe("connection closed (ECONNRESET): socket hang up");
    expect((error as Error).cause).toBe(socket);
  });

  it("passes any other failure through unchanged", async () => {
    const timeout = Object.assign(new Error("timed out"), { code: "ETIMEDOUT" });
    expect(await failedRequest(timeout)).toBe(timeout);
  });
});

describe("every BillingJobError subclass", () => {
  const cause = new Error("underneath");
  type Ctor = new (...args: never[]) => BillingJobError;
  const cases: [string, Ctor, unknown[]][] = [
    ["LeaseContentionError", LeaseContentionError, ["billing/shard-0", 8, "still contended", { cause }]],
    ["FencedWriteCancelledError", FencedWriteCancelledError, ["ThrottlingError", { cause }]],
    ["FencedWriteConflictError", FencedWriteConflictError, [9, { cause }]],
    ["ConnectionClosedError", ConnectionClosedError, ["EPIPE", { cause }]],
    ["InvalidInputError", InvalidInputError, ["field", "bad", { cause }]],
    ["UnreadableRecordError", UnreadableRecordError, ["amount", "beyond exact range", { cause }]],
    ["StripeKeyError", StripeKeyError, ["unreadable", { cause }]],
    ["PaymentProviderConfigError", PaymentProviderConfigError, ["refused", { cause }]],
  ];
  it.each(cases)("%s names itself, also when minified, and keeps its cause", (name, ctor, args) => {
    const error = Reflect.construct(ctor, args) as BillingJobError;
    expect(error).toBeInstanceOf(BillingJobError);
    expect(error.name).toBe(name);
    expect(error.cause).toBe(cause);
    // As in the minified bundle: the same class under a one-letter name still logs its real name.
    class a extends (ctor as unknown as new (...args: unknown[]) => BillingJobError) {}
    expect(Reflect.construct(ctor, args, a).name).toBe(name);
  });

  it("names hold for the errors that take no cause", () => {
    class a extends StripeApiFailure {}
    expect(new a("declined", "card_error", 402, null, null).name).toBe("StripeApiFailure");
    class b extends InvalidEventError {}
    expect(new b(["action: required"]).name).toBe("InvalidEventError");
  });
});

describe("the repository's error classes", () => {
  const ROOT = join(__dirname, "..", "..");
  const SOURCES = ["functions", "lib", "cli", "dev", "bench", "localstack"];
  const sources = SOURCES.flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".ts"))
      .map((file) => join(dir, file)),
  );
  const declarations = sources.flatMap((file) => {
    const text = readFileSync(join(ROOT, file), "utf8");
    return [...text.matchAll(/class (\w+) extends (\w+)(?:<[^>]*>)? \{([^]*?)\n\}/g)]
      .filter(([, , base]) => base === "Error" || base!.endsWith("Error") || base === "BillingJobError")
      .map(([, name, base, body]) => ({ file, name: name!, base: base!, body: body! }));
  });

  it("are found (the scan reads the sources)", () => {
    expect(declarations.map((d) => d.name)).toEqual(
      expect.arrayContaining(["BillingJobError", "UsageError", "ConfigError", "ApiError", "OptionError"]),
    );
  });

  it("extend BillingJobError, never Error itself, and each sets its name", () => {
    const wrong = declarations
      .filter((d) => d.name !== "BillingJobError")
      .flatMap((d) => [
        ...(d.base === "Error" ? [`${d.file}: ${d.name} extends Error`] : []),
        ...(new RegExp(`override readonly name(: string)? = "${d.name}"`).test(d.body)
          ? []
          : [`${d.file}: ${d.name} sets no name`]),
      ]);
    expect(wrong).toEqual([]);
  });
});
