/**
 * The Stripe API key: from Secrets Manager when deployed, from the environment locally. The secret is read
 * through Powertools Parameters and kept for STRIPE_KEY_MAX_AGE_SECONDS, so a warm environment picks up a
 * rotated key within minutes; after Stripe refuses the key, `refreshStripeApiKey` reads it again at once.
 * No message here repeats the value.
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { BillingJobError } from "../core/errors";
import { redactSecrets } from "../core/secrets";

/** How long a read key is trusted before Secrets Manager is asked again. */
export const STRIPE_KEY_MAX_AGE_SECONDS = 5 * 60;

/** The key could not be read, or what was read is not a Stripe secret key. */
export class StripeKeyError extends BillingJobError {
  override readonly name: string = "StripeKeyError";
}

/** Where the key is: a Secrets Manager secret (deployed) or the environment (local). */
export type StripeKeySource =
  { readonly from: "secret"; readonly secretId: string } | { readonly from: "env"; readonly value: string };

let defaultProvider: SecretsProvider | undefined;
const providers = new WeakMap<SecretsManagerClient, SecretsProvider>();

/** The key, from the cache while it is younger than STRIPE_KEY_MAX_AGE_SECONDS. */
export function stripeApiKey(source: StripeKeySource, client?: SecretsManagerClient): Promise<string> {
  return readKey(source, client, false);
}

/** The key read again past the cache: Stripe refused the one in use, and it may have been rotated. */
export function refreshStripeApiKey(source: StripeKeySource, client?: SecretsManagerClient): Promise<string> {
  return readKey(source, client, true);
}

/** Replaces the key, and anything shaped like a Stripe secret key, in a text. */
export function redactor(key: string): (text: string) => string {
  return (text) => redactSecrets(text, [key]);
}

async function readKey(
  source: StripeKeySource,
  client: SecretsManagerClient | undefined,
  forceFetch: boolean,
) {
  if (source.from === "env") return checked(source.value, "STRIPE_SECRET_KEY");
  let value: unknown;
  try {
    value = await provider(client).get(source.secretId, { maxAge: STRIPE_KEY_MAX_AGE_SECONDS, forceFetch });
  } catch (error) {
    throw readFailure(source.secretId, error);
  }
  return checked(
    keyIn(typeof value === "string" ? value.trim() : "", source.secretId),
    `secret ${source.secretId}`,
  );
}

/** One provider (and so one cache) per client: the default one lives as long as the warm environment. */
function provider(client: SecretsManagerClient | undefined): SecretsProvider {
  if (client === undefined) return (defaultProvider ??= new SecretsProvider());
  let found = providers.get(client);
  if (!found) providers.set(client, (found = new SecretsProvider({ awsSdkV3Client: client })));
  return found;
}

function readFailure(secretId: string, error: unknown): StripeKeyError {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  // The stack creates the secret empty; until an operator puts the key in, there is no AWSCURRENT.
  if (
    cause instanceof Error &&
    cause.name === "ResourceNotFoundException" &&
    /AWSCURRENT/.test(cause.message)
  ) {
    return new StripeKeyError(
      `The Stripe secret ${secretId} has no value yet. Put the key in: aws secretsmanager put-secret-value ` +
        `--secret-id ${secretId} --secret-string sk_live_... (see docs/deploy.md)`,
      { cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new StripeKeyError(`Could not read the Stripe secret ${secretId}: ${message}`, { cause: error });
}

/** Either the bare key, or JSON with an apiKey field (what the console's key/value editor writes). */
function keyIn(text: string, secretId: string): string {
  if (!text.startsWith("{")) return text;
  try {
    return String((JSON.parse(text) as { apiKey?: unknown }).apiKey ?? "");
  } catch {
    // JSON.parse's message quotes the text, key included: say what is wrong without it.
    throw new StripeKeyError(`secret ${secretId} starts with "{" but is not valid JSON`);
  }
}

function checked(key: string, where: string): string {
  if (!/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/.test(key)) {
    throw new StripeKeyError(
      `${where} does not hold a Stripe secret key (expected sk_test_..., sk_live_..., rk_...)`,
    );
  }
  return key;
}
