/**
 * Amounts and currencies: integer minor units, an 8-digit cap, and Stripe's minimum charge amounts for
 * the currencies the emulator knows (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
 * A currency outside this table is refused, as Stripe refuses codes it does not support.
 */
import { invalidRequest, type ApiError } from "./errors";

interface Currency {
  /** Digits after the decimal point: 0 for zero-decimal currencies such as jpy. */
  readonly decimals: 0 | 2;
  /** The minimum charge, in minor units. */
  readonly minimum: number;
  readonly symbol: string;
}

const CURRENCIES: Readonly<Record<string, Currency>> = {
  usd: { decimals: 2, minimum: 50, symbol: "$" },
  eur: { decimals: 2, minimum: 50, symbol: "€" },
  gbp: { decimals: 2, minimum: 30, symbol: "£" },
  jpy: { decimals: 0, minimum: 50, symbol: "¥" },
  aud: { decimals: 2, minimum: 50, symbol: "A$" },
  cad: { decimals: 2, minimum: 50, symbol: "CA$" },
  chf: { decimals: 2, minimum: 50, symbol: "CHF " },
  nzd: { decimals: 2, minimum: 50, symbol: "NZ$" },
  sgd: { decimals: 2, minimum: 50, symbol: "S$" },
  brl: { decimals: 2, minimum: 50, symbol: "R$" },
  inr: { decimals: 2, minimum: 50, symbol: "₹" },
  dkk: { decimals: 2, minimum: 250, symbol: "kr " },
  nok: { decimals: 2, minimum: 300, symbol: "kr " },
  sek: { decimals: 2, minimum: 300, symbol: "kr " },
  pln: { decimals: 2, minimum: 200, symbol: "zł " },
  czk: { decimals: 2, minimum: 1500, symbol: "Kč " },
  hkd: { decimals: 2, minimum: 400, symbol: "HK$" },
  mxn: { decimals: 2, minimum: 1000, symbol: "MX$" },
};

/** Most currencies cap at 8 digits of minor units. */
export const MAX_AMOUNT = 99_999_999;

export function isKnownCurrency(code: string): boolean {
  return Object.hasOwn(CURRENCIES, code);
}

/** Lowercases and checks a currency code; Stripe accepts `USD` and answers `usd`. */
export function parseCurrency(raw: string): string {
  const code = raw.toLowerCase();
  if (!isKnownCurrency(code)) {
    throw invalidRequest(
      `Invalid currency: ${raw}. Stripe currently supports these currencies: ${Object.keys(CURRENCIES).join(", ")}`,
      { param: "currency" },
    );
  }
  return code;
}

function format(minor: number, currency: Currency): string {
  const major = currency.decimals === 0 ? minor : minor / 100;
  return `${currency.symbol}${major.toLocaleString("en-US", {
    minimumFractionDigits: currency.decimals,
    maximumFractionDigits: currency.decimals,
  })}`;
}

/** The amount rules for a charge: at least the currency's minimum, at most MAX_AMOUNT. */
export function amountError(amount: number, code: string): ApiError | null {
  const currency = CURRENCIES[code];
  if (!currency) return null;
  if (amount < currency.minimum) {
    return invalidRequest(`Amount must be at least ${format(currency.minimum, currency)} ${code}`, {
      param: "amount",
      code: "amount_too_small",
    });
  }
  if (amount > MAX_AMOUNT) {
    return invalidRequest(`Amount must be no more than ${format(MAX_AMOUNT, currency)} ${code}`, {
      param: "amount",
      code: "amount_too_large",
    });
  }
  return null;
}
