/**
 * Scenario 7: what fencing card attempts costs in provider requests (issue 13). A declined or
 * authentication-required PaymentIntent is canceled before its outcome is recorded, a dunning retry is a
 * new PaymentIntent, and the lowest shard's leader lists the job's PaymentIntents since its last sweep.
 *
 * Requests are counted from the emulator's own request log (dev/stripe-emulator/request-log.ts), by kind
 * (create, confirm, cancel, retrieve, list), and attributed to the PaymentIntent each one concerned; the
 * PaymentIntent's outcome comes from the run's charge events and its create generation from the
 * emulator's state. A list sent once the sweep started is the sweep's; one before it is a period look-up.
 *
 * Each book has an emulator of its own, so the sweep lists exactly the book's PaymentIntents (one account,
 * as in production), and runs without latency or rate limit: counts do not depend on timing.
 *
 *   a) every card succeeds;
 *   b) a known share of cards declines (pm_card_chargeCustomerFail) and another needs authentication
 *      (pm_card_authenticationRequired) on the first attempt;
 *   c) the dunning retry over (b)'s declines, once due (a 1-second retry schedule here instead of days),
 *      after a known share of those customers saved a card that succeeds.
 */
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { retrySchedule } from "../../functions/core/billing/retry-policy";
import type { ChargeOutcomeKind } from "../../functions/core/billing-run/events";
import { dueSubscriptions, seedSubscriptions, stripeClient, type TestCard } from "../../dev/seed";
import { BENCH_API_KEY, type BenchEnv, type BenchTables } from "../env";
import { runRequest, startContender, type TimedEvent } from "../contender";
import { startEmulator, type StripeEmulator } from "../emulator";
import { round } from "../stats";

export interface AttemptsOptions {
  /** Subscriptions in each book. */
  readonly subscriptions: number;
  /** Of book (b): cards that decline on every attempt (retried by dunning). */
  readonly declineShare: number;
  /** Of book (b): cards that need authentication off-session (canceled, never retried off-session). */
  readonly authenticationShare: number;
  /** Of (b)'s declines: customers who saved a card that succeeds before the retry. */
  readonly newCardShare: number;
  /** Renewals in flight (the deployed default). */
  readonly concurrency: number;
}

/** The design's floor: one PaymentIntent per period, created then confirmed. */
export const FLOOR_REQUESTS_PER_CHARGE = 2;

export type RequestKind = "create" | "confirm" | "cancel" | "retrieve" | "list" | "other";

/** What a PaymentIntent was for, and how it ended. */
export type AttemptClass =
  "charge" | "decline" | "authentication" | "retry-succeeded" | "retry-declined" | "other";

export interface AttemptTally {
  readonly paymentIntents: number;
  /** Requests that concerned these PaymentIntents (the sweep's excluded). */
  readonly requests: number;
  /** How many PaymentIntents got each sequence of requests, e.g. `create+confirm+cancel`. */
  readonly shapes: Record<string, number>;
}

export interface RunCounts {
  readonly label: string;
  readonly asOf: string;
  /** Invocations it took to finish what was due (1 unless a run stopped early). */
  readonly invocations: number;
  readonly seconds: number;
  /** From the run's charge events. */
  readonly outcomes: Partial<Record<ChargeOutcomeKind, number>>;
  /** Every request the emulator logged during the run, by kind; lists split by who sent them. */
  readonly requests: {
    readonly create: number;
    readonly confirm: number;
    readonly cancel: number;
    readonly retrieve: number;
    /** Lists before the sweep: a period's look-up (a customer's PaymentIntents). */
    readonly lookUp: number;
    /** The sweep's lists of the job's PaymentIntents. */
    readonly sweepList: number;
    /** Cancels sent by the sweep (strays). */
    readonly sweepCancel: number;
    readonly other: number;
    readonly total: number;
  };
  readonly byRoute: Record<string, number>;
  readonly replayed: number;
  readonly rateLimited: number;
  /** Answered with a status other than 200 and 402 (a decline), or not answered. */
  readonly unexpectedStatus: number;
  readonly byClass: Record<AttemptClass, AttemptTally>;
  readonly sweep: {
    readonly runs: number;
    /** The job's PaymentIntents in the account when the sweep ran (all inside its window here). */
    readonly paymentIntentsInAccount: number;
    readonly strayPaymentIntentsCanceled: number;
  };
}

