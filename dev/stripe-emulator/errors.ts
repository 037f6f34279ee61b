/**
 * Stripe's error responses: `{"error": {type, code, decline_code, message, param, ...}}` with the status
 * code that makes stripe-node pick the right class (400/404 invalid request or idempotency, 401
 * authentication, 402 card, 409 and 5xx API error, 429 rate limit). Messages follow Stripe's wording
 * where it is known; docs/stripe-emulator.md lists where it is not.
 */
import type { JsonObject } from "./json";
import { BillingJobError } from "../../functions/core/errors";

export type ErrorType = "api_error" | "card_error" | "idempotency_error" | "invalid_request_error";

export interface StripeErrorBody {
  type: ErrorType;
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
  doc_url?: string;
  charge?: string;
  payment_intent?: JsonObject;
  payment_method?: JsonObject;
}

/** An error response. Thrown by validation and execution; the server turns it into HTTP. */
export class ApiError extends BillingJobError {
  override readonly name: string = "ApiError";
  constructor(
    readonly status: number,
    readonly error: StripeErrorBody,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(error.message);
  }

  body(): JsonObject {
    return { error: { ...this.error } };
  }
}

export function docUrl(code: string): string {
  return `https://stripe.com/docs/error-codes/${code.replace(/_/g, "-")}`;
}

interface InvalidOptions {
  param?: string;
  code?: string;
  status?: number;
}

export function invalidRequest(message: string, options: InvalidOptions = {}): ApiError {
  const { param, code, status = 400 } = options;
  return new ApiError(status, {
    type: "invalid_request_error",
    message,
    ...(code !== undefined && { code, doc_url: docUrl(code) }),
    ...(param !== undefined && { param }),
  });
}

export function parameterUnknown(name: string): ApiError {
  return invalidRequest(
    `Received unknown parameter: ${name}. For a list of valid parameters, see the API reference.`,
    { param: name, code: "parameter_unknown" },
  );
}

export function parameterMissing(name: string): ApiError {
  return invalidRequest(`Missing required param: ${name}.`, { param: name, code: "parameter_missing" });
}

export function parameterEmpty(name: string): ApiError {
  return invalidRequest(
    `You passed an empty string for '${name}'. We assume empty values are an attempt to unset a parameter; however '${name}' cannot be unset. You should remove '${name}' from your request or supply a non-empty value.`,
    { param: name, code: "parameter_invalid_empty" },
  );
}

/** `kind` is Stripe's word for the object in the message: payment_intent, customer, PaymentMethod... */
export function resourceMissing(kind: string, id: string, param: string, status = 400): ApiError {
  return invalidRequest(`No such ${kind}: '${id}'`, { param, code: "resource_missing", status });
}

export function unrecognizedUrl(method: string, path: string): ApiError {
  return invalidRequest(
    `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    { status: 404 },
  );
}

export function missingApiKey(): ApiError {
  return new ApiError(
    401,
    {
      type: "invalid_request_error",
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    },
    { "WWW-Authenticate": 'Basic realm="Stripe"' },
  );
}

export function invalidApiKey(key: string): ApiError {
  const shown = key.length > 12 ? `${key.slice(0, 8)}${"*".repeat(key.length - 12)}${key.slice(-4)}` : key;
  return new ApiError(
    401,
    { type: "invalid_request_error", message: `Invalid API Key provided: ${shown}` },
    { "WWW-Authenticate": 'Basic realm="Stripe"' },
  );
}

export function rateLimited(): ApiError {
  return invalidRequest(
    "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.",
    { code: "rate_limit", status: 429 },
  );
}

/** A 500. When it is saved under an idempotency key a retry only replays it, so Stripe says don't. */
export function apiError(saved: boolean): ApiError {
  return new ApiError(
    500,
    {
      type: "api_error",
      message:
        "An unknown error occurred while processing your request. Please try again later, or contact us at https://support.stripe.com/.",
    },
    saved ? { "Stripe-Should-Retry": "false" } : {},
  );
}

export function idempotencyKeyLength(length: number): ApiError {
  return invalidRequest(
    `Idempotent key length is ${length}, which is outside accepted lengths. Idempotent Keys must be 1-255 characters long. If you're looking for a decent generator, try using a UUID defined by IETF RFC 4122.`,
  );
}

export function idempotencyParamsMismatch(key: string): ApiError {
  return new ApiError(400, {
    type: "idempotency_error",
    message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
  });
}

export function idempotencyEndpointMismatch(key: string, first: string, now: string): ApiError {
  return new ApiError(400, {
    type: "idempotency_error",
    message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${first}' vs '${now}'). Try using a key other than '${key}' if you meant to execute a different request.`,
  });
}

/**
 * The type of this error is not documented by Stripe; the emulator says `invalid_request_error`, and the
 * contract suite checks that choice whenever a run against test mode happens to observe a 409.
 */
export const IDEMPOTENCY_IN_USE_TYPE: ErrorType = "invalid_request_error";

export function idempotencyKeyInUse(key: string): ApiError {
  return new ApiError(409, {
    type: IDEMPOTENCY_IN_USE_TYPE,
    code: "idempotency_key_in_use",
    doc_url: docUrl("idempotency_key_in_use"),
    message: `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
  });
}
