/**
 * `expand[]`: which expandable fields a request may ask for. Asking for anything else is a 400, as in
 * Stripe. List endpoints take the same paths under `data.`.
 */
import { invalidRequest } from "./errors";
import type { ParamReader } from "./params";
import type { Expansions } from "./render";

export function readExpand(
  reader: ParamReader,
  allowed: readonly string[],
  list = false,
  /** Paths a list endpoint allows at its top level, such as Search's `total_count`. */
  topLevel: readonly string[] = [],
): Expansions {
  const out = new Set<string>();
  for (const path of reader.expand()) {
    if (topLevel.includes(path)) {
      out.add(path);
      continue;
    }
    const inner = list && path.startsWith("data.") ? path.slice(5) : path;
    if (!allowed.includes(inner) || (list && inner === path)) {
      throw invalidRequest(`This property cannot be expanded (${path}).`, { param: "expand" });
    }
    out.add(inner);
  }
  return out;
}