export interface AttemptsResult {
  readonly options: AttemptsOptions;
  readonly floor: number;
  readonly seeded: {
    readonly success: { readonly succeeds: number };
    readonly declines: {
      readonly succeeds: number;
      readonly declines: number;
      readonly needsAuthentication: number;
      /** Of the declines: customers given a card that succeeds before the retry. */
      readonly newCard: number;
    };
  };
  readonly runs: { readonly success: RunCounts; readonly declines: RunCounts; readonly retry: RunCounts };
  /** The headline figures, computed from the runs above. */
  readonly perSuccessfulCharge: {
    /** Book (a), every request of the run (the sweep included) ÷ charges. */
    readonly all: number;
    /** Book (a), without the sweep: the requests of the charges' own PaymentIntents ÷ charges. */
    readonly own: number;
    /** Book (a), the sweep's requests ÷ charges. */
    readonly sweep: number;
  };
  /** Book (b): the requests of a declined (or authentication-required) PaymentIntent, per decline. */
  readonly perDecline: number;
  readonly perAuthenticationRequired: number;
  /** Book (b), every request of the run ÷ successful charges: what its declines cost the book. */
  readonly mixedPerSuccessfulCharge: number;
  /** Run (c): requests per retry (its look-up, and its PaymentIntent's), the sweep excluded. */
  readonly perRetry: {
    readonly all: number;
    readonly succeeded: number;
    readonly declinedAgain: number;
    readonly lookUpsPerRetry: number;
    /** Run (c)'s sweep ÷ its retries. */
    readonly sweepPerRetry: number;
  };
}

export async function runAttempts(
  env: BenchEnv,
  options: AttemptsOptions,
  log: (line: string) => void = () => undefined,
): Promise<AttemptsResult> {
  const n = options.subscriptions;
  const declines = Math.round(n * options.declineShare);
  const authentication = Math.round(n * options.authenticationShare);
  const newCard = Math.round(declines * options.newCardShare);
  const schedule = retrySchedule([1_000]);
  const settings = { concurrency: options.concurrency, retrySchedule: schedule };

  // (a) Every card succeeds.
  const success = await Book.open(
    env,
    "attempts-ok",
    Array.from({ length: n }, () => "succeeds"),
  );
  let okRun: RunCounts;
  try {
    okRun = await success.run("all cards succeed", settings);
  } finally {
    await success.close();
  }
  log(`    (a) ${line(okRun)}`);

  // (b) and (c): a known share declines, then the dunning retry.
  const cards = cardsFor(n, declines, authentication);
  const book = await Book.open(env, "attempts-declines", cards);
  let declinesRun: RunCounts;
  let retryRun: RunCounts;
  try {
    declinesRun = await book.run("first attempts, some decline", settings);
    log(`    (b) ${line(declinesRun)}`);
    const declined = cards.flatMap((card, i) => (card === "declines" ? [book.ids[i]!] : []));
    await book.saveNewCards(declined.filter((_, k) => k < newCard));
    // Every retry is due 1 s after its decline; bill as of a moment after the last one.
    await sleep(Math.max(0, book.lastChargeAt + schedule.delaysMs[0]! + 50 - Date.now()));
    retryRun = await book.run("dunning retry", settings, new Date().toISOString());
    log(`    (c) ${line(retryRun)}`);
  } finally {
    await book.close();
  }

  const a = okRun;
  const b = declinesRun;
  const c = retryRun;
  const perClass = (r: RunCounts, k: AttemptClass) => r.byClass[k].requests / r.byClass[k].paymentIntents;
  const retries = c.byClass["retry-succeeded"].paymentIntents + c.byClass["retry-declined"].paymentIntents;
  const lookUpsPerRetry = c.requests.lookUp / retries;
  const charges = a.byClass.charge.paymentIntents;
  const sweepA = a.requests.sweepList + a.requests.sweepCancel;
  return {
    options,
    floor: FLOOR_REQUESTS_PER_CHARGE,
    seeded: {
      success: { succeeds: n },
      declines: {
        succeeds: n - declines - authentication,
        declines,
        needsAuthentication: authentication,
        newCard,
      },
    },
    runs: { success: a, declines: b, retry: c },
    perSuccessfulCharge: {
      all: a.requests.total / charges,
      own: a.byClass.charge.requests / charges,
      sweep: sweepA / charges,
    },
    perDecline: perClass(b, "decline"),
    perAuthenticationRequired: perClass(b, "authentication"),
    mixedPerSuccessfulCharge: b.requests.total / b.byClass.charge.paymentIntents,
    perRetry: {
      all:
        (c.byClass["retry-succeeded"].requests + c.byClass["retry-declined"].requests) / retries +
        lookUpsPerRetry,
      succeeded: perClass(c, "retry-succeeded") + lookUpsPerRetry,
      declinedAgain: perClass(c, "retry-declined") + lookUpsPerRetry,
      lookUpsPerRetry,
      sweepPerRetry: (c.requests.sweepList + c.requests.sweepCancel) / retries,
    },
  };
}

