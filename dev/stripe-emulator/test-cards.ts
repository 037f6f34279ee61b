/**
 * Stripe's test PaymentMethods (https://docs.stripe.com/testing) and how each behaves when charged or
 * attached. Using one of these ids creates a fresh `pm_...` object that carries the behaviour, as Stripe
 * does; the test id itself is never stored on a PaymentIntent.
 */

export interface Decline {
  /** `card_declined`, or a more specific code such as `expired_card` or `authentication_required`. */
  readonly code: string;
  readonly declineCode: string;
  readonly message: string;
  /** Some card errors name the field at fault. */
  readonly param?: string;
}

/** What happens when the card is charged. */
export type ChargeBehaviour =
  | { readonly kind: "succeeds" }
  | { readonly kind: "declines"; readonly decline: Decline }
  /** 3-D Secure: on-session the PaymentIntent asks for action; off-session the issuer decides. */
  | {
      readonly kind: "requires_authentication";
      readonly offSession:
        { readonly kind: "succeeds" } | { readonly kind: "declines"; readonly decline: Decline };
    };

export interface TestCard {
  readonly brand: "visa" | "mastercard";
  readonly last4: string;
  /** Decline cards fail the check Stripe runs when a card is attached to a customer. */
  readonly attachable: boolean;
  readonly charge: ChargeBehaviour;
}

function decline(code: string, declineCode: string, message: string, param?: string): Decline {
  return { code, declineCode, message, ...(param !== undefined && { param }) };
}

const GENERIC = decline("card_declined", "generic_decline", "Your card was declined.");
const INSUFFICIENT = decline("card_declined", "insufficient_funds", "Your card has insufficient funds.");
const AUTHENTICATION = decline(
  "authentication_required",
  "authentication_required",
  "Your card was declined. This transaction requires authentication.",
);

const succeeds: ChargeBehaviour = { kind: "succeeds" };
const declines = (d: Decline): ChargeBehaviour => ({ kind: "declines", decline: d });

export const TEST_CARDS: Readonly<Record<string, TestCard>> = {
  pm_card_visa: { brand: "visa", last4: "4242", attachable: true, charge: succeeds },
  pm_card_mastercard: { brand: "mastercard", last4: "4444", attachable: true, charge: succeeds },
  pm_card_visa_chargeDeclined: { brand: "visa", last4: "0002", attachable: false, charge: declines(GENERIC) },
  pm_card_visa_chargeDeclinedInsufficientFunds: {
    brand: "visa",
    last4: "9995",
    attachable: false,
    charge: declines(INSUFFICIENT),
  },
  pm_card_visa_chargeDeclinedLostCard: {
    brand: "visa",
    last4: "9987",
    attachable: false,
    charge: declines(decline("card_declined", "lost_card", "Your card was declined.")),
  },
  pm_card_visa_chargeDeclinedStolenCard: {
    brand: "visa",
    last4: "9979",
    attachable: false,
    charge: declines(decline("card_declined", "stolen_card", "Your card was declined.")),
  },
  pm_card_visa_chargeDeclinedVelocityLimitExceeded: {
    brand: "visa",
    last4: "6975",
    attachable: false,
    charge: declines(
      decline(
        "card_declined",
        "card_velocity_exceeded",
        "Your card was declined for making repeated attempts too frequently or exceeding its amount limit.",
      ),
    ),
  },
  pm_card_chargeDeclinedExpiredCard: {
    brand: "visa",
    last4: "0069",
    attachable: false,
    charge: declines(decline("expired_card", "expired_card", "Your card has expired.", "exp_month")),
  },
  pm_card_chargeDeclinedIncorrectCvc: {
    brand: "visa",
    last4: "0127",
    attachable: false,
    charge: declines(
      decline("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.", "cvc"),
    ),
  },
  pm_card_chargeDeclinedProcessingError: {
    brand: "visa",
    last4: "0119",
    attachable: false,
    charge: declines(
      decline(
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
      ),
    ),
  },
  // Attaches fine, fails when charged: the realistic model of a saved card that goes bad.
  pm_card_chargeCustomerFail: { brand: "visa", last4: "0341", attachable: true, charge: declines(GENERIC) },
  pm_card_authenticationRequired: {
    brand: "visa",
    last4: "3184",
    attachable: true,
    charge: { kind: "requires_authentication", offSession: { kind: "declines", decline: AUTHENTICATION } },
  },
  pm_card_authenticationRequiredSetupForOffSession: {
    brand: "visa",
    last4: "3155",
    attachable: true,
    charge: { kind: "requires_authentication", offSession: { kind: "succeeds" } },
  },
  pm_card_authenticationRequiredChargeDeclinedInsufficientFunds: {
    brand: "visa",
    last4: "3178",
    attachable: true,
    charge: { kind: "requires_authentication", offSession: { kind: "declines", decline: INSUFFICIENT } },
  },
};

export function testCard(id: string): TestCard | undefined {
  return Object.hasOwn(TEST_CARDS, id) ? TEST_CARDS[id] : undefined;
}
