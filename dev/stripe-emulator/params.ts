/**
 * Typed reading of decoded parameters, with Stripe's validation errors. Every endpoint reads what it
 * accepts and then calls `done()`, which refuses any parameter nobody read (`parameter_unknown`), as
 * Stripe does: a misspelt parameter is an error, not silently ignored.
 */
import { invalidRequest, parameterEmpty, parameterMissing, parameterUnknown } from "./errors";
import { isParams, type ParamValue, type Params } from "./form";
import { applyMetadata, parseMetadata, type Metadata } from "./metadata";

export class ParamReader {
  private readonly read = new Set<string>();

  constructor(
    private readonly params: Params,
    /** For nested readers: the parent's name, so errors say `automatic_payment_methods[enabled]`. */
    private readonly prefix = "",
  ) {}

  private name(key: string): string {
    return this.prefix ? `${this.prefix}[${key}]` : key;
  }

  private take(key: string): ParamValue | undefined {
    this.read.add(key);
    return this.params[key];
  }

  has(key: string): boolean {
    return this.params[key] !== undefined;
  }

  isHash(key: string): boolean {
    return isParams(this.params[key]);
  }

  /** Accepted and deliberately not modelled (e.g. `description` on a refund). */
  ignore(...keys: string[]): void {
    for (const key of keys) this.read.add(key);
  }

  string(key: string): string | undefined {
    const value = this.take(key);
    if (value === undefined) return undefined;
    if (typeof value !== "string")
      throw invalidRequest(`Invalid string: ${this.name(key)}`, { param: this.name(key) });
    return value;
  }

  requiredString(key: string): string {
    const value = this.string(key);
    if (value === undefined) throw parameterMissing(this.name(key));
    if (value === "") throw parameterEmpty(this.name(key));
    return value;
  }

  /** A string where "" means "not set", for optional fields such as `description`. */
  optionalString(key: string): string | undefined {
    const value = this.string(key);
    return value === "" ? undefined : value;
  }

  integer(key: string): number | undefined {
    const value = this.string(key);
    if (value === undefined || value === "") return undefined;
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw invalidRequest(`Invalid integer: ${value}`, {
        param: this.name(key),
        code: "parameter_invalid_integer",
      });
    }
    return Number(value);
  }

  requiredInteger(key: string): number {
    const value = this.integer(key);
    if (value === undefined) throw parameterMissing(this.name(key));
    return value;
  }

  boolean(key: string): boolean | undefined {
    const value = this.string(key);
    if (value === undefined || value === "") return undefined;
    if (value !== "true" && value !== "false") {
      throw invalidRequest(`Invalid boolean: ${value}`, { param: this.name(key) });
    }
    return value === "true";
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    const value = this.string(key);
    if (value === undefined || value === "") return undefined;
    if (!(allowed as readonly string[]).includes(value)) {
      throw invalidRequest(`Invalid ${this.name(key)}: must be one of ${allowed.join(", ")}`, {
        param: this.name(key),
      });
    }
    return value as T;
  }

  /** A list, sent either as `key[0]=a&key[1]=b` (stripe-node) or `key[]=a` (curl). */
  stringList(key: string): string[] | undefined {
    const value = this.take(key);
    if (value === undefined || value === "") return undefined;
    const items = Array.isArray(value) ? value : isParams(value) ? indexedValues(value) : null;
    if (!items || items.some((item) => typeof item !== "string")) {
      throw invalidRequest(`Invalid array: ${this.name(key)}`, { param: this.name(key) });
    }
    return items as string[];
  }

  /** A nested hash, read with its own reader; call `done()` on it too. */
  hash(key: string): ParamReader | undefined {
    const value = this.take(key);
    if (value === undefined || value === "") return undefined;
    if (!isParams(value)) throw invalidRequest(`Invalid hash: ${this.name(key)}`, { param: this.name(key) });
    return new ParamReader(value, this.name(key));
  }

  /** `metadata` for a new object: the resulting metadata (empty when absent). */
  metadata(key = "metadata"): Metadata {
    const value = this.take(key);
    return value === undefined ? {} : applyMetadata({}, parseMetadata(value));
  }

  /** `expand[]`: the paths to expand, without a leading `data.` for list endpoints. */
  expand(): string[] {
    return this.stringList("expand") ?? [];
  }

  done(): void {
    for (const key of Object.keys(this.params)) {
      if (!this.read.has(key)) throw parameterUnknown(this.name(key));
    }
  }
}

function indexedValues(value: Params): ParamValue[] | null {
  const keys = Object.keys(value);
  if (!keys.every((k) => /^\d+$/.test(k))) return null;
  return keys.sort((a, b) => Number(a) - Number(b)).map((k) => value[k]!);
}
