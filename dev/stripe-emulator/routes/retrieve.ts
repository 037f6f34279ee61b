/**
 * `GET /v1/<objects>/:id` for an object with nothing to expand, which Customers, PaymentMethods and
 * Refunds answer alike: no parameter but an empty `expand[]`, then the object rendered. One copy so the
 * three keep refusing the same parameters.
 */
import { readExpand } from "../expand";
import type { Json } from "../json";
import { ParamReader } from "../params";
import { defineRoute, ok, type AnyRoute, type ExecContext } from "../route";

export function defineRetrieveRoute<T>(
  pattern: string,
  /** The object with this id; throws the 404 `resource_missing` when there is none. */
  find: (ctx: ExecContext, id: string) => T,
  render: (object: T) => Json,
): AnyRoute {
  return defineRoute({
    method: "GET",
    pattern,
    validate({ params, path }) {
      const r = new ParamReader(params);
      readExpand(r, []);
      r.done();
      return path.id!;
    },
    execute(ctx, id) {
      return ok(render(find(ctx, id)));
    },
  });
}
