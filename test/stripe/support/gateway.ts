/** The gateway wired to the emulator (or a stub) over HTTP, and a renewal's create request, for the gateway tests. */
import { stripeClient, TEST_CARDS } from "../../../dev/seed";
import { systemClock } from "../../../functions/core/clock";
import { renewalMetadata, type NewPaymentIntent } from "../../../functions/core/payments/payment-gateway";
import { StripeGateway, type StripeGatewayOptions } from "../../../functions/stripe/stripe-gateway";

export const KEY = "sk_test_gatewayTests";
export const PERIOD = "2026-11-01T00:00:00.000Z";

let sequence = 0;

export function gatewayAt(url: string, options: Partial<StripeGatewayOptions> = {}): StripeGateway {
  const { hostname, port } = new URL(url);
  return new StripeGateway({
    apiKey: KEY,
    host: hostname,
    port: Number(port),
    protocol: "http",
    clock: systemClock,
    timeoutMs: 2_000,
    maxNetworkRetries: 1,
    rateLimitRetries: 0,
    ...options,
  });
}

/** A customer with a saved card of the given kind, and a create request for one period. */
export async function renewalAt(url: string, card: keyof typeof TEST_CARDS): Promise<NewPaymentIntent> {
  const stripe = stripeClient(KEY, url);
  const customer = await stripe.customers.create({});
  const pm = await stripe.paymentMethods.attach(TEST_CARDS[card], { customer: customer.id });
  const subscriptionId = `sub_gw_${++sequence}_${Date.now()}`;
  return {
    amount: 2500,
    currency: "eur",
    customerId: customer.id,
    paymentMethodId: pm.id,
    description: "test renewal",
    metadata: renewalMetadata(subscriptionId, PERIOD, 1),
    idempotencyKey: `renew:create:${subscriptionId}`,
  };
}
