/**
 * Where the contract suite runs: Stripe's test mode when STRIPE_SECRET_KEY holds a test key (no emulator
 * is started then), the emulator otherwise. The suite itself is the same either way; that is the point.
 */
import { randomUUID } from "node:crypto";
import Stripe from "stripe";
import {
  startStripeEmulator,
  type StripeEmulator,
  type StripeEmulatorOptions,
} from "../../../dev/stripe-emulator";
import { useEmulator } from "../../support/emulator";

export type TargetKind = "emulator" | "stripe-test-mode";

export interface ClientOptions {
  /** Default 0 (raw behaviour); the SDK's own retries would hide what the server said. */
  maxNetworkRetries?: number;
  /** Override the API key, e.g. to see a 401. */
  apiKey?: string;
  timeoutMs?: number;
}

export interface ContractTarget {
  readonly kind: TargetKind;
  /** Unique per run, for idempotency keys and metadata: runs sharing a test account never collide. */
  readonly runId: string;
  client(options?: ClientOptions): Stripe;
  /** A fresh idempotency key for this run. */
  key(label: string): string;
  close(): Promise<void>;
}

export const EMULATOR_API_KEY = "sk_test_emulator_contract";

export async function contractTarget(): Promise<ContractTarget> {
  const secret = process.env.STRIPE_SECRET_KEY;
  const runId = `contract-${randomUUID()}`;
  const key = (label: string): string => `${runId}-${label}-${randomUUID()}`;
  if (secret?.startsWith("sk_test_")) {
    return {
      kind: "stripe-test-mode",
      runId,
      key,
      client: (o = {}) =>
        new Stripe(o.apiKey ?? secret, {
          maxNetworkRetries: o.maxNetworkRetries ?? 0,
          timeout: o.timeoutMs ?? 30_000,
          telemetry: false,
        }),
      close: async () => {},
    };
  }
  const emulator: StripeEmulator = await startStripeEmulator();
  return {
    kind: "emulator",
    runId,
    key,
    client: (o = {}) => emulatorClient(emulator, o),
    close: () => emulator.stop(),
  };
}

export function emulatorClient(emulator: StripeEmulator, o: ClientOptions = {}): Stripe {
  return new Stripe(o.apiKey ?? EMULATOR_API_KEY, {
    host: emulator.host,
    port: emulator.port,
    protocol: "http",
    maxNetworkRetries: o.maxNetworkRetries ?? 0,
    timeout: o.timeoutMs ?? 10_000,
    telemetry: false,
  });
}

/** useEmulator for the emulator's own suites, which also talk to it through the SDK: `set` gets both. */
export function useEmulatorAndClient(
  set: (started: { readonly emulator: StripeEmulator; readonly stripe: Stripe }) => void,
  options: StripeEmulatorOptions = {},
): void {
  useEmulator((emulator) => set({ emulator, stripe: emulatorClient(emulator) }), options);
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError) return error;
    throw error;
  }
  throw new Error("expected the request to fail, and it succeeded");
}
