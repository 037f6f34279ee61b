/**
 * The Stripe key's source: Secrets Manager when deployed, read through Powertools Parameters with a
 * five-minute max age (a bare key or {"apiKey": ...}), the environment locally. A forced read bypasses the
 * cache (after Stripe refused the key). Refusals say what is wrong without the value. Secrets Manager is
 * a local HTTP stub here, spoken to by the real AWS SDK client.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import {
  redactor,
  refreshStripeApiKey,
  STRIPE_KEY_MAX_AGE_SECONDS,
  StripeKeyError,
  stripeApiKey,
} from "../../functions/aws/stripe-key";
import { BillingJobError } from "../../functions/core/errors";
import { startHttpStub, type HttpStub, type StubAnswer } from "../stripe/support/http-stub";

/** What the stub's Secrets Manager holds, by secret id: a string, or an error to answer with. */
let secrets: Record<string, string | { type: string; message: string }> = {};
let stub: HttpStub;
let client: SecretsManagerClient;

beforeAll(async () => {
  stub = await startHttpStub((request) => getSecretValue(JSON.parse(request.body) as { SecretId: string }));
});
afterAll(async () => {
  await stub?.close();
});
beforeEach(() => {
  secrets = {};
  stub.requests.length = 0;
  // A client per test: each has its own cache, as a new warm environment would.
  client = new SecretsManagerClient({
    endpoint: stub.url,
    region: "eu-west-1",
    credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test" },
    maxAttempts: 1,
  });
});
afterEach(() => {
  vi.useRealTimers();
  client.destroy();
});

function getSecretValue({ SecretId }: { SecretId: string }): StubAnswer {
  const held = secrets[SecretId];
  const headers = { "Content-Type": "application/x-amz-json-1.1" };
  if (held === undefined) {
    return {
      status: 400,
      headers,
      body: {
        __type: "ResourceNotFoundException",
        message: "Secrets Manager can't find the specified secret.",
      },
    };
  }
  if (typeof held !== "string")
    return { status: 400, headers, body: { __type: held.type, message: held.message } };
  return {
    status: 200,
    headers,
    body: { ARN: SecretId, Name: SecretId, SecretString: held, VersionId: "v1" },
  };
}

const secret = (secretId: string) => ({ from: "secret" as const, secretId });

describe("from Secrets Manager", () => {
  it("reads once, then answers from the cache within the max age", async () => {
    secrets["cached"] = "sk_test_cached123";
    expect(await stripeApiKey(secret("cached"), client)).toBe("sk_test_cached123");
    expect(await stripeApiKey(secret("cached"), client)).toBe("sk_test_cached123");
    expect(stub.requests).toHaveLength(1);
  });

  it("reads again once the max age has passed, so a warm environment picks up a rotated key", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    secrets["aging"] = "sk_test_before";
    expect(await stripeApiKey(secret("aging"), client)).toBe("sk_test_before");
    secrets["aging"] = "sk_test_after";
    vi.setSystemTime(Date.now() + (STRIPE_KEY_MAX_AGE_SECONDS - 10) * 1000);
    expect(await stripeApiKey(secret("aging"), client)).toBe("sk_test_before");
    vi.setSystemTime(Date.now() + 20_000);
    expect(await stripeApiKey(secret("aging"), client)).toBe("sk_test_after");
    expect(stub.requests).toHaveLength(2);
  });

  it("a forced read bypasses the cache and refreshes it", async () => {
    secrets["rotated"] = "sk_live_old";
    expect(await stripeApiKey(secret("rotated"), client)).toBe("sk_live_old");
    secrets["rotated"] = "sk_live_new";
    expect(await stripeApiKey(secret("rotated"), client)).toBe("sk_live_old");
    expect(await refreshStripeApiKey(secret("rotated"), client)).toBe("sk_live_new");
    expect(await stripeApiKey(secret("rotated"), client)).toBe("sk_live_new");
    expect(stub.requests).toHaveLength(2);
  });

  it("reads the JSON form the console's key/value editor writes", async () => {
    secrets["json-form"] = '{"apiKey":"sk_live_json456"}';
    expect(await stripeApiKey(secret("json-form"), client)).toBe("sk_live_json456");
  });

  it("says how to fill an empty secret, and does not cache the failure", async () => {
    secrets["empty-then-filled"] = {
      type: "ResourceNotFoundException",
      message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
    };
    const failure = stripeApiKey(secret("empty-then-filled"), client);
    await expect(failure).rejects.toThrow(/has no value yet.*put-secret-value/);
    await expect(failure).rejects.toBeInstanceOf(StripeKeyError);
    secrets["empty-then-filled"] = "sk_test_later789";
    expect(await stripeApiKey(secret("empty-then-filled"), client)).toBe("sk_test_later789");
  });

  it("names the secret when it cannot be read, keeping the cause", async () => {
    secrets["denied"] = {
      type: "AccessDeniedException",
      message: "not authorized to perform GetSecretValue",
    };
    const error = await stripeApiKey(secret("denied"), client).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BillingJobError);
    expect((error as Error).message).toMatch(/Could not read the Stripe secret denied: .*not authorized/);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it.each([
    ["a publishable key", "pk_live_publishable"],
    ["JSON without an apiKey", '{"key":"sk_live_misplaced1"}'],
    ["broken JSON", '{"apiKey": sk_live_unquoted2}'],
  ])("refuses %s, without repeating the value", async (_name, value) => {
    secrets["wrong-kind"] = value;
    const error = await stripeApiKey(secret("wrong-kind"), client).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StripeKeyError);
    expect((error as Error).message).toMatch(
      /secret wrong-kind .*(does not hold a Stripe secret key|not valid JSON)/,
    );
    for (const part of ["pk_live_publishable", "sk_live_misplaced1", "sk_live_unquoted2"]) {
      expect((error as Error).message).not.toContain(part);
    }
  });
});

describe("from the environment", () => {
  it("takes the variable's value, and refuses one that is not a key without repeating it", async () => {
    expect(await stripeApiKey({ from: "env", value: "rk_test_restricted9" })).toBe("rk_test_restricted9");
    const failure = stripeApiKey({ from: "env", value: "pk_test_oops" });
    await expect(failure).rejects.toThrow(/STRIPE_SECRET_KEY does not hold a Stripe secret key/);
    await expect(failure).rejects.not.toThrow(/pk_test_oops/);
  });
});

describe("redaction", () => {
  it("removes every occurrence of the key, and anything shaped like a Stripe secret key, from a text", () => {
    expect(redactor("sk_test_abc")("Invalid key sk_test_abc, sk_test_abc; old rk_live_Zz9")).toBe(
      "Invalid key [redacted], [redacted]; old [redacted]",
    );
  });
});
