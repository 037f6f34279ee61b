/**
 * The Stripe key's source: Secrets Manager when deployed (fetched once per warm environment, either a
 * bare key or {"apiKey": ...}), the environment locally; refusals say what is wrong without the value.
 */
import { describe, expect, it } from "vitest";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { redactor, stripeApiKey } from "../../functions/aws/stripe-key";

function fakeClient(answer: () => Promise<{ SecretString?: string }>) {
  let calls = 0;
  const client = { send: async () => (calls++, answer()) } as unknown as SecretsManagerClient;
  return { client, calls: () => calls };
}

describe("from Secrets Manager", () => {
  it("fetches once and caches across invocations", async () => {
    const fake = fakeClient(async () => ({ SecretString: "sk_test_cached123" }));
    const source = {
      from: "secret" as const,
      secretId: "arn:aws:secretsmanager:eu-west-1:1:secret:a-AbCdEf",
    };
    expect(await stripeApiKey(source, fake.client)).toBe("sk_test_cached123");
    expect(await stripeApiKey(source, fake.client)).toBe("sk_test_cached123");
    expect(fake.calls()).toBe(1);
  });

  it("reads the JSON form the console's key/value editor writes", async () => {
    const fake = fakeClient(async () => ({ SecretString: '{"apiKey":"sk_live_json456"}' }));
    expect(await stripeApiKey({ from: "secret", secretId: "json-form" }, fake.client)).toBe(
      "sk_live_json456",
    );
  });

  it("says how to fill an empty secret, and does not cache the failure", async () => {
    let empty = true;
    const fake = fakeClient(async () => {
      if (empty) {
        const error = new Error(
          "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
        );
        error.name = "ResourceNotFoundException";
        throw error;
      }
      return { SecretString: "sk_test_later789" };
    });
    const source = { from: "secret" as const, secretId: "empty-then-filled" };
    await expect(stripeApiKey(source, fake.client)).rejects.toThrow(/has no value yet.*put-secret-value/);
    empty = false;
    expect(await stripeApiKey(source, fake.client)).toBe("sk_test_later789");
  });

  it("refuses a value that is not a Stripe secret key, without repeating it", async () => {
    const fake = fakeClient(async () => ({ SecretString: "pk_live_publishable" }));
    const failure = stripeApiKey({ from: "secret", secretId: "wrong-kind" }, fake.client);
    await expect(failure).rejects.toThrow(/does not hold a Stripe secret key/);
    await expect(failure).rejects.not.toThrow(/pk_live_publishable/);
  });
});

describe("redaction", () => {
  it("removes every occurrence of the key from a text", () => {
    expect(redactor("sk_test_abc")("Invalid key sk_test_abc, sk_test_abc")).toBe(
      "Invalid key [redacted], [redacted]",
    );
  });
});
