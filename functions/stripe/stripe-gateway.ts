/**
 * The payment gateway over the official Stripe SDK: the only module that imports `stripe`. It turns every
 * SDK result and error into a typed outcome (functions/core/payments/payment-gateway.ts), and runs every
 * request under the one retry policy (retry-policy.ts):
 *
 * - The SDK retries nothing (`maxNetworkRetries: 0`, and its hidden retry of a closed connection is turned
 *   off, see http-client.ts): its retries fire on wake from a pause, before the process can look at
 *   anything. The gateway retries instead, with the same idempotency key: an unknown outcome (no
 *   response, 409, 5xx, or Stripe-Should-Retry: true) up to `maxNetworkRetries` times unless Stripe says
 *   `Stripe-Should-Retry: false`; a 429 or lock_timeout up to `rateLimitRetries` times. Backoff is
 *   exponential with full jitter. The timeout is short on purpose: a Lambda run must keep time to settle
 *   and release, and 80 s (the SDK default) would eat it.
 * - Right before each try leaves (after the rate limiter, any backoff and the SDK's own steps, in the HTTP
 *   client), the caller's SendGuard is asked.
 *   If it says no, nothing more is sent: `not_sent` if nothing could have taken effect yet, `in_doubt`
 *   if an earlier try's outcome is unknown.
 * - A 401 reads the key again once (`refreshApiKey`): a rotated key is used for the same request, since a
 *   401 did nothing. Otherwise authentication and permission errors throw, and the run stops.
 * - No outcome, reason or thrown error carries a Stripe secret key (functions/core/secrets.ts).
 */
import Stripe from "stripe";
import type { Clock } from "../core/clock";
import { BillingJobError } from "../core/errors";
import { redactSecrets } from "../core/secrets";
import {
  JOB_METADATA_SOURCE,
  type CancelOutcome,
  type CommonOutcome,
  type ConfirmOutcome,
  type CreatedRange,
  type CreateOutcome,
  type FindOutcome,
  type ListOutcome,
  type NewPaymentIntent,
  type PaymentGateway,
  type PaymentIntentLister,
  type PaymentIntentStatus,
  type PaymentIntentView,
  type PeriodLookup,
  type ReconcilablePaymentIntent,
  type ReconcileRetrieveOutcome,
  type RetrieveOutcome,
  type SendGuard,
} from "../core/payments/payment-gateway";
import { noHiddenRetryHttpClient, underGuard, type GuardedTry } from "./http-client";
import { backoffMs, classify, worthRetrying } from "./retry-policy";

export interface StripeGatewayOptions {
  readonly apiKey: string;
  /** For the local emulator or a proxy; unset means api.stripe.com over HTTPS. */
  readonly host?: string;
  readonly port?: number;
  readonly protocol?: "http" | "https";
  /** Per-request timeout. Default 10 s. */
  readonly timeoutMs?: number;
  /** Retries of an unknown outcome (no response, 409, 5xx), same idempotency key. Default 2. */
  readonly maxNetworkRetries?: number;
  /** Retries of a 429 or lock_timeout. Default 4. */
  readonly rateLimitRetries?: number;
  readonly clock: Clock;
  /** Called before every try; resolves when it may be sent. */
  readonly beforeRequest?: () => Promise<void>;
  /**
   * Called on each 429 for the account's rate (not on a lock timeout, which is one object's contention):
   * the pacer slows this leader down (functions/core/billing-run/budget-pacer.ts).
   */
  readonly onRateLimited?: () => void;
  /** Reads the key again, bypassing any cache. Asked once after a 401; unset means a 401 stops the run. */
  readonly refreshApiKey?: () => Promise<string>;
  /** The backoff's jitter source, in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

/** The provider refused our credentials or permissions: no charge can succeed; stop the run. */
export class PaymentProviderConfigError extends BillingJobError {
  override readonly name: string = "PaymentProviderConfigError";
}

/**
 * What Stripe said, without the SDK error itself: its message and raw body may echo the key, so the
 * cause chain keeps a scrubbed copy.
 */
export class StripeApiFailure extends BillingJobError {
  override readonly name: string = "StripeApiFailure";

