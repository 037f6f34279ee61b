/**
 * Cursor pagination as Stripe's list endpoints do it: newest first, `limit` 1..100 (default 10),
 * `starting_after` for the next page, `ending_before` for the previous one, and `has_more`.
 */
import { invalidRequest, resourceMissing } from "./errors";
import type { ParamReader } from "./params";

export interface PageRequest {
  readonly limit: number;
  readonly startingAfter: string | undefined;
  readonly endingBefore: string | undefined;
}

export function readPageRequest(reader: ParamReader): PageRequest {
  const limit = reader.integer("limit") ?? 10;
  if (limit < 1 || limit > 100) {
    throw invalidRequest(`Invalid limit: must be between 1 and 100`, { param: "limit" });
  }
  const startingAfter = reader.optionalString("starting_after");
  const endingBefore = reader.optionalString("ending_before");
  if (startingAfter !== undefined && endingBefore !== undefined) {
    throw invalidRequest("You may only specify one of these parameters: ending_before, starting_after.", {
      param: "ending_before",
    });
  }
  return { limit, startingAfter, endingBefore };
}

/** One page of `items`, which must already be sorted newest first. `kind` names the object in errors. */
export function paginate<T extends { id: string }>(
  items: readonly T[],
  page: PageRequest,
  kind: string,
): { data: T[]; hasMore: boolean } {
  if (page.startingAfter !== undefined) {
    const at = items.findIndex((item) => item.id === page.startingAfter);
    if (at === -1) throw resourceMissing(kind, page.startingAfter, "starting_after");
    const rest = items.slice(at + 1);
    return { data: rest.slice(0, page.limit), hasMore: rest.length > page.limit };
  }
  if (page.endingBefore !== undefined) {
    const at = items.findIndex((item) => item.id === page.endingBefore);
    if (at === -1) throw resourceMissing(kind, page.endingBefore, "ending_before");
    const before = items.slice(0, at);
    const start = Math.max(0, before.length - page.limit);
    return { data: before.slice(start), hasMore: start > 0 };
  }
  return { data: items.slice(0, page.limit), hasMore: items.length > page.limit };
}
