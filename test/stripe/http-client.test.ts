/**
 * The HTTP client under the SDK (functions/stripe/http-client.ts), through the real SDK to the emulator.
 * Invariant 7 (docs/design.md): no request leaves the process unless the lease's guard allowed it right
 * before the socket, after the SDK's own steps on the way (its callback chain). A refusal there sends
 * nothing and tells the gateway why.
 */
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import type { StripeEmulator } from "../../dev/stripe-emulator";
import { noHiddenRetryHttpClient, underGuard, type GuardedTry } from "../../functions/stripe/http-client";
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
    httpClient: noHiddenRetryHttpClient(),
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

  it("an allowing guard is asked once per request, and the request is sent", async () => {
    const before = received();
    let asked = 0;
    const attempt: GuardedTry = { guard: () => (++asked, null), refusal: null };
    const customer = await underGuard(attempt, () => freshClient().customers.create({}));
    expect(customer.id).toMatch(/^cus_/);
    expect(attempt.refusal).toBeNull();
    expect(asked).toBe(1);
    expect(received()).toBe(before + 1);
  });

  it("outside a guarded try (the ops CLI, seeding) requests go as they are", async () => {
    const before = received();
    await freshClient().customers.create({});
    expect(received()).toBe(before + 1);
  });
});