  constructor(
    message: string,
    readonly type: string,
    readonly statusCode: number | null,
    readonly code: string | null,
    readonly requestId: string | null,
  ) {
    super(message);
  }
}

export const DEFAULT_STRIPE_TIMEOUT_MS = 10_000;
export const DEFAULT_STRIPE_NETWORK_RETRIES = 2;
export const DEFAULT_STRIPE_RATE_LIMIT_RETRIES = 4;

type StripeError = Stripe.errors.StripeError;
type Specific<T> = (error: StripeError) => T | CommonOutcome | null;

/** What the tries of one request so far tell. */
interface Tries {
  networkRetries: number;
  rateLimitRetries: number;
  /** Why an earlier try's outcome is unknown; null while nothing can have taken effect. */
  unknown: string | null;
  keyRereadDone: boolean;
  delayMs: number;
}

type Next<T> = { readonly retry: true } | { readonly retry: false; readonly outcome: T | CommonOutcome };

export class StripeGateway implements PaymentGateway, PaymentIntentLister {
  private stripe: Stripe;
  private apiKey: string;
  /** Every key this gateway has used: a scrubbed text names none of them. */
  private readonly keysUsed: string[];
  private keyReread: Promise<string> | undefined;
  private readonly maxNetworkRetries: number;
  private readonly rateLimitRetries: number;
  private readonly random: () => number;

  constructor(private readonly options: StripeGatewayOptions) {
    this.apiKey = options.apiKey;
    this.keysUsed = [options.apiKey];
    this.stripe = this.client(options.apiKey);
    this.maxNetworkRetries = options.maxNetworkRetries ?? DEFAULT_STRIPE_NETWORK_RETRIES;
    this.rateLimitRetries = options.rateLimitRetries ?? DEFAULT_STRIPE_RATE_LIMIT_RETRIES;
    this.random = options.random ?? Math.random;
  }

  private client(apiKey: string): Stripe {
    const { options } = this;
    return new Stripe(apiKey, {
      // Every retry is the gateway's, after the send guard.
      maxNetworkRetries: 0,
      httpClient: noHiddenRetryHttpClient(options.protocol ?? "https"),
      timeout: options.timeoutMs ?? DEFAULT_STRIPE_TIMEOUT_MS,
      telemetry: false,
      appInfo: { name: "lease-billing" },
      ...(options.host !== undefined && { host: options.host }),
      ...(options.port !== undefined && { port: options.port }),
      ...(options.protocol !== undefined && { protocol: options.protocol }),
    });
  }

  async createPaymentIntent(request: NewPaymentIntent, guard?: SendGuard): Promise<CreateOutcome> {
    return this.send(
      async (stripe): Promise<CreateOutcome> => {
        const pi = await stripe.paymentIntents.create(
          {
            amount: request.amount,
            currency: request.currency,
            customer: request.customerId,
            payment_method: request.paymentMethodId,
            description: request.description,
            metadata: { ...request.metadata },
            // Renewals charge the saved card off-session: no redirect-based method (and so no
            // return_url) may ever be needed, as Stripe's own error message for this case advises.
            automatic_payment_methods: { enabled: true, allow_redirects: "never" },
            // Not confirmed here: an unconfirmed PaymentIntent moves no money.
            confirm: false,
          },
          { idempotencyKey: request.idempotencyKey },
        );
        return { kind: "created", paymentIntent: view(pi) };
      },
      (error) => this.rejectedIfInvalid(error),
      guard,
    );
  }

  async confirmPaymentIntent(
    id: string,
    paymentMethodId: string,
    idempotencyKey: string,
    guard?: SendGuard,
  ): Promise<ConfirmOutcome> {
    return this.send(
      async (stripe): Promise<ConfirmOutcome> => {
        const pi = await stripe.paymentIntents.confirm(
          id,
          { off_session: true, payment_method: paymentMethodId },
          { idempotencyKey },
        );
        return confirmedOutcome(view(pi));
      },
      (error) =>
        error instanceof Stripe.errors.StripeCardError ? cardOutcome(error, id) : this.stateOr(error, id),
      guard,
    );
  }

