/** Every Stripe endpoint the emulator answers. Literal paths come before `:id` patterns. */
import type { AnyRoute } from "../route";
import { createCustomer, retrieveCustomer } from "./customers";
import {
  cancelPaymentIntent,
  confirmPaymentIntent,
  createPaymentIntent,
  listPaymentIntents,
  retrievePaymentIntent,
  searchPaymentIntents,
} from "./payment-intents";
import { attachPaymentMethodRoute, retrievePaymentMethod } from "./payment-methods";
import { createRefund, retrieveRefund } from "./refunds";

export const ROUTES: readonly AnyRoute[] = [
  createCustomer,
  retrieveCustomer,
  attachPaymentMethodRoute,
  retrievePaymentMethod,
  createPaymentIntent,
  listPaymentIntents,
  searchPaymentIntents,
  retrievePaymentIntent,
  confirmPaymentIntent,
  cancelPaymentIntent,
  createRefund,
  retrieveRefund,
];
