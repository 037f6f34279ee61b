/**
 * What the Stripe emulator recorded, as the billing suites read it: a subscription's PaymentIntents, and
 * the card attempts its request log shows for one of them.
 */
import type { StripeEmulator } from "../../dev/stripe-emulator";

/** The job's PaymentIntents for a subscription, by period (oldest first), each period's in creation order. */
export function intentsOf(emulator: StripeEmulator, subscriptionId: string) {
  return emulator
    .snapshot()
    .paymentIntents.filter((pi) => pi.metadata.subscription_id === subscriptionId)
    .sort((a, b) => a.metadata.period_start!.localeCompare(b.metadata.period_start!));
}

/** Requests Stripe ran against the card of this PaymentIntent (not refusals, not replays). */
export function cardAttempts(emulator: StripeEmulator, paymentIntentId: string): number {
  return emulator.requestLog().entries.filter((e) => e.paymentIntent === paymentIntentId && e.cardAttempt)
    .length;
}