  async cancelPaymentIntent(id: string, idempotencyKey: string, guard?: SendGuard): Promise<CancelOutcome> {
    return this.send(
      async (stripe): Promise<CancelOutcome> => ({
        kind: "canceled",
        paymentIntent: view(await stripe.paymentIntents.cancel(id, {}, { idempotencyKey })),
      }),
      (error) => (isMissing(error) ? { kind: "not_found" } : this.stateOr(error, id)),
      guard,
    );
  }

  async retrievePaymentIntent(id: string, guard?: SendGuard): Promise<RetrieveOutcome> {
    return this.send(
      async (stripe): Promise<RetrieveOutcome> => ({
        kind: "found",
        paymentIntent: view(await stripe.paymentIntents.retrieve(id)),
      }),
      (error) => (isMissing(error) ? { kind: "not_found" } : this.rejectedIfInvalid(error)),
      guard,
    );
  }

  async findPaymentIntentsForPeriod(lookup: PeriodLookup, guard?: SendGuard): Promise<FindOutcome> {
    // List, not Search: list is strongly consistent; search may lag by minutes.
    const found = await this.listAll(
      { customer: lookup.customerId, created: { gte: lookup.createdSince } },
      (pi) =>
        pi.metadata?.subscription_id === lookup.subscriptionId &&
        pi.metadata?.period_start === lookup.periodStart
          ? view(pi)
          : null,
      guard,
    );
    return found.kind === "found" ? { kind: "found", paymentIntents: found.items } : found;
  }

  async listJobPaymentIntents(createdSince: number, guard?: SendGuard): Promise<FindOutcome> {
    const found = await this.listAll(
      { created: { gte: createdSince } },
      (pi) => (pi.metadata?.source === JOB_METADATA_SOURCE ? view(pi) : null),
      guard,
    );
    return found.kind === "found" ? { kind: "found", paymentIntents: found.items } : found;
  }

  /** For reconciliation: every PaymentIntent created in the range, its latest charge expanded for refunds. */
  async listPaymentIntents(range: CreatedRange): Promise<ListOutcome> {
    const found = await this.listAll(
      { created: { gte: range.gte, lte: range.lte }, expand: ["data.latest_charge"] },
      reconcilable,
    );
    return found.kind === "found" ? { kind: "found", paymentIntents: found.items } : found;
  }

  async retrievePaymentIntentWithRefunds(id: string): Promise<ReconcileRetrieveOutcome> {
    return this.send(
      async (stripe): Promise<ReconcileRetrieveOutcome> => ({
        kind: "found",
        paymentIntent: reconcilable(await stripe.paymentIntents.retrieve(id, { expand: ["latest_charge"] })),
      }),
      (error) => (isMissing(error) ? { kind: "not_found" } : this.rejectedIfInvalid(error)),
    );
  }

  /** Every page of a list, each page a request of its own under the policy and the guard. */
  private async listAll<V>(
    params: Stripe.PaymentIntentListParams,
    select: (pi: Stripe.PaymentIntent) => V | null,
    guard?: SendGuard,
  ): Promise<{ kind: "found"; items: V[] } | CommonOutcome> {
    const items: V[] = [];
    let startingAfter: string | undefined;
    for (;;) {
      const outcome = await this.send(
        async (stripe) => ({
          kind: "page" as const,
          page: await stripe.paymentIntents.list({
            ...params,
            limit: 100,
            ...(startingAfter && { starting_after: startingAfter }),
          }),
        }),
        (error) => this.rejectedIfInvalid(error),
        guard,
      );
      if (outcome.kind !== "page") return outcome;
      const { data, has_more } = outcome.page;
      for (const pi of data) {
        const item = select(pi);
        if (item !== null) items.push(item);
      }
      if (!has_more || data.length === 0) return { kind: "found", items };
      startingAfter = data[data.length - 1]!.id;
    }
  }

