/**
 * The Stripe API key: from Secrets Manager when deployed (fetched once per warm environment), from the
 * environment locally. The key is never logged; `redactor` scrubs it from any text that might be.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { StripeSettings } from "../handler/config";

let cached: { secretId: string; key: Promise<string> } | undefined;

export async function stripeApiKey(
  source: StripeSettings["key"],
  client?: SecretsManagerClient,
): Promise<string> {
  if (source.from === "env") return checked(source.value, "STRIPE_SECRET_KEY");
  if (cached?.secretId !== source.secretId) {
    const key = fetchSecret(source.secretId, client ?? new SecretsManagerClient({}));
    cached = { secretId: source.secretId, key };
    // A failed fetch is not cached: the next invocation tries again.
    key.catch(() => {
      if (cached?.key === key) cached = undefined;
    });
  }
  return cached.key;
}

async function fetchSecret(secretId: string, client: SecretsManagerClient): Promise<string> {
  let result;
  try {
    result = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  } catch (error) {
    // The stack creates the secret empty; until an operator puts the key in, there is no AWSCURRENT.
    if (
      error instanceof Error &&
      error.name === "ResourceNotFoundException" &&
      /AWSCURRENT/.test(error.message)
    ) {
      throw new Error(
        `The Stripe secret ${secretId} has no value yet. Put the key in: aws secretsmanager put-secret-value ` +
          `--secret-id ${secretId} --secret-string sk_live_... (see docs/deploy.md)`,
      );
    }
    throw error;
  }
  const text = result.SecretString?.trim() ?? "";
  // Either the bare key, or JSON with an apiKey field (what the console's key/value editor writes).
  const key = text.startsWith("{") ? String((JSON.parse(text) as { apiKey?: unknown }).apiKey ?? "") : text;
  return checked(key, `secret ${secretId}`);
}

function checked(key: string, where: string): string {
  if (!/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/.test(key)) {
    // Say what is wrong without repeating the value.
    throw new Error(`${where} does not hold a Stripe secret key (expected sk_test_..., sk_live_..., rk_...)`);
  }
  return key;
}

/** Replaces every occurrence of the key in a text. For error messages that leave the function. */
export function redactor(key: string): (text: string) => string {
  return (text) => (key.length > 0 ? text.split(key).join("[redacted]") : text);
}
