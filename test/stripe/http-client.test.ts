/**
 * The HTTP client under the SDK (functions/stripe/http-client.ts), through the real SDK to the emulator.
 * Invariant 7 (docs/design.md): no request leaves the process unless the lease's guard allowed it right
 * before the socket, after the SDK's own steps on the way (its callback chain), and again in the socket's
 * own write, the last step before the bytes go to the OS, whether the socket is kept alive or new. A
 * refusal there sends nothing and tells the gateway why.
 */
import http from "node:http";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import type { StripeEmulator } from "../../dev/stripe-emulator";
import {
  noHiddenRetryHttpClient,
  stripeAgent,
  underGuard,
  type GuardedTry,
} from "../../functions/stripe/http-client";
import { KEY } from "./support/gateway";
import { useEmulator } from "../support/emulator";

let emulator: StripeEmulator;
useEmulator((started) => (emulator = started));

/** A fresh SDK client on the project's HTTP client. */
function freshClient(): Stripe {
  const { hostname, port } = new URL(emulator.url);
  return new Stripe(KEY, {
    host: hostname,
    port: Number(port),
    protocol: "http",
    maxNetworkRetries: 0,
    httpClient: noHiddenRetryHttpClient("http"),
  });
}

const received = () => emulator.snapshot().requestCounts.total;

describe("the guard asked at the socket", () => {
  it("a refusal sends nothing, and the try records why", async () => {
    const before = received();
    let asked = 0;
    const attempt: GuardedTry = { guard: () => (++asked, "the lease has no safe time left"), refusal: null };
    const error = await underGuard(attempt, () => freshClient().customers.create({})).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(attempt.refusal).toBe("the lease has no safe time left");
    expect(asked).toBe(1);
    expect(received()).toBe(before);
  });

  it("an allowing guard is asked before the socket and at it, and the request is sent", async () => {
    const before = received();
    let asked = 0;
    const attempt: GuardedTry = { guard: () => (++asked, null), refusal: null };
    const customer = await underGuard(attempt, () => freshClient().customers.create({}));
    expect(customer.id).toMatch(/^cus_/);
    expect(attempt.refusal).toBeNull();
    expect(asked).toBe(2);
    expect(received()).toBe(before + 1);
  });

  /** A guard that allows the first time and refuses after: the lease ran out on the way to the socket. */
  function runsOutAfterFirstCheck() {
    let asked = 0;
    const attempt: GuardedTry = {
      guard: () => (++asked === 1 ? null : "the lease has no safe time left"),
      refusal: null,
    };
    return { attempt, asked: () => asked };
  }

  /** The two ways a request meets its socket: the next request reuses one, or opens a new connection. */
  const SOCKETS = [
    ["a kept-alive socket", false],
    ["a new connection", true],
  ] as const;

  /** A connection to keep alive, made outside any guarded try; or none, so the next request opens one. */
  async function prepareSocket(fresh: boolean): Promise<void> {
    await freshClient().customers.create({});
    if (fresh) stripeAgent("http").destroy();
  }

  it.each(SOCKETS)(
    "a lease that runs out between the first check and %s: nothing is sent, the try records why",
    async (_path, fresh) => {
      await prepareSocket(fresh);
      const before = received();
      const { attempt, asked } = runsOutAfterFirstCheck();
      const error = await underGuard(attempt, () => freshClient().customers.create({})).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
      expect(attempt.refusal).toBe("the lease has no safe time left");
      expect(asked()).toBe(2);
      expect(received()).toBe(before);
    },
  );

  it.each(SOCKETS)(
    "a lease that runs out after the request is handed %s, before its bytes are written: nothing is sent",
    async (_path, fresh) => {
      await prepareSocket(fresh);
      const before = received();
      let expired = false;
      const attempt: GuardedTry = {
        guard: () => (expired ? "the lease has no safe time left" : null),
        refusal: null,
      };
      // Node's own steps between handing the request its socket and writing it out: the moment a pause
      // (SIGSTOP, a frozen Lambda) can still fall in; here the lease runs out during it.
      const error = await underGuard(attempt, () => postCustomer(() => (expired = true)));
      expect(error).toBeInstanceOf(Error);
      expect(attempt.refusal).toBe("the lease has no safe time left");
      expect(received()).toBe(before);
    },
  );

  it("outside a guarded try (the ops CLI, seeding) requests go as they are", async () => {
    const before = received();
    await freshClient().customers.create({});
    expect(received()).toBe(before + 1);
  });
});

/** POSTs a customer through the process's agent; `onSocket` runs when the request is handed its socket. */
function postCustomer(onSocket: () => void): Promise<unknown> {
  return new Promise((resolve) => {
    const request = http.request(`${emulator.url}/v1/customers`, {
      method: "POST",
      agent: stripeAgent("http"),
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/x-www-form-urlencoded" },
    });
    request.once("socket", onSocket);
    request.once("error", resolve);
    request.once("response", (response) => resolve(response.statusCode));
    request.end("");
  });
}
