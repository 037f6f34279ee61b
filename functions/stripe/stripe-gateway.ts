/**
 * The payment gateway over the official Stripe SDK: the only module that imports `stripe`. It turns every
 * SDK result and error into a typed outcome (functions/core/payments/payment-gateway.ts), and holds the
 * one retry policy of the project's Stripe calls:
 *
 * - The SDK retries what it knows is safe to retry (no response, 409, 5xx, and whatever Stripe marks with
 *   Stripe-Should-Retry), at most `maxNetworkRetries` times, reusing our idempotency key. The timeout is
 *   short on purpose: a Lambda run must keep time to settle and release, and 80 s (the SDK default) would
 *   eat it. After its retries, an unknown outcome is reported as in doubt, never retried blindly here.
 * - A plain 429 is not retried by the SDK. Here it is, with capped exponential backoff and jitter, a few
 *   times, because a 429 means nothing happened. Then it is reported as rate limited.
 * - A client-side rate limiter spaces requests out so that 429s stay rare.
 * - Authentication and permission errors are not outcomes of one charge: they throw, and the run stops.
 */
import Stripe from "stripe";
import type { Clock } from "../core/clock";
import type {
  ConfirmOutcome,
  CreatedRange,
  CreateOutcome,
  FindOutcome,
  ListOutcome,
  NewPaymentIntent,
  PaymentGateway,
  PaymentIntentLister,
  PaymentIntentStatus,
  PaymentIntentView,
  PeriodLookup,
  ReconcilablePaymentIntent,
  ReconcileRetrieveOutcome,
  RetrieveOutcome,
} from "../core/payments/payment-gateway";

export interface StripeGatewayOptions {
  readonly apiKey: string;
  /** For the local emulator or a proxy; unset means api.stripe.com over HTTPS. */
  readonly host?: string;
  readonly port?: number;
  readonly protocol?: "http" | "https";
  /** Per-request timeout. Default 10 s. */
  readonly timeoutMs?: number;
  /** The SDK's own retries of unknown outcomes (same idempotency key). Default 2. */
  readonly maxNetworkRetries?: number;
  /** Our retries of a plain 429. Default 4. */
  readonly rateLimitRetries?: number;
  readonly clock: Clock;
  /** Called before every request; resolves when it may be sent. */
  readonly beforeRequest?: () => Promise<void>;
}

/** The provider refused our credentials or permissions: no charge can succeed; stop the run. */
export class PaymentProviderConfigError extends Error {
  override readonly name = "PaymentProviderConfigError";
}

export const DEFAULT_STRIPE_TIMEOUT_MS = 10_000;
export const DEFAULT_STRIPE_NETWORK_RETRIES = 2;

export class StripeGateway implements PaymentGateway, PaymentIntentLister {
  private readonly stripe: Stripe;
  private readonly rateLimitRetries: number;

  constructor(private readonly options: StripeGatewayOptions) {
    this.stripe = new Stripe(options.apiKey, {
      maxNetworkRetries: options.maxNetworkRetries ?? DEFAULT_STRIPE_NETWORK_RETRIES,
      timeout: options.timeoutMs ?? DEFAULT_STRIPE_TIMEOUT_MS,
      telemetry: false,
      appInfo: { name: "lease-billing" },
      ...(options.host !== undefined && { host: options.host }),
      ...(options.port !== undefined && { port: options.port }),
      ...(options.protocol !== undefined && { protocol: options.protocol }),
    });
    this.rateLimitRetries = options.rateLimitRetries ?? 4;
  }

