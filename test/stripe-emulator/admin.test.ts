/**
 * The emulator's own surface: the admin API under /__emulator/, Stripe-shaped answers to bad requests
 * (401, 404, garbage that must not crash it), Search's eventual consistency on the emulator clock, and
 * persistence across a restart.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import {
  PINNED_API_VERSION,
  startStripeEmulator,
  type AdminSnapshot,
  type HeldRequestSummary,
  type RequestEntry,
  type StripeEmulator,
} from "../../dev/stripe-emulator";
import { waitFor } from "../support/pause";
import { AUTH, errorOf, raw } from "./support/http";
import { emulatorClient, rejection, useEmulatorAndClient } from "./support/target";

let emulator: StripeEmulator;
let stripe: Stripe;

useEmulatorAndClient((started) => ({ emulator, stripe } = started));

const admin = (method: string, path: string, body?: unknown) =>
  raw(emulator.url, {
    method,
    path: `/__emulator/${path}`,
    ...(body !== undefined && {
      body: JSON.stringify(body),
      headers: { "Content-Type": "application/json" },
    }),
  });

const charge = (metadata: Record<string, string> = {}) =>
  stripe.paymentIntents.create({
    amount: 1200,
    currency: "gbp",
    payment_method: "pm_card_mastercard",
    allowed_payment_method_types: ["card"],
    confirm: true,
    off_session: true,
    metadata,
  });

describe("admin API", () => {
  it("GET state returns the snapshot: objects, keys, confirmations and request counts", async () => {
    const pi = await stripe.paymentIntents.create(
      {
        amount: 1200,
        currency: "gbp",
        payment_method: "pm_card_mastercard",
        allowed_payment_method_types: ["card"],
        confirm: true,
        off_session: true,
        metadata: { subscription_id: "sub_9" },
      },
      { idempotencyKey: "k-admin" },
    );
    await stripe.refunds.create({ payment_intent: pi.id, amount: 200 });
    await stripe.customers.create({ email: "ada@example.com" });
    const res = await admin("GET", "state");
    expect(res.status).toBe(200);
    const snapshot = res.body as AdminSnapshot;
    const { now: _now, ...sameData } = JSON.parse(JSON.stringify(emulator.snapshot())) as AdminSnapshot;
    expect(snapshot).toEqual({ ...sameData, now: expect.any(Number) });
    expect(snapshot.apiVersion).toBe(PINNED_API_VERSION);
    expect(snapshot.paymentIntents).toEqual([
      expect.objectContaining({
        id: pi.id,
        status: "succeeded",
        amount: 1200,
        currency: "gbp",
        metadata: { subscription_id: "sub_9" },
        latest_charge: pi.latest_charge,
        idempotencyKeys: ["k-admin"],
        confirmations: 1,
      }),
    ]);
    expect(snapshot.charges).toEqual([
      expect.objectContaining({
        id: pi.latest_charge,
        status: "succeeded",
        amount_refunded: 200,
        refunded: false,
      }),
    ]);
    expect(snapshot.refunds).toEqual([expect.objectContaining({ amount: 200, payment_intent: pi.id })]);
    expect(snapshot.customers).toEqual([expect.objectContaining({ email: "ada@example.com" })]);
    expect(snapshot.requestCounts).toEqual({
      total: 3,
      byRoute: { "POST /v1/payment_intents": 1, "POST /v1/refunds": 1, "POST /v1/customers": 1 },
      byStatus: { "200": 3 },
      replayed: 0,
    });
  });

  it("POST clock moves the emulator clock", async () => {
    const before = emulator.now();
    const res = await admin("POST", "clock", { advanceMs: 3_600_000 });
    expect(res.status).toBe(200);
    expect((res.body as { now: number }).now).toBeGreaterThanOrEqual(before + 3_600_000);
    expect((await admin("POST", "clock", { advanceMs: -1 })).status).toBe(400);
    expect((await admin("POST", "clock", {})).status).toBe(400);
  });

  it("POST faults replaces the plan and refuses an invalid one", async () => {
    const ok = await admin("POST", "faults", { error500Rate: 1, paths: ["/v1/customers"] });
    expect(ok.status).toBe(200);
    expect(emulator.snapshot().faults).toEqual({ error500Rate: 1, paths: ["/v1/customers"] });
    const created = await raw(emulator.url, {
      method: "POST",
      path: "/v1/customers",
      headers: AUTH,
      body: "",
    });
    expect(created.status).toBe(500);
    expect((await admin("POST", "faults", { error500Rate: 2 })).status).toBe(400);
    expect((await admin("POST", "faults", { latencyMs: "slow" })).status).toBe(400);
    expect((await admin("POST", "faults", { nonsense: true })).status).toBe(400);
    expect(emulator.snapshot().faults).toEqual({ error500Rate: 1, paths: ["/v1/customers"] });
    await admin("POST", "faults", {});
    expect(emulator.snapshot().faults).toEqual({});
  });

  it("POST inject queues a one-shot fault", async () => {
    const res = await admin("POST", "inject", { kind: "rate-limit", count: 2 });
    expect(res.body).toEqual({ pendingInjections: 2 });
    expect((await admin("POST", "inject", { kind: "meteor" })).status).toBe(400);
    const limited = await raw(emulator.url, { path: "/v1/payment_intents", headers: AUTH });
    expect(limited.status).toBe(429);
  });

  it("POST reset forgets objects, keys and counts", async () => {
    await charge();
    expect((await admin("POST", "reset")).status).toBe(200);
    const snapshot = emulator.snapshot();
    expect(snapshot.paymentIntents).toEqual([]);
    expect(snapshot.requestCounts.total).toBe(0);
  });

  it("GET held, POST release and POST inject/cancel: a held request seen, let go, or dropped unexecuted", async () => {
    const hold = { kind: "hold", path: "/v1/customers", apiKey: "sk_test_raw_http" };
    expect((await admin("POST", "inject", { ...hold, count: 3 })).body).toEqual({ pendingInjections: 3 });
    expect((await admin("POST", "inject", { kind: "timeout", releaseAfterMs: 5 })).status).toBe(400);
    const post = () =>
      raw(emulator.url, { method: "POST", path: "/v1/customers", headers: AUTH, body: "" }).then(
        (res) => res.status,
        (e: NodeJS.ErrnoException) => e.code,
      );
    const answers = Promise.all([post(), post()]);
    await waitFor(() => emulator.snapshot().heldRequests === 2, 5_000, "two held requests");
    const { held } = (await admin("GET", "held")).body as { held: HeldRequestSummary[] };
    expect(held).toEqual([
      expect.objectContaining({
        apiKey: "sk_test_raw_http",
        method: "POST",
        path: "/v1/customers",
        releaseAt: null,
      }),
      expect.objectContaining({ apiKey: "sk_test_raw_http", path: "/v1/customers" }),
    ]);
    expect((await admin("POST", "inject/cancel", { apiKey: "sk_test_raw_http" })).body).toEqual({
      canceled: 1,
    });
    expect((await admin("POST", "release", { id: held[0]!.id, discard: true })).body).toEqual({
      discarded: 1,
    });
    expect((await admin("POST", "release", { path: "/v1/customers" })).body).toEqual({ released: 1 });
    expect((await answers).sort()).toEqual([200, "ECONNRESET"]);
    expect(emulator.snapshot().customers).toHaveLength(1);
    expect((await admin("POST", "release", {})).body).toEqual({ released: 0 });
    expect((await admin("POST", "release", { apiKey: 7 })).status).toBe(400);
  });

  it("GET requests: the request log names each request's sender, when it executed and whether it reached the card", async () => {
    const before = Date.now();
    const pi = await charge();
    await raw(emulator.url, { path: "/v1/nothing-here", headers: { Authorization: "Bearer sk_test_other" } });
    const res = await admin("GET", "requests");
    const log = res.body as { entries: RequestEntry[]; dropped: number };
    expect(log.dropped).toBe(0);
    expect(log.entries).toEqual([
      expect.objectContaining({
        seq: 1,
        route: "POST /v1/payment_intents",
        apiKey: "sk_test_emulator_contract",
        paymentIntent: pi.id,
        outcome: 200,
        executed: true,
        cardAttempt: true,
        heldMs: 0,
      }),
      expect.objectContaining({
        seq: 2,
        apiKey: "sk_test_other",
        outcome: 404,
        executed: false,
        cardAttempt: false,
      }),
    ]);
    expect(log.entries[0]!.at).toBeGreaterThanOrEqual(before);
    expect(log.entries[0]!.clock).toBeGreaterThan(0);
    expect(((await admin("GET", "requests?after=1")).body as typeof log).entries.map((e) => e.seq)).toEqual([
      2,
    ]);
    expect((await admin("GET", "requests?after=x")).status).toBe(400);
    // A state refusal is executed but attempts nothing; a replay does not execute.
    await rejection(stripe.paymentIntents.confirm(pi.id, {}, { idempotencyKey: "k-again" }));
    await rejection(stripe.paymentIntents.confirm(pi.id, {}, { idempotencyKey: "k-again" }));
    const confirms = emulator.requestLog(2).entries;
    expect(confirms.map((e) => [e.outcome, e.executed, e.cardAttempt, e.replayed])).toEqual([
      [400, true, false, false],
      [400, false, false, true],
    ]);
  });

  it("answers unknown admin paths and bad JSON without falling over", async () => {
    expect((await admin("GET", "nope")).status).toBe(404);
    const bad = await raw(emulator.url, { method: "POST", path: "/__emulator/faults", body: "{not json" });
    expect(bad.status).toBe(400);
  });
});

describe("Stripe-shaped answers to bad requests", () => {
  it("401 without a key, with a malformed key, or with a bad scheme", async () => {
    const variants: Record<string, string>[] = [
      {},
      { Authorization: "Bearer " },
      { Authorization: "Bearer pk_test_123" },
      { Authorization: "Token x" },
    ];
    for (const headers of variants) {
      const res = await raw(emulator.url, { path: "/v1/payment_intents", headers });
      expect(res.status).toBe(401);
      expect(errorOf(res).type).toBe("invalid_request_error");
      expect(res.headers["request-id"]).toMatch(/^req_/);
    }
  });

  it("with singleAccount, every test key shares one account's idempotency keys, and the log tells the keys apart", async () => {
    const shared = await startStripeEmulator({ singleAccount: true });
    try {
      const a = emulatorClient(shared, { apiKey: "sk_test_sender_a" });
      const b = emulatorClient(shared, { apiKey: "sk_test_sender_b" });
      const first = await a.customers.create({}, { idempotencyKey: "k-shared" });
      const second = await b.customers.create({}, { idempotencyKey: "k-shared" });
      expect(second.id).toBe(first.id);
      expect(second.lastResponse.headers["idempotent-replayed"]).toBe("true");
      expect(shared.requestLog().entries.map((e) => [e.apiKey, e.executed])).toEqual([
        ["sk_test_sender_a", true],
        ["sk_test_sender_b", false],
      ]);
    } finally {
      await shared.stop();
    }
  });

  it("accepts Basic auth with the key as user name, as curl -u sends it", async () => {
    const basic = `Basic ${Buffer.from("sk_test_curl:").toString("base64")}`;
    const res = await raw(emulator.url, { path: "/v1/payment_intents", headers: { Authorization: basic } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ object: "list", data: [] });
  });

  it("404 for an unknown route or method, as Stripe words it", async () => {
    const unknown = await raw(emulator.url, { path: "/v1/widgets", headers: AUTH });
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown).message).toMatch(/^Unrecognized request URL \(GET: \/v1\/widgets\)/);
    const wrongMethod = await raw(emulator.url, {
      method: "DELETE",
      path: "/v1/payment_intents",
      headers: AUTH,
    });
    expect(wrongMethod.status).toBe(404);
    const root = await raw(emulator.url, { path: "/", headers: AUTH });
    expect(root.status).toBe(404);
  });

  it("garbage bodies get a 400 and the server keeps answering", async () => {
    const bodies = [
      "%E0%A4%A",
      "amount=1000&amount[x]=1",
      "metadata[a[b]]=1",
      "expand[][x]=1",
      '{"amount": 1000, "currency": "usd"}',
      "\u0000\u0001\u0002",
      "a".repeat(2 * 1024 * 1024),
    ];
    for (const body of bodies) {
      const res = await raw(emulator.url, {
        method: "POST",
        path: "/v1/payment_intents",
        headers: AUTH,
        body,
      });
      expect(res.status, body.slice(0, 30)).toBe(400);
      expect(errorOf(res).type).toBe("invalid_request_error");
    }
    const alive = await raw(emulator.url, { path: "/v1/payment_intents", headers: AUTH });
    expect(alive.status).toBe(200);
  });

  it("metadata keys with brackets are refused on param metadata", async () => {
    const res = await raw(emulator.url, {
      method: "POST",
      path: "/v1/customers",
      headers: AUTH,
      body: "metadata[a[b]=1",
    });
    expect(res.status).toBe(400);
    expect(errorOf(res).param).toBe("metadata");
  });

  it("an empty Idempotency-Key is refused; GET ignores the header", async () => {
    const empty = await raw(emulator.url, {
      method: "POST",
      path: "/v1/customers",
      headers: { ...AUTH, "Idempotency-Key": "" },
      body: "",
    });
    expect(empty.status).toBe(400);
    expect(emulator.snapshot().customers).toEqual([]);
    const get = await raw(emulator.url, {
      path: "/v1/payment_intents",
      headers: { ...AUTH, "Idempotency-Key": "" },
    });
    expect(get.status).toBe(200);
    expect(get.headers["idempotency-key"]).toBeUndefined();
  });

  it("every answer to a POST with a key echoes the key, refusals included", async () => {
    const headers = { ...AUTH, "Idempotency-Key": "k-echo" };
    const refused = await raw(emulator.url, {
      method: "POST",
      path: "/v1/customers",
      headers,
      body: "bogus=1",
    });
    expect(refused.status).toBe(400);
    expect(refused.headers["idempotency-key"]).toBe("k-echo");
    const created = await raw(emulator.url, { method: "POST", path: "/v1/customers", headers, body: "" });
    expect(created.status).toBe(200);
    expect(created.headers["idempotency-key"]).toBe("k-echo");
    expect(created.headers["stripe-version"]).toBe(PINNED_API_VERSION);
  });

  it("a confirmation whose allowed types leave cards out is refused and changes nothing", async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 1000,
      currency: "eur",
      payment_method: "pm_card_visa",
      allowed_payment_method_types: ["card"],
    });
    const error = await stripe.paymentIntents
      .confirm(pi.id, { off_session: true, allowed_payment_method_types: ["ideal"] })
      .catch((e: Stripe.errors.StripeError) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((error as Stripe.errors.StripeError).code).toBe("payment_intent_incompatible_payment_method");
    const after = await stripe.paymentIntents.retrieve(pi.id);
    expect(after.allowed_payment_method_types).toEqual(["card"]);
    expect(after.status).toBe("requires_confirmation");
  });

  it("curl-style expand[] and created as a hash or an exact value work", async () => {
    const pi = await charge();
    const expanded = await raw(emulator.url, {
      path: `/v1/payment_intents/${pi.id}?expand[]=latest_charge`,
      headers: AUTH,
    });
    expect((expanded.body as { latest_charge: { object: string } }).latest_charge.object).toBe("charge");
    const exact = await raw(emulator.url, {
      path: `/v1/payment_intents?created=${pi.created}`,
      headers: AUTH,
    });
    expect((exact.body as { data: unknown[] }).data).toHaveLength(1);
    const bad = await raw(emulator.url, {
      path: `/v1/payment_intents/${pi.id}?expand[]=review`,
      headers: AUTH,
    });
    expect(bad.status).toBe(400);
  });
});

describe("list pagination", () => {
  it("pages forward with starting_after and back with ending_before", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await charge()).id);
    const newestFirst = [...ids].reverse();
    const first = await stripe.paymentIntents.list({ limit: 2 });
    expect(first.data.map((pi) => pi.id)).toEqual(newestFirst.slice(0, 2));
    const second = await stripe.paymentIntents.list({ limit: 2, starting_after: first.data[1]!.id });
    expect(second.data.map((pi) => pi.id)).toEqual(newestFirst.slice(2, 4));
    const back = await stripe.paymentIntents.list({ limit: 2, ending_before: second.data[0]!.id });
    expect(back.data.map((pi) => pi.id)).toEqual(newestFirst.slice(0, 2));
    expect(back.has_more).toBe(false);
    const all = await stripe.paymentIntents.list({ limit: 2 }).autoPagingToArray({ limit: 100 });
    expect(all.map((pi) => pi.id)).toEqual(newestFirst);
  });
});

describe("Search is eventually consistent, on the emulator clock", () => {
  it("does not see a new PaymentIntent until the indexing delay has passed", async () => {
    const frozen = await startStripeEmulator({ freezeClock: true, searchIndexingDelayMs: 5_000 });
    const client = emulatorClient(frozen);
    const pi = await client.paymentIntents.create({
      amount: 5000,
      currency: "usd",
      payment_method: "pm_card_visa",
      allowed_payment_method_types: ["card"],
      metadata: { subscription_id: "sub_s" },
    });
    const query = "metadata['subscription_id']:'sub_s'";
    expect((await client.paymentIntents.search({ query })).data).toEqual([]);
    frozen.advanceClock(5_000);
    expect((await client.paymentIntents.search({ query })).data.map((p) => p.status)).toEqual([
      "requires_confirmation",
    ]);

    // A change is searchable only after the delay too: until then Search shows the old version.
    await client.paymentIntents.confirm(pi.id, { off_session: true });
    const succeeded = `${query} AND status:'succeeded'`;
    expect((await client.paymentIntents.search({ query: succeeded })).data).toEqual([]);
    expect((await client.paymentIntents.search({ query })).data[0]!.status).toBe("requires_confirmation");
    // List is strongly consistent.
    expect((await client.paymentIntents.list()).data[0]!.status).toBe("succeeded");
    frozen.advanceClock(5_000);
    expect((await client.paymentIntents.search({ query: succeeded })).data.map((p) => p.id)).toEqual([pi.id]);
    await frozen.stop();
  });

  it("has its own rate limit of 20 requests per second", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, () => stripe.paymentIntents.search({ query: "status:'succeeded'" })),
    );
    const limited = results.filter(
      (r) => r.status === "rejected" && r.reason instanceof Stripe.errors.StripeRateLimitError,
    );
    expect(limited.length).toBeGreaterThan(0);
    expect(results.length - limited.length).toBeGreaterThanOrEqual(20);
    // Other endpoints are not affected.
    await expect(stripe.paymentIntents.list()).resolves.toMatchObject({ object: "list" });
  });

  it("pages with next_page, supports OR, numeric comparisons, negation, and refuses unknown fields", async () => {
    for (let i = 0; i < 3; i++) await charge({ batch: "b1", n: String(i) });
    emulator.advanceClock(2_000);
    const first = await stripe.paymentIntents.search({ query: "metadata['batch']:'b1'", limit: 2 });
    expect(first.data).toHaveLength(2);
    expect(first.has_more).toBe(true);
    const second = await stripe.paymentIntents.search({
      query: "metadata['batch']:'b1'",
      limit: 2,
      page: first.next_page!,
    });
    expect(second.data).toHaveLength(1);
    expect(second.next_page).toBeNull();
    const or = await stripe.paymentIntents.search({ query: "metadata['n']:'0' OR metadata['n']:'2'" });
    expect(or.data).toHaveLength(2);
    const numeric = await stripe.paymentIntents.search({
      query: "amount>=1200 AND currency:'gbp' -metadata['n']:'1'",
    });
    expect(numeric.data).toHaveLength(2);
    const all = await stripe.paymentIntents
      .search({ query: "metadata['batch']:'b1'", limit: 1 })
      .autoPagingToArray({ limit: 10 });
    expect(all).toHaveLength(3);
    for (const query of ["colour:'red'", "metadata['a']:'1' AND status:'x' OR status:'y'", "status:", ""]) {
      const error = await stripe.paymentIntents.search({ query }).catch((e: Stripe.errors.StripeError) => e);
      expect(error, query).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    }
  });
});

describe("persistence", () => {
  it("a stateFile carries objects and idempotency keys across a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stripe-emulator-"));
    const stateFile = join(dir, "state.json");
    try {
      const first = await startStripeEmulator({ stateFile });
      const pi = await emulatorClient(first).paymentIntents.create(
        {
          amount: 900,
          currency: "usd",
          payment_method: "pm_card_visa",
          allowed_payment_method_types: ["card"],
          confirm: true,
          off_session: true,
        },
        { idempotencyKey: "k-persist" },
      );
      await first.stop();

      const second = await startStripeEmulator({ stateFile });
      const client = emulatorClient(second);
      expect((await client.paymentIntents.retrieve(pi.id)).status).toBe("succeeded");
      const replay = await client.paymentIntents.create(
        {
          amount: 900,
          currency: "usd",
          payment_method: "pm_card_visa",
          allowed_payment_method_types: ["card"],
          confirm: true,
          off_session: true,
        },
        { idempotencyKey: "k-persist" },
      );
      expect(replay.id).toBe(pi.id);
      expect(replay.lastResponse.headers["idempotent-replayed"]).toBe("true");
      expect(second.snapshot().charges).toHaveLength(1);
      await second.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