function line(r: RunCounts): string {
  const q = r.requests;
  const outcomes = Object.entries(r.outcomes)
    .map(([k, v]) => `${v} ${k}`)
    .join(", ");
  return `${r.label}: ${outcomes}; ${q.total} requests (create ${q.create}, confirm ${q.confirm}, cancel ${q.cancel}, retrieve ${q.retrieve}, look-up ${q.lookUp}, sweep list ${q.sweepList}, sweep cancel ${q.sweepCancel}), ${round(r.seconds, 1)} s`;
}

/** `n` cards: `declines` and `authentication` of them spread evenly through the book, the rest succeed. */
function cardsFor(n: number, declines: number, authentication: number): TestCard[] {
  const cards: TestCard[] = Array.from({ length: n }, () => "succeeds");
  const spread = (count: number, offset: number, card: TestCard) => {
    for (let k = 0; k < count; k++) {
      let i = (Math.floor(((k + 0.5) * n) / count) + offset) % n;
      while (cards[i] !== "succeeds") i = (i + 1) % n;
      cards[i] = card;
    }
  };
  spread(declines, 0, "declines");
  spread(authentication, 1, "needsAuthentication");
  return cards;
}

/** One book of subscriptions: its own emulator (its own Stripe account) and tables. */
class Book {
  /** When the last charge event of the last run happened (epoch ms). */
  lastChargeAt = 0;

  private constructor(
    private readonly emulator: StripeEmulator,
    private readonly tables: BenchTables,
    readonly ids: readonly string[],
    private readonly label: string,
    /** What the first run bills as of. */
    private readonly asOf: string,
  ) {}

  static async open(env: BenchEnv, label: string, cards: readonly TestCard[]): Promise<Book> {
    const emulator = await startEmulator();
    const tables = await env.tables(label);
    // Periods started in the last hours of now, so a month passes before the next one is due: a later
    // run (the retry) bills the retries and nothing else.
    const asOf = new Date(Date.now() - 60_000).toISOString();
    const seeds = dueSubscriptions(cards.length, asOf, 1, label.replace(/\W/g, "_")).map((s, i) => ({
      ...s,
      card: cards[i]!,
    }));
    await seedSubscriptions(
      tables.doc,
      tables.names,
      stripeClient(BENCH_API_KEY, emulator.url),
      seeds,
      [],
      32,
    );
    return new Book(
      emulator,
      tables,
      seeds.map((s) => s.subscriptionId),
      label,
      asOf,
    );
  }

