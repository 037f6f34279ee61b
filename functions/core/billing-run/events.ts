/**
 * What happens during a run, as values. The handler turns them into logs and metrics; the local runner
 * into its live view and timeline. The billing logic itself neither logs nor measures.
 */
import type { RunOutcomeKind } from "../lease/lease";

export type ChargeOutcomeKind =
  "succeeded" | "declined" | "needs_customer_action" | "in_doubt" | "quarantined" | "rate_limited";

export type RunEvent =
  | {
      readonly type: "lease-acquired";
      readonly shard: number;
      readonly fence: number;
      readonly tookOverFrom: string | null;
    }
  | {
      readonly type: "lease-held-by-other";
      readonly shard: number;
      readonly holder: string;
      readonly fence: number;
      readonly expiresAt: number;
    }
  | {
      readonly type: "lease-renewed";
      readonly shard: number;
      readonly fence: number;
      readonly expiresAt: number;
    }
  | { readonly type: "lease-lost"; readonly shard: number; readonly fence: number; readonly during: string }
  | {
      readonly type: "lease-released";
      readonly shard: number;
      readonly fence: number;
      readonly outcome: RunOutcomeKind;
    }
  | { readonly type: "standby-exit"; readonly shard: number; readonly reason: string }
  | {
      readonly type: "charge";
      readonly shard: number;
      readonly fence: number;
      readonly subscriptionId: string;
      readonly periodStart: string;
      readonly outcome: ChargeOutcomeKind;
      readonly amount: number;
      readonly currency: string;
      readonly paymentIntentId: string | null;
      readonly detail?: string;
    }
  /** A fenced write was refused because another contender now holds the lease. */
  | {
      readonly type: "fenced-out";
      readonly shard: number;
      readonly fence: number;
      readonly step: string;
      readonly subscriptionId: string;
    }
  /** The leader stops claiming for its time budget: `staggeredMs` early in a run's first invocation. */
  | {
      readonly type: "budget-exhausted";
      readonly shard: number;
      readonly remainingMs: number;
      readonly staggeredMs: number;
    }
  /** The send guard held a request back: the lease was short of safe time. The period stays due. */
  | {
      readonly type: "send-held-back";
      readonly shard: number;
      readonly fence: number;
      readonly subscriptionId: string;
      readonly reason: string;
    }
  /** What the sweeps of this run found (functions/core/billing-run/sweeps.ts). */
  | {
      readonly type: "sweep";
      readonly shard: number;
      /** Records meant for billing that no run could reach, quarantined now. */
      readonly unreachable: number;
      readonly strayPaymentIntentsCanceled: number;
    };

export type RunObserver = (event: RunEvent) => void;

export const ignoreEvents: RunObserver = () => undefined;