  /**
   * Sends one request under the retry policy. `specific` maps the answers that mean something for this
   * call; the rest is mapped the same way for every call.
   */
  private async send<T>(
    request: (stripe: Stripe) => Promise<T>,
    specific: Specific<T>,
    guard?: SendGuard,
  ): Promise<T | CommonOutcome> {
    const tries: Tries = {
      networkRetries: 0,
      rateLimitRetries: 0,
      unknown: null,
      keyRereadDone: false,
      delayMs: 0,
    };
    for (;;) {
      if (tries.delayMs > 0) await this.options.clock.sleep(tries.delayMs);
      await this.options.beforeRequest?.();
      // The HTTP client asks the guard right before the socket (http-client.ts): any wait above, or in
      // the SDK on the way, may have outlived the lease.
      const attempt: GuardedTry = { guard, refusal: null };
      const { stripe, apiKey } = this;
      try {
        return await underGuard(attempt, () => request(stripe));
      } catch (error) {
        if (attempt.refusal !== null) return this.refused(tries, attempt.refusal);
        if (!(error instanceof Stripe.errors.StripeError)) throw error;
        const next = await this.afterFailure(error, tries, apiKey, specific);
        if (!next.retry) return next.outcome;
      }
    }
  }

  private async afterFailure<T>(
    error: StripeError,
    tries: Tries,
    keyUsed: string,
    specific: Specific<T>,
  ): Promise<Next<T>> {
    switch (classify(error)) {
      case "auth":
        await this.checkKeyAfterRefusal(error, tries, keyUsed);
        tries.delayMs = 0;
        return { retry: true };
      case "rate_limited":
        if (error.code !== "lock_timeout") this.options.onRateLimited?.();
        if (tries.rateLimitRetries < this.rateLimitRetries) {
          tries.delayMs = backoffMs(tries.rateLimitRetries++, this.random);
          return { retry: true };
        }
        // A 429 did nothing, but an earlier try may have.
        if (tries.unknown === null) return { retry: false, outcome: { kind: "rate_limited" } };
        return { retry: false, outcome: this.inDoubt(`${tries.unknown}; then rate limited`) };
      case "unknown":
        tries.unknown = this.describe(error);
        if (worthRetrying(error) && tries.networkRetries < this.maxNetworkRetries) {
          tries.delayMs = backoffMs(tries.networkRetries++, this.random);
          return { retry: true };
        }
        return { retry: false, outcome: this.inDoubt(tries.unknown) };
      case "answered":
        return { retry: false, outcome: specific(error) ?? this.inDoubt(this.describe(error)) };
    }
  }

  /** The guard said no: nothing more leaves the process. */
  private refused(tries: Tries, reason: string): CommonOutcome {
    if (tries.unknown === null) return { kind: "not_sent", reason: this.redact(reason) };
    return this.inDoubt(`${tries.unknown}; not retried: ${reason}`);
  }

  /**
   * Returns when the same request may be sent again with another key: once per request, after the
   * first 401, if the key read again differs from the one refused. Otherwise throws: the run stops.
   */
  private async checkKeyAfterRefusal(error: StripeError, tries: Tries, keyUsed: string): Promise<void> {
    const reread = this.options.refreshApiKey;
    if (!(error instanceof Stripe.errors.StripeAuthenticationError) || !reread || tries.keyRereadDone) {
      throw this.configError(error);
    }
    tries.keyRereadDone = true;
    // Another request already moved on to a newer key: try that one.
    if (this.apiKey !== keyUsed) return;
    let fresh: string;
    try {
      // Concurrent requests refused at once share one read.
      this.keyReread ??= reread().finally(() => (this.keyReread = undefined));
      fresh = await this.keyReread;
    } catch (readError) {
      throw this.configError(error, `; reading the key again failed: ${String(readError)}`);
    }
    if (fresh === keyUsed) throw this.configError(error);
    if (fresh !== this.apiKey) this.useKey(fresh);
  }

  private useKey(apiKey: string): void {
    this.keysUsed.push(apiKey);
    this.apiKey = apiKey;
    this.stripe = this.client(apiKey);
  }

  private configError(error: StripeError, more = ""): PaymentProviderConfigError {
    return new PaymentProviderConfigError(
      this.redact(`Stripe refused the API key: ${error.message}${more}`),
      {
        cause: this.failure(error),
      },
    );
  }

  private failure(error: StripeError): StripeApiFailure {
    return new StripeApiFailure(
      this.redact(error.message),
      error.type,
      error.statusCode ?? null,
      error.code ?? null,
      error.requestId ?? null,
    );
  }

  private redact(text: string): string {
    return redactSecrets(text, this.keysUsed);
  }

