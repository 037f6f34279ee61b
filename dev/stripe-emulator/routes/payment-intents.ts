/**
 * PaymentIntent endpoints: create (optionally confirming), retrieve, confirm, cancel, list (strongly
 * consistent) and search (eventually consistent, see search-index.ts).
 */
import { invalidRequest, parameterMissing, resourceMissing } from "../errors";
import { readExpand } from "../expand";
import { amountError, parseCurrency } from "../money";
import { paginate, readPageRequest } from "../pagination";
import { ParamReader } from "../params";
import { resolvePaymentMethod } from "../payment-methods";
import { cancel, checkOwnership, confirm, needsReturnUrl, recordKey, RETURN_URL_REQUIRED } from "../payments";
import { newId, randomToken } from "../random";
import type { AutomaticPaymentMethods, PaymentIntentRecord } from "../records";
import { renderPaymentIntent } from "../render";
import { defineRoute, ok, type ExecContext } from "../route";
import { matches, parseSearchQuery } from "../search-query";
import { newestFirst } from "../store";

const EXPANDABLE = ["latest_charge", "customer", "payment_method"] as const;

/** `off_session` is a boolean, or `one_off` / `recurring`; any of those but `false` means off-session. */
function readOffSession(r: ParamReader): boolean | undefined {
  const raw = r.string("off_session");
  if (raw === undefined || raw === "") return undefined;
  if (raw === "true" || raw === "one_off" || raw === "recurring") return true;
  if (raw === "false") return false;
  throw invalidRequest(`Invalid off_session: must be a boolean, one_off or recurring`, {
    param: "off_session",
  });
}

function findPaymentIntent(ctx: ExecContext, id: string): PaymentIntentRecord {
  const pi = ctx.store.paymentIntents.get(id);
  if (!pi) throw resourceMissing("payment_intent", id, "intent", 404);
  return pi;
}

