/**
 * The data set `npm start` seeds: a realistic mix, reproducible from a seed. Monthly and annual plans in
 * several currencies; most due now (in the last few days), some several periods behind (missed runs),
 * some not due yet; cards that succeed, decline, or need the customer to authenticate; and a few invalid
 * records (a bad amount, an unknown currency, a missing card) that the run must quarantine and go past.
 */
import type { InvalidSeed, SubscriptionSeed, TestCard } from "../seed";
import { seededRng } from "../stripe-emulator/random";

export type Category =
  | "due-monthly"
  | "due-annual"
  | "catch-up"
  | "declines"
  | "needs-authentication"
  | "insufficient-funds"
  | "not-due-monthly"
  | "not-due-annual"
  | "invalid";

export interface DataSet {
  readonly asOf: string;
  readonly seeds: readonly SubscriptionSeed[];
  readonly invalid: readonly InvalidSeed[];
  readonly byCategory: Readonly<Record<Category, number>>;
  /** Subscriptions due at `asOf` (invalid ones included: they are due, and must be quarantined). */
  readonly due: number;
  readonly notDue: number;
  /** Billing periods due at `asOf` over all valid due subscriptions (catch-up ones owe several). */
  readonly duePeriods: number;
}

/** Shares of the data set; what is left over is plain monthly renewals that succeed. */
const SHARES: readonly [Category, number][] = [
  ["due-annual", 0.1],
  ["catch-up", 0.03],
  ["declines", 0.06],
  ["needs-authentication", 0.04],
  ["insufficient-funds", 0.02],
  ["not-due-monthly", 0.1],
  ["not-due-annual", 0.05],
];

/** Currencies and their shares. Amounts are minor units: 500..5000 is $5..$50, or ¥500..¥5000. */
const CURRENCIES: readonly [string, number][] = [
  ["usd", 0.5],
  ["eur", 0.2],
  ["gbp", 0.15],
  ["jpy", 0.1],
  ["cad", 0.05],
];

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export function buildDataSet(count: number, asOf: string, shards: number, seed: number): DataSet {
  const random = seededRng(seed);
  const asOfMs = Date.parse(asOf);
  const invalidCount = count >= 10 ? 3 : 0;
  const categories: Category[] = [];
  for (const [category, share] of SHARES) {
    const n = Math.floor(count * share);
    for (let i = 0; i < n; i++) categories.push(category);
  }
  for (let i = 0; i < invalidCount; i++) categories.push("invalid");
  while (categories.length < count) categories.push("due-monthly");
  categories.length = count;
  // Shuffle (Fisher-Yates), so categories are spread over shards and over the due index.
  for (let i = categories.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [categories[i], categories[j]] = [categories[j]!, categories[i]!];
  }

  const currency = () => {
    let r = random();
    for (const [code, share] of CURRENCIES) if ((r -= share) <= 0) return code;
    return "usd";
  };
  const monthlyAmount = () => (5 + Math.floor(random() * 46)) * 100;

  const seeds: SubscriptionSeed[] = [];
  const invalid: InvalidSeed[] = [];
  const byCategory = Object.fromEntries(
    [
      "due-monthly",
      "due-annual",
      "catch-up",
      "declines",
      "needs-authentication",
      "insufficient-funds",
      "not-due-monthly",
      "not-due-annual",
      "invalid",
    ].map((c) => [c, 0]),
  ) as Record<Category, number>;
  let invalidIndex = 0;
  let duePeriods = 0;

  categories.forEach((category, i) => {
    byCategory[category] += 1;
    const subscriptionId = `sub_${String(i + 1).padStart(5, "0")}`;
    const shard = i % shards;
    const code = currency();
    if (category === "invalid") {
      invalid.push(invalidRecord(invalidIndex++, shard, asOfMs));
      return;
    }
    let start: Date;
    let interval: "month" | "year" = "month";
    let card: TestCard = random() < 0.7 ? "succeeds" : "succeedsMastercard";
    let periods = 1;
    switch (category) {
      case "due-monthly":
        start = new Date(asOfMs - (1 + random() * 71) * HOUR);
        break;
      case "due-annual":
        interval = "year";
        start = new Date(asOfMs - (1 + random() * 71) * HOUR);
        break;
      case "catch-up": {
        // Runs were missed: the oldest unpaid period began two months ago; three periods are owed.
        const base = new Date(asOfMs - (1 + random() * 47) * HOUR);
        start = new Date(
          Date.UTC(
            base.getUTCFullYear(),
            base.getUTCMonth() - 2,
            Math.min(base.getUTCDate(), 28),
            base.getUTCHours(),
            base.getUTCMinutes(),
            base.getUTCSeconds(),
          ),
        );
        periods = 3;
        break;
      }
      case "declines":
        card = "declines";
        start = new Date(asOfMs - (1 + random() * 71) * HOUR);
        break;
      case "needs-authentication":
        card = "needsAuthentication";
        start = new Date(asOfMs - (1 + random() * 71) * HOUR);
        break;
      case "insufficient-funds":
        card = "insufficientFunds";
        start = new Date(asOfMs - (1 + random() * 71) * HOUR);
        break;
      case "not-due-monthly":
        start = new Date(asOfMs + (1 + random() * 24) * DAY);
        periods = 0;
        break;
      case "not-due-annual":
        interval = "year";
        start = new Date(asOfMs + (30 + random() * 300) * DAY);
        periods = 0;
        break;
    }
    duePeriods += periods;
    const amount = monthlyAmount() * (interval === "year" ? 10 : 1);
    seeds.push({
      subscriptionId,
      shard,
      card,
      amount,
      currency: code,
      interval,
      anchorDay: start.getUTCDate(),
      ...(interval === "year" && { anchorMonth: start.getUTCMonth() + 1 }),
      nextPeriodStart: start.toISOString(),
    });
  });

  const due = count - byCategory["not-due-monthly"] - byCategory["not-due-annual"];
  return { asOf, seeds, invalid, byCategory, due, notDue: count - due, duePeriods };
}

/** Records that must be quarantined with a reason: a bad amount, an unknown currency, a missing card. */
function invalidRecord(index: number, shard: number, asOfMs: number): InvalidSeed {
  const start = new Date(asOfMs - (2 + index) * HOUR);
  const now = new Date(asOfMs).toISOString();
  const base: Record<string, unknown> = {
    customerId: `cus_invalid_${index}`,
    paymentMethodId: "pm_card_visa",
    amount: 1999,
    currency: "usd",
    interval: "month",
    anchorDay: start.getUTCDate(),
    nextPeriodStart: start.toISOString(),
    nextAttemptAt: start.toISOString(),
    createdAt: now,
    updatedAt: now,
  };
  const kinds = [
    { id: "sub_invalid_amount", change: { amount: 19.99 } },
    { id: "sub_invalid_currency", change: { currency: "xyz" } },
    { id: "sub_invalid_no_card", change: { paymentMethodId: undefined } },
  ];
  const kind = kinds[index % kinds.length]!;
  const suffix = index >= kinds.length ? `_${index}` : "";
  const item: Record<string, unknown> = { ...base, ...kind.change };
  for (const key of Object.keys(item)) if (item[key] === undefined) delete item[key];
  return { subscriptionId: `${kind.id}${suffix}`, shard, item };
}
