/**
 * The part of the Stripe emulator (dev/stripe-emulator) the benchmark uses: its fault plan (latency and a
 * token-bucket rate limit) and its request counts.
 */
import { startStripeEmulator, type StripeEmulator } from "../dev/stripe-emulator";
import type { FaultPlan } from "../dev/stripe-emulator/faults";

export type { FaultPlan, StripeEmulator };

export interface RequestTally {
  readonly at: number;
  readonly total: number;
  /** Answered 429 (the emulator's token bucket): nothing happened. */
  readonly rateLimited: number;
  readonly byRoute: Record<string, number>;
}

export function tally(emulator: StripeEmulator): RequestTally {
  const counts = emulator.snapshot().requestCounts;
  return {
    at: Date.now(),
    total: counts.total,
    rateLimited: counts.byStatus["429"] ?? 0,
    byRoute: { ...counts.byRoute },
  };
}

export async function startEmulator(): Promise<StripeEmulator> {
  return startStripeEmulator({ seed: 7 });
}
