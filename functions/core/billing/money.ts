/**
 * Money: integer amounts in a currency's minor unit (cents; yen for jpy), lowercase ISO codes, and the
 * limits Stripe puts on a charge. Amounts are never floats and never converted here.
 *
 * Minimums follow Stripe's "Minimum and maximum charge amounts" table (docs.stripe.com/currencies). Stripe
 * applies them to the amount as converted into the account's settlement currency, so an account settling
 * in another currency may see a different effective floor; these are the same-currency values, the
 * floor a same-currency account sees. The maximum is Stripe's 8-digit cap (99999999) for all of them.
 */
import { UnreadableNumber, describeUnreadable } from "./unreadable-number";

export const MAX_AMOUNT = 99_999_999;

export type CurrencyCode =
  "usd" | "eur" | "gbp" | "jpy" | "cad" | "aud" | "chf" | "sek" | "nok" | "dkk" | "nzd" | "sgd" | "hkd";

export interface CurrencyInfo {
  readonly code: CurrencyCode;
  /** Digits after the decimal point of the major unit: 0 for zero-decimal currencies. */
  readonly decimals: 0 | 2;
  /** Smallest charge Stripe accepts, in minor units. */
  readonly minimumAmount: number;
  /** Largest charge Stripe accepts, in minor units. */
  readonly maximumAmount: number;
  /** Prefix in reports: a symbol where it is unambiguous, else the upper-case code and a space. */
  readonly prefix: string;
}

function currency(code: CurrencyCode, decimals: 0 | 2, minimumAmount: number, prefix: string): CurrencyInfo {
  return { code, decimals, minimumAmount, maximumAmount: MAX_AMOUNT, prefix };
}

export const CURRENCIES: Readonly<Record<CurrencyCode, CurrencyInfo>> = {
  usd: currency("usd", 2, 50, "$"),
  eur: currency("eur", 2, 50, "€"),
  gbp: currency("gbp", 2, 30, "£"),
  jpy: currency("jpy", 0, 50, "¥"),
  cad: currency("cad", 2, 50, "CA$"),
  aud: currency("aud", 2, 50, "A$"),
  chf: currency("chf", 2, 50, "CHF "),
  sek: currency("sek", 2, 300, "SEK "),
  nok: currency("nok", 2, 300, "NOK "),
  dkk: currency("dkk", 2, 250, "DKK "),
  nzd: currency("nzd", 2, 50, "NZ$"),
  sgd: currency("sgd", 2, 50, "SGD "),
  hkd: currency("hkd", 2, 400, "HK$"),
};

export function isSupportedCurrency(value: unknown): value is CurrencyCode {
  return typeof value === "string" && Object.hasOwn(CURRENCIES, value);
}

export function currencyInfo(code: string): CurrencyInfo | undefined {
  return isSupportedCurrency(code) ? CURRENCIES[code] : undefined;
}

export type AmountCheck =
  | { readonly ok: true; readonly amount: number; readonly currency: CurrencyCode }
  | { readonly ok: false; readonly field: "amount" | "currency"; readonly reason: string };

/**
 * Whether `amount` can be charged in `currency`. Values are checked as they are, never coerced: an amount
 * stored as the string "1200" is bad data, not 1200.
 */
export function checkAmount(amount: unknown, currency: unknown): AmountCheck {
  if (typeof currency !== "string" || currency === "") {
    return { ok: false, field: "currency", reason: "currency is missing" };
  }
  if (!isSupportedCurrency(currency)) {
    return {
      ok: false,
      field: "currency",
      reason: `currency ${JSON.stringify(currency)} is not a supported lowercase ISO code`,
    };
  }
  if (typeof amount !== "number") {
    return {
      ok: false,
      field: "amount",
      reason: `amount must be a number of minor units, got ${describe(amount)}`,
    };
  }
  if (!Number.isInteger(amount)) {
    return {
      ok: false,
      field: "amount",
      reason: `amount must be a whole number of minor units, got ${amount}`,
    };
  }
  if (amount <= 0) return { ok: false, field: "amount", reason: `amount must be positive, got ${amount}` };
  const info = CURRENCIES[currency];
  if (amount < info.minimumAmount) {
    return {
      ok: false,
      field: "amount",
      reason: `amount ${formatMoney(amount, currency)} is below Stripe's minimum charge of ${formatMoney(info.minimumAmount, currency)}`,
    };
  }
  if (amount > info.maximumAmount) {
    return {
      ok: false,
      field: "amount",
      reason: `amount ${amount} is above Stripe's maximum charge of ${info.maximumAmount} minor units`,
    };
  }
  return { ok: true, amount, currency };
}

/** Any value, shown without throwing (a bigint or a cyclic object must not break validation). */
function describe(value: unknown): string {
  if (value instanceof UnreadableNumber) return describeUnreadable(value);
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (typeof value === "string") return `string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === "bigint") return `bigint ${value}`;
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${value}`;
  return typeof value;
}

/**
 * An amount for people to read: "$12.34", "¥500", "CHF 0.50", "-€1,000.00". Unknown currencies show
 * the raw minor units and the code, so a report never throws.
 */
export function formatMoney(amount: number, currency: string): string {
  const info = currencyInfo(currency);
  if (!info || !Number.isSafeInteger(amount)) return `${amount} ${currency} (minor units)`;
  const sign = amount < 0 ? "-" : "";
  const abs = Math.abs(amount);
  const scale = 10 ** info.decimals;
  const major = Math.floor(abs / scale)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const minor = info.decimals === 0 ? "" : `.${String(abs % scale).padStart(info.decimals, "0")}`;
  return `${sign}${info.prefix}${major}${minor}`;
}
