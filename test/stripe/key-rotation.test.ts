/**
 * A refused key is read again once: a rotated key completes the same request, anything else stops the
 * run with a configuration error. Against the emulator, which refuses (401) a key that is not shaped like
 * a Stripe key, as Stripe refuses a revoked one.
 */
import { describe, expect, it } from "vitest";
import type { StripeEmulator } from "../../dev/stripe-emulator";
import { PaymentProviderConfigError } from "../../functions/stripe/stripe-gateway";
import { gatewayAt, KEY, renewalAt } from "./support/gateway";
import { useEmulator } from "../support/emulator";

const REFUSED = "sk_test_revoked-key";
const ALSO_REFUSED = "sk_test_another-bad-key";
let emulator: StripeEmulator;

useEmulator((started) => (emulator = started));

/** A key source that answers `keys` in turn (the last one from then on) and counts the reads. */
function keySource(...keys: string[]) {
  let reads = 0;
  return {
    read: async () => keys[Math.min(reads++, keys.length - 1)]!,
    reads: () => reads,
  };
}

function refused(): number {
  return emulator.snapshot().requestCounts.byStatus["401"] ?? 0;
}

describe("key rotation", () => {
  it("completes the request with the rotated key after one 401, and keeps using it", async () => {
    const request = await renewalAt(emulator.url, "succeeds");
    const source = keySource(KEY);
    const gateway = gatewayAt(emulator.url, { apiKey: REFUSED, refreshApiKey: source.read });
    expect(await gateway.createPaymentIntent(request)).toMatchObject({ kind: "created" });
    expect(source.reads()).toBe(1);
    expect(refused()).toBe(1);
    expect(emulator.snapshot().paymentIntents).toHaveLength(1);

    expect(await gateway.retrievePaymentIntent(emulator.snapshot().paymentIntents[0]!.id)).toMatchObject({
      kind: "found",
    });
    expect(source.reads()).toBe(1);
    expect(refused()).toBe(1);
  });

  it("stops the run after exactly one re-read when the key read again is the same", async () => {
    const request = await renewalAt(emulator.url, "succeeds");
    const source = keySource(REFUSED);
    const gateway = gatewayAt(emulator.url, { apiKey: REFUSED, refreshApiKey: source.read });
    await expect(gateway.createPaymentIntent(request)).rejects.toBeInstanceOf(PaymentProviderConfigError);
    expect(source.reads()).toBe(1);
    expect(refused()).toBe(1);
  });

  it("stops the run when the key read again is refused too, without reading a third time", async () => {
    const request = await renewalAt(emulator.url, "succeeds");
    const source = keySource(ALSO_REFUSED, KEY);
    const gateway = gatewayAt(emulator.url, { apiKey: REFUSED, refreshApiKey: source.read });
    await expect(gateway.createPaymentIntent(request)).rejects.toBeInstanceOf(PaymentProviderConfigError);
    expect(source.reads()).toBe(1);
    expect(refused()).toBe(2);
  });

  it("stops the run, with the cause, when the key cannot be read again", async () => {
    const request = await renewalAt(emulator.url, "succeeds");
    const gateway = gatewayAt(emulator.url, {
      apiKey: REFUSED,
      refreshApiKey: () => Promise.reject(new Error("Secrets Manager unreachable")),
    });
    await expect(gateway.createPaymentIntent(request)).rejects.toThrow(
      /refused the API key.*reading the key again failed: Error: Secrets Manager unreachable/,
    );
  });

  it("shares one read among requests refused at the same time", async () => {
    const requests = await Promise.all([1, 2, 3].map(() => renewalAt(emulator.url, "succeeds")));
    const source = keySource(KEY);
    const gateway = gatewayAt(emulator.url, { apiKey: REFUSED, refreshApiKey: source.read });
    const outcomes = await Promise.all(requests.map((r) => gateway.createPaymentIntent(r)));
    expect(outcomes.map((o) => o.kind)).toEqual(["created", "created", "created"]);
    expect(source.reads()).toBe(1);
  });
});
