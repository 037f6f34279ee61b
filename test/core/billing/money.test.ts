import { describe, expect, it } from "vitest";
import {
  CURRENCIES,
  MAX_AMOUNT,
  checkAmount,
  currencyInfo,
  formatMoney,
  isSupportedCurrency,
  type CurrencyCode,
} from "../../../functions/core/billing/money";

/** Stripe's minimum charge per currency, in minor units (docs.stripe.com/currencies). */
const EXPECTED_MINIMUMS: Record<CurrencyCode, number> = {
  usd: 50,
  eur: 50,
  gbp: 30,
  jpy: 50,
  cad: 50,
  aud: 50,
  chf: 50,
  sek: 300,
  nok: 300,
  dkk: 250,
  nzd: 50,
  sgd: 50,
  hkd: 400,
};

describe("supported currencies", () => {
  it("are exactly the expected ones, with Stripe's minimums and the 8-digit maximum", () => {
    expect(Object.keys(CURRENCIES).sort()).toEqual(Object.keys(EXPECTED_MINIMUMS).sort());
    for (const [code, minimum] of Object.entries(EXPECTED_MINIMUMS)) {
      expect(currencyInfo(code)).toMatchObject({ code, minimumAmount: minimum, maximumAmount: 99_999_999 });
    }
  });

  it("have two decimals, except the yen", () => {
    const zeroDecimal = Object.values(CURRENCIES)
      .filter((c) => c.decimals === 0)
      .map((c) => c.code);
    expect(zeroDecimal).toEqual(["jpy"]);
  });

  it("are lowercase ISO codes only", () => {
    expect(isSupportedCurrency("usd")).toBe(true);
    expect(isSupportedCurrency("USD")).toBe(false);
    expect(isSupportedCurrency("xyz")).toBe(false);
    expect(isSupportedCurrency("toString")).toBe(false);
    expect(isSupportedCurrency(undefined)).toBe(false);
  });
});

describe("amount limits", () => {
  it.each(Object.entries(EXPECTED_MINIMUMS))(
    "%s: accepts minimum to maximum, refuses just outside",
    (code, min) => {
      expect(checkAmount(min, code).ok).toBe(true);
      expect(checkAmount(MAX_AMOUNT, code).ok).toBe(true);
      expect(checkAmount(min - 1, code)).toMatchObject({
        ok: false,
        field: "amount",
        reason: /below .*minimum/,
      });
      expect(checkAmount(MAX_AMOUNT + 1, code)).toMatchObject({
        ok: false,
        field: "amount",
        reason: /above .*maximum/,
      });
    },
  );

  it("refuses amounts that are not positive whole numbers, without coercing", () => {
    for (const amount of [
      0,
      -100,
      12.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      "1200",
      null,
      undefined,
      10n,
    ]) {
      expect(checkAmount(amount, "usd"), String(amount)).toMatchObject({ ok: false, field: "amount" });
    }
  });

  it("refuses a missing or unknown currency, naming the currency", () => {
    expect(checkAmount(1200, "USD")).toMatchObject({
      ok: false,
      field: "currency",
      reason: /not a supported/,
    });
    expect(checkAmount(1200, "")).toMatchObject({ ok: false, field: "currency", reason: /missing/ });
    expect(checkAmount(1200, undefined)).toMatchObject({ ok: false, field: "currency" });
  });

  it("returns the checked values", () => {
    expect(checkAmount(1200, "eur")).toEqual({ ok: true, amount: 1200, currency: "eur" });
  });
});

describe("formatMoney", () => {
  it("writes minor units as major units with the currency", () => {
    expect(formatMoney(1234, "usd")).toBe("$12.34");
    expect(formatMoney(500, "jpy")).toBe("¥500");
    expect(formatMoney(50, "chf")).toBe("CHF 0.50");
    expect(formatMoney(5, "eur")).toBe("€0.05");
    expect(formatMoney(123456789, "gbp")).toBe("£1,234,567.89");
    expect(formatMoney(1234567, "jpy")).toBe("¥1,234,567");
    expect(formatMoney(-100000, "eur")).toBe("-€1,000.00");
  });

  it("never throws on an unknown currency", () => {
    expect(formatMoney(1234, "xyz")).toBe("1234 xyz (minor units)");
  });
});
