/**
 * Metadata rules: at most 50 keys, keys up to 40 characters without `[` or `]`, values up to 500
 * characters, values are strings. Anything else is a 400 with `param: metadata`. An empty string for a
 * key (or for the whole of `metadata`) unsets it, as in Stripe.
 */
import { invalidRequest, type ApiError } from "./errors";
import { isParams, type ParamValue } from "./form";

export type Metadata = Record<string, string>;

export const METADATA_LIMITS = { keys: 50, keyLength: 40, valueLength: 500 } as const;

function metadataError(message: string): ApiError {
  return invalidRequest(`Invalid metadata: ${message}`, { param: "metadata" });
}

/** Parses the `metadata` parameter into the changes it asks for: a value, or null to unset. */
export function parseMetadata(value: ParamValue): Record<string, string | null> {
  if (value === "") return {};
  if (!isParams(value)) throw metadataError("metadata must be a hash of string keys and string values.");
  const changes: Record<string, string | null> = {};
  for (const [key, raw] of Object.entries(value)) {
    if (typeof raw !== "string") {
      throw metadataError(
        `the value for key \`${key}\` must be a string, and keys cannot contain \`[\` or \`]\`.`,
      );
    }
    if (key.length > METADATA_LIMITS.keyLength) {
      throw metadataError(`keys can be at most ${METADATA_LIMITS.keyLength} characters long (\`${key}\`).`);
    }
    if (/[[\]]/.test(key)) throw metadataError("keys cannot contain `[` or `]`.");
    if (raw.length > METADATA_LIMITS.valueLength) {
      throw metadataError(
        `values can be at most ${METADATA_LIMITS.valueLength} characters long (key \`${key}\`).`,
      );
    }
    changes[key] = raw === "" ? null : raw;
  }
  return changes;
}

/** Applies parsed changes to existing metadata, enforcing the key limit on the result. */
export function applyMetadata(current: Metadata, changes: Record<string, string | null>): Metadata {
  const next: Metadata = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  if (Object.keys(next).length > METADATA_LIMITS.keys) {
    throw metadataError(`an object can have at most ${METADATA_LIMITS.keys} metadata keys.`);
  }
  return next;
}