export const createPaymentIntent = defineRoute({
  method: "POST",
  pattern: "/v1/payment_intents",
  validate({ params }) {
    const r = new ParamReader(params);
    const amount = r.requiredInteger("amount");
    const currency = parseCurrency(r.requiredString("currency"));
    const tooSmallOrLarge = amountError(amount, currency);
    if (tooSmallOrLarge) throw tooSmallOrLarge;
    const confirmNow = r.boolean("confirm") ?? false;
    const offSession = readOffSession(r);
    if (offSession !== undefined && !confirmNow) {
      throw invalidRequest("You can only pass `off_session` when `confirm` is also set to `true`.", {
        param: "off_session",
      });
    }
    const returnUrl = r.optionalString("return_url");
    if (returnUrl !== undefined && !confirmNow) {
      throw invalidRequest("You can only pass `return_url` when `confirm` is also set to `true`.", {
        param: "return_url",
      });
    }
    // This API version replaced `payment_method_types` with `allowed_payment_method_types`.
    const allowed = r.stringList("allowed_payment_method_types") ?? null;
    const excluded = r.stringList("excluded_payment_method_types") ?? null;
    const apm = r.hash("automatic_payment_methods");
    // Automatic payment methods are on unless turned off, with redirects allowed unless said otherwise.
    let automaticPaymentMethods: AutomaticPaymentMethods | null = { allowRedirects: "always" };
    if (apm) {
      const enabled = apm.boolean("enabled");
      if (enabled === undefined) throw parameterMissing("automatic_payment_methods[enabled]");
      const allowRedirects = apm.oneOf("allow_redirects", ["always", "never"] as const) ?? "always";
      apm.done();
      automaticPaymentMethods = enabled ? { allowRedirects } : null;
    }
    const paymentMethod = r.optionalString("payment_method");
    if (confirmNow && paymentMethod === undefined) {
      throw invalidRequest(
        "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
        { param: "payment_method" },
      );
    }
    if (confirmNow && needsReturnUrl(automaticPaymentMethods, allowed) && returnUrl === undefined) {
      throw invalidRequest(RETURN_URL_REQUIRED);
    }
    const captureMethod = r.oneOf("capture_method", ["automatic", "automatic_async", "manual"] as const);
    if (captureMethod === "manual") {
      throw invalidRequest("The Stripe emulator does not model manual capture (capture_method=manual).", {
        param: "capture_method",
      });
    }
    const input = {
      amount,
      currency,
      confirmNow,
      offSession: offSession ?? false,
      returnUrl,
      allowed,
      excluded,
      automaticPaymentMethods,
      paymentMethod,
      customer: r.optionalString("customer"),
      description: r.optionalString("description") ?? null,
      receiptEmail: r.optionalString("receipt_email") ?? null,
      statementDescriptor: r.optionalString("statement_descriptor") ?? null,
      statementDescriptorSuffix: r.optionalString("statement_descriptor_suffix") ?? null,
      setupFutureUsage: r.oneOf("setup_future_usage", ["on_session", "off_session"] as const) ?? null,
      metadata: r.metadata(),
      expand: readExpand(r, EXPANDABLE),
    };
    r.ignore(
      "payment_method_options",
      "mandate_data",
      "shipping",
      "transfer_group",
      "error_on_requires_action",
    );
    r.done();
    return input;
  },
  execute(ctx, input) {
    if (input.customer !== undefined && !ctx.store.customers.has(input.customer)) {
      throw resourceMissing("customer", input.customer, "customer");
    }
    const pm =
      input.paymentMethod !== undefined
        ? resolvePaymentMethod(ctx, input.paymentMethod, "payment_method")
        : null;
    const id = newId("pi");
    const pi: PaymentIntentRecord = {
      id,
      seq: ctx.store.nextSeq(),
      created: ctx.clock.nowSeconds(),
      livemode: ctx.livemode,
      clientSecret: `${id}_secret_${randomToken(25)}`,
      amount: input.amount,
      currency: input.currency,
      customer: input.customer ?? null,
      paymentMethod: pm?.id ?? null,
      description: input.description,
      receiptEmail: input.receiptEmail,
      statementDescriptor: input.statementDescriptor,
      statementDescriptorSuffix: input.statementDescriptorSuffix,
      setupFutureUsage: input.setupFutureUsage,
      metadata: input.metadata,
      automaticPaymentMethods: input.automaticPaymentMethods,
      allowedPaymentMethodTypes: input.allowed,
      excludedPaymentMethodTypes: input.excluded,
      status: pm ? "requires_confirmation" : "requires_payment_method",
      latestCharge: null,
      lastPaymentError: null,
      nextAction: null,
      amountReceived: 0,
      canceledAt: null,
      cancellationReason: null,
      idempotencyKeys: [],
      confirmations: 0,
    };
    if (pm) checkOwnership(pi, pm);
    recordKey(pi, ctx.idempotencyKey);
    ctx.store.paymentIntents.set(pi.id, pi);
    ctx.store.paymentIntentChanged(pi, ctx.clock.now());
    if (!input.confirmNow) return ok(renderPaymentIntent(pi, ctx.store, input.expand));
    return confirm(
      ctx,
      pi,
      { offSession: input.offSession, returnUrl: input.returnUrl, paymentMethod: undefined },
      input.expand,
    );
  },
});

export const retrievePaymentIntent = defineRoute({
  method: "GET",
  pattern: "/v1/payment_intents/:id",
  validate({ params, path }) {
    const r = new ParamReader(params);
    const expand = readExpand(r, EXPANDABLE);
    r.ignore("client_secret");
    r.done();
    return { id: path.id!, expand };
  },
  execute(ctx, input) {
    return ok(renderPaymentIntent(findPaymentIntent(ctx, input.id), ctx.store, input.expand));
  },
});

export const confirmPaymentIntent = defineRoute({
  method: "POST",
  pattern: "/v1/payment_intents/:id/confirm",
  validate({ params, path }) {
    const r = new ParamReader(params);
    const input = {
      id: path.id!,
      offSession: readOffSession(r) ?? false,
      returnUrl: r.optionalString("return_url"),
      paymentMethod: r.optionalString("payment_method"),
      allowed: r.stringList("allowed_payment_method_types"),
      excluded: r.stringList("excluded_payment_method_types"),
      expand: readExpand(r, EXPANDABLE),
    };
    r.ignore(
      "payment_method_options",
      "mandate_data",
      "error_on_requires_action",
      "receipt_email",
      "shipping",
    );
    r.done();
    return input;
  },
  execute(ctx, input) {
    return confirm(ctx, findPaymentIntent(ctx, input.id), input, input.expand);
  },
});

