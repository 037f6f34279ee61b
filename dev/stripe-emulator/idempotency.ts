/**
 * Stripe's idempotency layer (https://docs.stripe.com/api/idempotent_requests), per account:
 *
 * - The first POST with a key that reaches execution claims the key ("in flight"), and its status and
 *   body are saved when it finishes, whatever they are (200, 400, 402, 500).
 * - A later request with the key and the same endpoint and parameters gets the saved result, replayed.
 * - Another endpoint or other parameters: 400 `idempotency_error`.
 * - While the first is in flight: 409 `idempotency_key_in_use`; nothing is saved for the 409.
 * - Keys are pruned when they are 24 hours old on the emulator clock (Stripe: "at least" 24 hours);
 *   after that the same key executes again and can create a new object.
 */
import { sameParams, type Params } from "./form";
import type { Json } from "./json";

export const KEY_RETENTION_MS = 24 * 60 * 60 * 1000;

interface Claim {
  /** `POST /v1/payment_intents`: keys are scoped to the account, not to an endpoint. */
  readonly endpoint: string;
  readonly params: Params;
  readonly createdAt: number;
}

export interface SavedResult {
  readonly status: number;
  readonly body: Json;
  readonly headers: Readonly<Record<string, string>>;
  readonly requestId: string;
}

type Entry =
  | (Claim & { readonly state: "in_flight" })
  | (Claim & { readonly state: "saved"; readonly result: SavedResult });

export type Lookup =
  | { readonly kind: "new" }
  | { readonly kind: "in_flight" }
  | { readonly kind: "replay"; readonly result: SavedResult }
  | { readonly kind: "other_endpoint"; readonly firstEndpoint: string }
  | { readonly kind: "other_params" };

/** A saved key in persisted form. */
export interface SavedKey extends Claim {
  readonly account: string;
  readonly key: string;
  readonly result: SavedResult;
}

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  private static id(account: string, key: string): string {
    return `${account}\u0000${key}`;
  }

  /** What a request with this key meets. Prunes the key first if it has expired. */
  lookup(account: string, key: string, endpoint: string, params: Params, now: number): Lookup {
    const id = IdempotencyStore.id(account, key);
    const entry = this.entries.get(id);
    if (!entry) return { kind: "new" };
    if (entry.state === "saved" && now - entry.createdAt >= KEY_RETENTION_MS) {
      this.entries.delete(id);
      return { kind: "new" };
    }
    if (entry.state === "in_flight") return { kind: "in_flight" };
    if (entry.endpoint !== endpoint) return { kind: "other_endpoint", firstEndpoint: entry.endpoint };
    if (!sameParams(entry.params, params)) return { kind: "other_params" };
    return { kind: "replay", result: entry.result };
  }

  /** Marks the key in flight; call only after `lookup` answered "new", with no await in between. */
  claim(account: string, key: string, endpoint: string, params: Params, now: number): void {
    this.entries.set(IdempotencyStore.id(account, key), {
      state: "in_flight",
      endpoint,
      params,
      createdAt: now,
    });
  }

  /** Saves the result of the request that claimed the key. */
  save(account: string, key: string, result: SavedResult): void {
    const id = IdempotencyStore.id(account, key);
    const entry = this.entries.get(id);
    if (entry?.state !== "in_flight") return; // reset while in flight: nothing to save into
    this.entries.set(id, { ...entry, state: "saved", result });
  }

  clear(): void {
    this.entries.clear();
  }

  saved(): SavedKey[] {
    const out: SavedKey[] = [];
    for (const [id, entry] of this.entries) {
      if (entry.state !== "saved") continue;
      const [account, key] = id.split("\u0000") as [string, string];
      out.push({
        account,
        key,
        endpoint: entry.endpoint,
        params: entry.params,
        createdAt: entry.createdAt,
        result: entry.result,
      });
    }
    return out;
  }

  restore(keys: readonly SavedKey[]): void {
    for (const k of keys) {
      this.entries.set(IdempotencyStore.id(k.account, k.key), {
        state: "saved",
        endpoint: k.endpoint,
        params: k.params,
        createdAt: k.createdAt,
        result: k.result,
      });
    }
  }
}