  async createPaymentIntent(request: NewPaymentIntent): Promise<CreateOutcome> {
    return this.call(
      async (): Promise<CreateOutcome> => {
        const pi = await this.stripe.paymentIntents.create(
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
            // Not confirmed here: an unconfirmed PaymentIntent moves no money (see DESIGN.md).
            confirm: false,
          },
          { idempotencyKey: request.idempotencyKey },
        );
        return { kind: "created", paymentIntent: view(pi) };
      },
      (error): CreateOutcome | null => (isInvalid(error) ? rejected(error) : null),
    );
  }

  async confirmPaymentIntent(
    id: string,
    paymentMethodId: string,
    idempotencyKey: string,
  ): Promise<ConfirmOutcome> {
    return this.call(
      async (): Promise<ConfirmOutcome> => {
        const pi = await this.stripe.paymentIntents.confirm(
          id,
          { off_session: true, payment_method: paymentMethodId },
          { idempotencyKey },
        );
        return confirmedOutcome(view(pi));
      },
      (error): ConfirmOutcome | null => {
        if (error instanceof Stripe.errors.StripeCardError) {
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
        if (isInvalid(error) && error.code === "payment_intent_unexpected_state") {
          return { kind: "unexpected_state", paymentIntentId: id, message: error.message };
        }
        return isInvalid(error) ? rejected(error) : null;
      },
    );
  }

  async retrievePaymentIntent(id: string): Promise<RetrieveOutcome> {
    return this.call(
      async (): Promise<RetrieveOutcome> => ({
        kind: "found",
        paymentIntent: view(await this.stripe.paymentIntents.retrieve(id)),
      }),
      (error): RetrieveOutcome | null => {
        if (isInvalid(error) && error.code === "resource_missing") return { kind: "not_found" };
        return isInvalid(error) ? rejected(error) : null;
      },
    );
  }

  async findPaymentIntentsForPeriod(lookup: PeriodLookup): Promise<FindOutcome> {
    return this.call(
      async (): Promise<FindOutcome> => {
        const matches: PaymentIntentView[] = [];
        let startingAfter: string | undefined;
        // List, not Search: list is strongly consistent; search may lag by minutes (stripe-semantics.md).
        for (;;) {
          const page = await this.stripe.paymentIntents.list({
            customer: lookup.customerId,
            created: { gte: lookup.createdSince },
            limit: 100,
            ...(startingAfter && { starting_after: startingAfter }),
          });
          for (const pi of page.data) {
            if (
              pi.metadata?.subscription_id === lookup.subscriptionId &&
              pi.metadata?.period_start === lookup.periodStart
            ) {
              matches.push(view(pi));
            }
          }
          if (!page.has_more || page.data.length === 0) break;
          startingAfter = page.data[page.data.length - 1]!.id;
          await this.options.beforeRequest?.();
        }
        return { kind: "found", paymentIntents: matches };
      },
      (error): FindOutcome | null => (isInvalid(error) ? rejected(error) : null),
    );
  }

  /** For reconciliation: every PaymentIntent created in the range, its latest charge expanded for refunds. */
  async listPaymentIntents(range: CreatedRange): Promise<ListOutcome> {
    return this.call(
      async (): Promise<ListOutcome> => {
        const found: ReconcilablePaymentIntent[] = [];
        let startingAfter: string | undefined;
        for (;;) {
          const page = await this.stripe.paymentIntents.list({
            created: { gte: range.gte, lte: range.lte },
            limit: 100,
            expand: ["data.latest_charge"],
            ...(startingAfter && { starting_after: startingAfter }),
          });
          found.push(...page.data.map(reconcilable));
          if (!page.has_more || page.data.length === 0) break;
          startingAfter = page.data[page.data.length - 1]!.id;
          await this.options.beforeRequest?.();
        }
        return { kind: "found", paymentIntents: found };
      },
      (error): ListOutcome | null => (isInvalid(error) ? rejected(error) : null),
    );
  }

  async retrievePaymentIntentWithRefunds(id: string): Promise<ReconcileRetrieveOutcome> {
    return this.call(
      async (): Promise<ReconcileRetrieveOutcome> => ({
        kind: "found",
        paymentIntent: reconcilable(
          await this.stripe.paymentIntents.retrieve(id, { expand: ["latest_charge"] }),
        ),
      }),
      (error): ReconcileRetrieveOutcome | null => {
        if (isInvalid(error) && error.code === "resource_missing") return { kind: "not_found" };
        return isInvalid(error) ? rejected(error) : null;
      },
    );
  }

  /**
   * Runs one SDK call under the retry policy. `specific` maps the errors that mean something for this
   * call; what is left is mapped the same way for every call.
   */
  private async call<T>(
    request: () => Promise<T>,
    specific: (error: Stripe.errors.StripeError) => T | null,
  ): Promise<T | { kind: "rate_limited" } | { kind: "in_doubt"; reason: string }> {
    for (let attempt = 0; ; attempt++) {
      await this.options.beforeRequest?.();
      try {
        return await request();
      } catch (error) {
        if (!(error instanceof Stripe.errors.StripeError)) throw error;
        if (
          error instanceof Stripe.errors.StripeAuthenticationError ||
          error instanceof Stripe.errors.StripePermissionError
        ) {
          throw new PaymentProviderConfigError(`Stripe refused the API key: ${error.message}`);
        }
        if (
          error instanceof Stripe.errors.StripeRateLimitError ||
          error.code === "rate_limit" ||
          error.code === "lock_timeout"
        ) {
          if (attempt < this.rateLimitRetries) {
            await this.options.clock.sleep(backoffMs(attempt));
            continue;
          }
          return { kind: "rate_limited" };
        }
        const mapped = specific(error);
        if (mapped !== null) return mapped;
        // No response, a 409 (the same key in flight), a 5xx: the request may have taken effect.
        return { kind: "in_doubt", reason: describe(error) };
      }
    }
  }
}

/** Exponential backoff with full jitter, capped: 0.5 s, 1 s, 2 s, 4 s ... up to 5 s (as the SDK's own). */
function backoffMs(attempt: number): number {
  const cap = Math.min(500 * 2 ** attempt, 5_000);
  return Math.round(cap * (0.5 + Math.random() * 0.5));
}

function needsAuthentication(code: string | undefined, declineCode: string | undefined): boolean {
  return code === "authentication_required" || declineCode === "authentication_required";
}

function isInvalid(error: Stripe.errors.StripeError): boolean {
  return (
    error instanceof Stripe.errors.StripeInvalidRequestError ||
    error instanceof Stripe.errors.StripeIdempotencyError
  );
}

function rejected(error: Stripe.errors.StripeError): {
  kind: "rejected";
  code: string | null;
  message: string;
} {
  return { kind: "rejected", code: error.code ?? error.rawType ?? null, message: error.message };
}

function describe(error: Stripe.errors.StripeError): string {
  const status = error.statusCode ? ` ${error.statusCode}` : "";
  return `${error.type}${status}: ${error.message}`.slice(0, 300);
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
