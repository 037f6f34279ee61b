/**
 * Decoding of Stripe's request parameters: `application/x-www-form-urlencoded` bodies and query strings
 * with nested keys in brackets, exactly as stripe-node writes them:
 *
 *   metadata[subscription_id]=sub_1   -> { metadata: { subscription_id: "sub_1" } }
 *   expand[0]=latest_charge           -> { expand: { "0": "latest_charge" } }   (read as a list later)
 *   expand[]=latest_charge            -> { expand: ["latest_charge"] }          (curl style)
 *   created[gte]=1700000000           -> { created: { gte: "1700000000" } }
 *
 * Indexed keys stay objects here because `metadata[0]` is a metadata key, not a list index; readers that
 * want a list accept both shapes. Objects have no prototype, so a key like `__proto__` is just a key.
 */
import { BillingJobError } from "../../functions/core/errors";

export type ParamValue = string | ParamValue[] | Params;
export interface Params {
  [key: string]: ParamValue;
}

/** A body or query string that cannot be decoded; `param` names the top-level parameter at fault. */
export class FormError extends BillingJobError {
  override readonly name: string = "FormError";
  constructor(
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

export function emptyParams(): Params {
  return Object.create(null) as Params;
}

export function isParams(value: ParamValue | undefined): value is Params {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const KEY_SHAPE = /^([^[\]]+)((?:\[[^[\]]*\])*)$/;

export function decodeForm(text: string): Params {
  const root = emptyParams();
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? "" : pair.slice(eq + 1);
    const key = decodeComponent(rawKey);
    const value = decodeComponent(rawValue);
    assign(root, parseKey(key), value, key);
  }
  return root;
}

function decodeComponent(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    throw new FormError(`Invalid URL encoding in request: ${raw.slice(0, 100)}`);
  }
}

function parseKey(key: string): string[] {
  const match = KEY_SHAPE.exec(key);
  if (!match) {
    const head = key.split("[")[0] || key;
    throw new FormError(
      head === "metadata"
        ? `Invalid metadata: metadata keys cannot contain \`[\` or \`]\` (${key.slice(0, 100)})`
        : `Invalid parameter name: ${key.slice(0, 100)}`,
      head,
    );
  }
  const head = match[1]!;
  const rest = match[2]!;
  const segments = [head];
  for (const inner of rest.matchAll(/\[([^[\]]*)\]/g)) segments.push(inner[1]!);
  return segments;
}

function assign(root: Params, segments: string[], value: string, fullKey: string): void {
  const top = segments[0]!;
  let container: Params | ParamValue[] = root;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (Array.isArray(container)) {
      // Only `[]` makes a list, and only as the last segment (`expand[]=a&expand[]=b`).
      if (segment !== "" || !last) throw new FormError(`Invalid parameter name: ${fullKey}`, top);
      container.push(value);
      return;
    }
    if (segment === "") throw new FormError(`Invalid parameter name: ${fullKey}`, top);
    if (last) {
      const existing = container[segment];
      if (existing !== undefined && typeof existing !== "string") {
        throw new FormError(`Invalid value for ${fullKey}: it is both a value and a hash`, top);
      }
      container[segment] = value; // a repeated scalar key: the last one wins
      return;
    }
    const wantsList = segments[i + 1] === "";
    let child: ParamValue | undefined = container[segment];
    if (child === undefined) {
      child = wantsList ? [] : emptyParams();
      container[segment] = child;
    } else if (typeof child === "string" || Array.isArray(child) !== wantsList) {
      throw new FormError(`Invalid value for ${fullKey}: conflicting shapes for ${segment}`, top);
    }
    container = child;
  }
}

/** Order-insensitive deep equality of decoded parameters, for idempotency comparisons. */
export function sameParams(a: ParamValue, b: ParamValue): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => sameParams(item, b[i]!));
  }
  const keysA = Object.keys(a);
  if (keysA.length !== Object.keys(b).length) return false;
  return keysA.every((key) => b[key] !== undefined && sameParams(a[key]!, b[key]!));
}

/** Plain-object copy, for JSON persistence and display. */
export function paramsToJson(value: ParamValue): unknown {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(paramsToJson);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, paramsToJson(v)]));
}

/** The inverse of paramsToJson, for restoring persisted idempotency entries. */
export function paramsFromJson(value: unknown): ParamValue {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(paramsFromJson);
  const out = emptyParams();
  if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) out[k] = paramsFromJson(v);
  }
  return out;
}