  private describe(error: StripeError): string {
    const status = error.statusCode ? ` ${error.statusCode}` : "";
    return this.redact(`${error.type}${status}: ${error.message}`).slice(0, 300);
  }

  private inDoubt(reason: string): CommonOutcome {
    return { kind: "in_doubt", reason: this.redact(reason) };
  }

  private rejectedIfInvalid(error: StripeError): CommonOutcome | null {
    if (!isInvalid(error)) return null;
    return {
      kind: "rejected",
      code: error.code ?? error.rawType ?? null,
      message: this.redact(error.message),
    };
  }

  /** `payment_intent_unexpected_state` (not confirmable or cancelable now), or as any invalid request. */
  private stateOr(
    error: StripeError,
    id: string,
  ): { kind: "unexpected_state"; paymentIntentId: string; message: string } | CommonOutcome | null {
    if (isInvalid(error) && error.code === "payment_intent_unexpected_state") {
      return { kind: "unexpected_state", paymentIntentId: id, message: this.redact(error.message) };
    }
    return this.rejectedIfInvalid(error);
  }
}

function cardOutcome(error: Stripe.errors.StripeCardError, id: string): ConfirmOutcome {
  const paymentIntentId = error.payment_intent?.id ?? id;
  if (needsAuthentication(error.code, error.decline_code)) {
    return { kind: "needs_customer_action", paymentIntentId, code: "authentication_required" };
  }
  return {
    kind: "declined",
    paymentIntentId,
    code: error.code ?? "card_declined",
    declineCode: error.decline_code ?? null,
  };
}

function needsAuthentication(code: string | undefined, declineCode: string | undefined): boolean {
  return code === "authentication_required" || declineCode === "authentication_required";
}

function isInvalid(error: StripeError): boolean {
  return (
    error instanceof Stripe.errors.StripeInvalidRequestError ||
    error instanceof Stripe.errors.StripeIdempotencyError
  );
}

function isMissing(error: StripeError): boolean {
  return isInvalid(error) && error.code === "resource_missing";
}

function confirmedOutcome(pi: PaymentIntentView): ConfirmOutcome {
  switch (pi.status) {
    case "succeeded":
      return { kind: "succeeded", paymentIntentId: pi.id, chargeId: pi.latestChargeId };
    case "requires_action":
      return { kind: "needs_customer_action", paymentIntentId: pi.id, code: "authentication_required" };
    case "requires_payment_method":
      if (
        pi.lastError &&
        needsAuthentication(pi.lastError.code ?? undefined, pi.lastError.declineCode ?? undefined)
      ) {
        return { kind: "needs_customer_action", paymentIntentId: pi.id, code: "authentication_required" };
      }
      return {
        kind: "declined",
        paymentIntentId: pi.id,
        code: pi.lastError?.code ?? "card_declined",
        declineCode: pi.lastError?.declineCode ?? null,
      };
    default:
      // processing, requires_capture, ...: not settled yet; the resolver looks again later.
      return { kind: "in_doubt", reason: `confirmed, status ${pi.status}` };
  }
}

function view(pi: Stripe.PaymentIntent): PaymentIntentView {
  const latestCharge = pi.latest_charge;
  const lastError = pi.last_payment_error;
  return {
    id: pi.id,
    status: pi.status as PaymentIntentStatus,
    amount: pi.amount,
    currency: pi.currency,
    customerId: typeof pi.customer === "string" ? pi.customer : (pi.customer?.id ?? null),
    latestChargeId: typeof latestCharge === "string" ? latestCharge : (latestCharge?.id ?? null),
    metadata: { ...(pi.metadata ?? {}) },
    created: pi.created,
    lastError: lastError
      ? { code: lastError.code ?? null, declineCode: lastError.decline_code ?? null }
      : null,
  };
}

/** The view plus the refunded amount of the latest charge (expanded; an id alone says nothing of refunds). */
function reconcilable(pi: Stripe.PaymentIntent): ReconcilablePaymentIntent {
  const charge = pi.latest_charge;
  return {
    ...view(pi),
    amountRefunded: typeof charge === "object" && charge !== null ? (charge.amount_refunded ?? 0) : 0,
  };
}