  /** Customers who saved a card that succeeds: attached in the emulator, set on the subscription. */
  async saveNewCards(subscriptionIds: readonly string[]): Promise<void> {
    const stripe = stripeClient(BENCH_API_KEY, this.emulator.url);
    for (const subscriptionId of subscriptionIds) {
      const key = { subscriptionId };
      const got = await this.tables.doc.send(
        new GetCommand({ TableName: this.tables.names.subscriptions, Key: key, ConsistentRead: true }),
      );
      const customer = String(got.Item?.customerId);
      const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer });
      await this.tables.doc.send(
        new UpdateCommand({
          TableName: this.tables.names.subscriptions,
          Key: key,
          UpdateExpression: "SET paymentMethodId = :pm",
          ConditionExpression: "attribute_exists(subscriptionId)",
          ExpressionAttributeValues: { ":pm": pm.id },
        }),
      );
    }
  }

  /**
   * Runs the job (one contender, one shard, as the Lambda does for a whole run) until nothing due is
   * left, and counts what reached the emulator meanwhile.
   */
  async run(
    label: string,
    settings: { concurrency: number; retrySchedule: ReturnType<typeof retrySchedule> },
    asOf = this.asOf,
  ): Promise<RunCounts> {
    const emulator = this.emulator;
    const began = Date.now();
    const mark = emulator.snapshot().requestCounts.total;
    const sweepMarks: number[] = [];
    const events: TimedEvent[] = [];
    let invocations = 0;
    for (let finished = false; !finished;) {
      if (invocations >= 5) throw new Error(`attempts ${label}: still not finished after 5 invocations`);
      invocations += 1;
      const until = Date.now() + 300_000;
      const contender = startContender(
        this.tables,
        emulator.url,
        runRequest(`${this.label}-${invocations}`, asOf),
        {
          accountRequestsPerSecond: 1000,
          settings: { ...settings, pageSize: 1000 },
          deadline: () => until,
          firstShard: 0,
          onSweep: () => sweepMarks.push(this.seq()),
        },
      );
      const report = await contender.report;
      events.push(...contender.events);
      contender.job.doc.destroy();
      finished = report.led.length > 0 && report.led.every((shard) => shard.outcome === "complete");
    }
    const seconds = (Date.now() - began) / 1000;
    const charges = events.filter((e) => e.event.type === "charge");
    if (charges.length > 0) this.lastChargeAt = Math.max(...charges.map((e) => e.at));
    return this.count(label, asOf, invocations, seconds, mark, sweepMarks, events);
  }

  /** The emulator's last request sequence number (its log is never cleared here). */
  private seq(): number {
    return this.emulator.snapshot().requestCounts.total;
  }

  private count(
    label: string,
    asOf: string,
    invocations: number,
    seconds: number,
    mark: number,
    sweepMarks: readonly number[],
    events: readonly TimedEvent[],
  ): RunCounts {
    const { entries, dropped } = this.emulator.requestLog(mark);
    if (dropped > 0)
      throw new Error(`attempts ${label}: the emulator's request log dropped ${dropped} entries`);
    // A request is the sweep's if it was sent after the sweep started (its scan of the subscriptions, then
    // its list): nothing else is in flight then, the leader sweeps once its renewals are done.
    const bySweep = (seq: number) => sweepMarks.some((m) => seq > m);

    const requests = {
      create: 0,
      confirm: 0,
      cancel: 0,
      retrieve: 0,
      lookUp: 0,
      sweepList: 0,
      sweepCancel: 0,
      other: 0,
      total: 0,
    };
    const byRoute: Record<string, number> = {};
    let replayed = 0;
    let rateLimited = 0;
    let unexpectedStatus = 0;
    const perPaymentIntent = new Map<string, RequestKind[]>();
    for (const e of entries) {
      byRoute[e.route] = (byRoute[e.route] ?? 0) + 1;
      requests.total += 1;
      if (e.replayed) replayed += 1;
      if (e.outcome === 429) rateLimited += 1;
      else if (e.outcome !== 200 && e.outcome !== 402) unexpectedStatus += 1;
      const kind = kindOf(e.route);
      const sweep = bySweep(e.seq);
      if (kind === "list") {
        if (sweep) requests.sweepList += 1;
        else requests.lookUp += 1;
      } else if (kind === "cancel" && sweep) {
        requests.sweepCancel += 1;
      } else {
        requests[kind] += 1;
      }
      if (e.paymentIntent !== null && !sweep) {
        const kinds = perPaymentIntent.get(e.paymentIntent) ?? [];
        kinds.push(kind);
        perPaymentIntent.set(e.paymentIntent, kinds);
      }
    }

    const outcomes: Partial<Record<ChargeOutcomeKind, number>> = {};
    const outcomeOf = new Map<string, ChargeOutcomeKind>();
    let strays = 0;
    let sweeps = 0;
    for (const { event } of events) {
      if (event.type === "charge") {
        outcomes[event.outcome] = (outcomes[event.outcome] ?? 0) + 1;
        if (event.paymentIntentId !== null) outcomeOf.set(event.paymentIntentId, event.outcome);
      } else if (event.type === "sweep") {
        sweeps += 1;
        strays += event.strayPaymentIntentsCanceled;
      }
    }

    const state = this.emulator.snapshot().paymentIntents;
    const generationOf = new Map(state.map((pi) => [pi.id, Number(pi.metadata.create_generation ?? "0")]));
    const byClass = Object.fromEntries(
      (["charge", "decline", "authentication", "retry-succeeded", "retry-declined", "other"] as const).map(
        (k) => [k, { paymentIntents: 0, requests: 0, shapes: {} as Record<string, number> }],
      ),
    ) as Record<AttemptClass, { paymentIntents: number; requests: number; shapes: Record<string, number> }>;
    for (const [id, kinds] of perPaymentIntent) {
      const k = classOf(outcomeOf.get(id), generationOf.get(id) ?? 0);
      const tally = byClass[k];
      tally.paymentIntents += 1;
      tally.requests += kinds.length;
      const shape = kinds.join("+");
      tally.shapes[shape] = (tally.shapes[shape] ?? 0) + 1;
    }

    return {
      label,
      asOf,
      invocations,
      seconds: round(seconds, 1),
      outcomes,
      requests,
      byRoute,
      replayed,
      rateLimited,
      unexpectedStatus,
      byClass,
      sweep: {
        runs: sweeps,
        paymentIntentsInAccount: state.filter((pi) => pi.metadata.source !== undefined).length,
        strayPaymentIntentsCanceled: strays,
      },
    };
  }

  async close(): Promise<void> {
    this.tables.doc.destroy();
    await this.emulator.stop();
  }
}

function kindOf(route: string): RequestKind {
  switch (route) {
    case "POST /v1/payment_intents":
      return "create";
    case "POST /v1/payment_intents/:id/confirm":
      return "confirm";
    case "POST /v1/payment_intents/:id/cancel":
      return "cancel";
    case "GET /v1/payment_intents/:id":
      return "retrieve";
    case "GET /v1/payment_intents":
      return "list";
    default:
      return "other";
  }
}

function classOf(outcome: ChargeOutcomeKind | undefined, generation: number): AttemptClass {
  const retry = generation > 0;
  if (outcome === "succeeded") return retry ? "retry-succeeded" : "charge";
  if (outcome === "declined") return retry ? "retry-declined" : "decline";
  if (outcome === "needs_customer_action" && !retry) return "authentication";
  return "other";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
