/**
 * API keys. Any well-formed secret or restricted key is accepted (`sk_test_...`, `sk_live_...`,
 * `rk_test_...`); by default the key is the account, so idempotency keys are scoped to it. With
 * `singleAccount`, every key of a mode is a key of one account (as an account's several secret and
 * restricted keys are): idempotency keys are shared, and the key still says who sent the request. Bearer
 * auth as the SDK sends it, or Basic auth with the key as the user name as curl's `-u sk_test_...:` sends it.
 */
import { invalidApiKey, missingApiKey, type ApiError } from "./errors";

export interface Account {
  /** What idempotency keys are scoped to: the API key itself, or the mode with `singleAccount`. */
  readonly id: string;
  /** The API key the request was sent with: its sender, in the request log. */
  readonly key: string;
  readonly livemode: boolean;
}

const KEY_SHAPE = /^(sk|rk)_(test|live)_[0-9A-Za-z_]+$/;

export function authenticate(header: string | undefined, singleAccount = false): Account | ApiError {
  if (header === undefined || header.trim() === "") return missingApiKey();
  const [scheme, credentials = ""] = header.trim().split(/\s+/, 2) as [string, string?];
  let key: string;
  if (scheme.toLowerCase() === "bearer") key = credentials;
  else if (scheme.toLowerCase() === "basic")
    key = Buffer.from(credentials, "base64").toString("utf8").split(":")[0] ?? "";
  else key = header.trim();
  if (key === "") return missingApiKey();
  if (!KEY_SHAPE.test(key)) return invalidApiKey(key);
  const livemode = key.includes("_live_");
  return { id: singleAccount ? (livemode ? "account_live" : "account_test") : key, key, livemode };
}