export const cancelPaymentIntent = defineRoute({
  method: "POST",
  pattern: "/v1/payment_intents/:id/cancel",
  validate({ params, path }) {
    const r = new ParamReader(params);
    const input = {
      id: path.id!,
      reason: r.oneOf("cancellation_reason", [
        "duplicate",
        "fraudulent",
        "requested_by_customer",
        "abandoned",
      ] as const),
      expand: readExpand(r, EXPANDABLE),
    };
    r.done();
    return input;
  },
  execute(ctx, input) {
    return cancel(ctx, findPaymentIntent(ctx, input.id), input.reason, input.expand);
  },
});

interface CreatedFilter {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/** `created=123` or `created[gte]=...&created[lt]=...`. */
function readCreated(r: ParamReader): CreatedFilter | undefined {
  if (!r.isHash("created")) {
    const exact = r.integer("created");
    return exact === undefined ? undefined : { gte: exact, lte: exact };
  }
  const hash = r.hash("created")!;
  const filter: CreatedFilter = {};
  for (const op of ["gt", "gte", "lt", "lte"] as const) {
    const value = hash.integer(op);
    if (value !== undefined) filter[op] = value;
  }
  hash.done();
  return filter;
}

function inRange(created: number, f: CreatedFilter): boolean {
  return (
    (f.gt === undefined || created > f.gt) &&
    (f.gte === undefined || created >= f.gte) &&
    (f.lt === undefined || created < f.lt) &&
    (f.lte === undefined || created <= f.lte)
  );
}

export const listPaymentIntents = defineRoute({
  method: "GET",
  pattern: "/v1/payment_intents",
  validate({ params }) {
    const r = new ParamReader(params);
    const input = {
      customer: r.optionalString("customer"),
      created: readCreated(r),
      page: readPageRequest(r),
      expand: readExpand(r, EXPANDABLE, true),
    };
    r.done();
    return input;
  },
  execute(ctx, input) {
    // Straight from the store: list is strongly consistent.
    const all = [...ctx.store.paymentIntents.values()]
      .filter((pi) => input.customer === undefined || pi.customer === input.customer)
      .filter((pi) => input.created === undefined || inRange(pi.created, input.created))
      .sort(newestFirst);
    const page = paginate(all, input.page, "payment_intent");
    return ok({
      object: "list",
      data: page.data.map((pi) => renderPaymentIntent(pi, ctx.store, input.expand)),
      has_more: page.hasMore,
      url: "/v1/payment_intents",
    });
  },
});

interface SearchCursor {
  readonly offset: number;
}

function encodeCursor(cursor: SearchCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString("base64url");
}

function decodeCursor(page: string): SearchCursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(page, "base64url").toString("utf8"));
    const offset = (parsed as { offset?: unknown }).offset;
    if (typeof offset === "number" && Number.isSafeInteger(offset) && offset >= 0) return { offset };
  } catch {
    // fall through
  }
  throw invalidRequest(`Invalid page: ${page}`, { param: "page" });
}

export const searchPaymentIntents = defineRoute({
  method: "GET",
  pattern: "/v1/payment_intents/search",
  validate({ params }) {
    const r = new ParamReader(params);
    const query = parseSearchQuery(r.requiredString("query"));
    const limit = r.integer("limit") ?? 10;
    if (limit < 1 || limit > 100)
      throw invalidRequest("Invalid limit: must be between 1 and 100", { param: "limit" });
    const page = r.optionalString("page");
    const expand = readExpand(r, EXPANDABLE, true, ["total_count"]);
    r.done();
    const offset = page === undefined ? 0 : decodeCursor(page).offset;
    return { query, limit, offset, wantsTotal: expand.has("total_count"), expand };
  },
  execute(ctx, input) {
    // From the index, not the store: what was written less than the indexing delay ago is not here yet.
    const hits = ctx.store.searchIndex
      .visible(ctx.clock.now())
      .filter((pi) => matches(input.query, pi))
      .sort(newestFirst);
    const data = hits.slice(input.offset, input.offset + input.limit);
    const hasMore = hits.length > input.offset + input.limit;
    return ok({
      object: "search_result",
      data: data.map((pi) => renderPaymentIntent(pi, ctx.store, input.expand)),
      has_more: hasMore,
      next_page: hasMore ? encodeCursor({ offset: input.offset + input.limit }) : null,
      url: "/v1/payment_intents/search",
      ...(input.wantsTotal && { total_count: hits.length }),
    });
  },
});
