/**
 * A chaos scenario, decided entirely by its seed: the cluster's shape (contenders, shards, subscriptions,
 * lease timings), each contender's clock skew, the fault rates of the DynamoDB proxy and the Stripe
 * emulator during the faulty phase, and the timed actions (SIGKILL, SIGSTOP past the lease, reruns,
 * Stripe clock jumps, latency spikes, zombie leaders whose requests reach Stripe after a day), and the
 * continuation faults (a link killed or paused, delivered twice or after the next tick, or its Invoke
 * failing) of a scenario whose book outlasts its first tick, so that runs go on in links. The same
 * seed always gives the same scenario; what the processes then do still depends on timing, which is the
 * point of running many seeds.
 */
import { random, type Random } from "./random";

export const FAULT_KINDS = [
  "sigkill",
  "sigstop",
  "clock-offset",
  "rerun",
  "dynamo-throttle",
  "dynamo-500",
  "dynamo-drop-response",
  "stripe-429",
  "stripe-500",
  "stripe-timeout",
  "stripe-drop-after-charge",
  "stripe-latency-spike",
  "stripe-clock-jump",
  "zombie-held-request",
  "zombie-sdk-retry",
  "link-kill",
  "link-pause",
  "link-twice",
  "link-late",
  "link-fail",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export type FaultCounts = Record<FaultKind, number>;

export function emptyFaultCounts(): FaultCounts {
  return Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as FaultCounts;
}

export function addFaultCounts(into: FaultCounts, more: Partial<FaultCounts>): FaultCounts {
  for (const kind of FAULT_KINDS) into[kind] += more[kind] ?? 0;
  return into;
}

/** When an action fires: some time after the first lease acquisition, or after the n-th settled charge. */
export type Trigger = { readonly afterMs: number } | { readonly afterCharges: number };

/** Whom a signal hits: a contender that holds a lease (if any), or any contender still running. */
export type Target = "leader" | "any";

export type ScenarioAction =
  | { readonly kind: "kill"; readonly trigger: Trigger; readonly target: Target }
  | {
      readonly kind: "pause";
      readonly trigger: Trigger;
      readonly target: Target;
      /** Longer than the lease, so that someone else takes over while it sleeps. */
      readonly durationMs: number;
    }
  | {
      readonly kind: "rerun";
      readonly trigger: Trigger;
      /** A console rerun event `{ "action": "rerun" }`, or the round's scheduled event delivered again. */
      readonly event: "console" | "scheduled";
      readonly clockOffsetMs: number;
    }
  | { readonly kind: "stripe-clock-jump"; readonly trigger: Trigger; readonly advanceMs: number }
  | {
      readonly kind: "stripe-latency-spike";
      readonly trigger: Trigger;
      readonly durationMs: number;
      readonly latencyMs: { readonly min: number; readonly max: number };
    }
  | {
      /**
       * A leader is SIGSTOPped while its Stripe requests are in flight, a standby takes over and settles
       * those periods, Stripe's clock jumps past the idempotency window, and the leader wakes. `held`: its
       * requests reach Stripe only then, as new ones (sent from the paused process). `sdk-retry`: they
       * execute at once but their answers never come, and the SDK's own retry fires on waking.
       */
      readonly kind: "zombie";
      readonly trigger: Trigger;
      readonly resend: "held" | "sdk-retry";
      /** How many of its requests are caught in flight, at most. */
      readonly requests: number;
      /** Longer than the lease, so that a standby takes over while it sleeps. */
      readonly durationMs: number;
      /** Stripe's clock jump before it wakes: past the 24-hour window. */
      readonly advanceMs: number;
    };

/**
 * A fault of the n-th continuation link of a run (the first link numbered `link` the suite serves during
 * the faulty phase and its chains): the function's own Invoke of itself, served by dev/lambda-invoke.
 */
export type LinkFault =
  /** SIGKILL the link's process `afterMs` after it took a lease (a crashed or timed-out invocation). */
  | { readonly kind: "link-kill"; readonly link: number; readonly afterMs: number }
  /** SIGSTOP it `afterMs` after it took a lease, for longer than the lease, then SIGCONT. */
  | {
      readonly kind: "link-pause";
      readonly link: number;
      readonly afterMs: number;
      readonly durationMs: number;
    }
  /** Deliver it twice (Lambda's async invocations are at least once). */
  | { readonly kind: "link-twice"; readonly link: number }
  /** Hold it, fire the next schedule tick, and deliver it `delayMs` after that tick. */
  | { readonly kind: "link-late"; readonly link: number; readonly delayMs: number }
  /** Fail its Invoke: every attempt answered 500, or the connection dropped. */
  | { readonly kind: "link-fail"; readonly link: number; readonly how: "error-500" | "drop" };

export interface ContinuationPlan {
  /** The time budget of every continuation link: short, so that a run goes on in several. */
  readonly budgetMs: number;
  /** The book, bigger than the scenario's own: more work than the first tick can do. */
  readonly subscriptions: number;
  /** Each shard leader's Stripe rate, slower than the scenario's: the first tick leaves work for links. */
  readonly stripeRequestsPerSecond: number;
  readonly faults: readonly LinkFault[];
}

/** Rates of the DynamoDB fault proxy (dev/chaos/dynamo-fault-proxy.ts). */
export interface DynamoFaultRates {
  /** Answer 400 ProvisionedThroughputExceededException without forwarding. */
  readonly throttleRate: number;
  /** Answer 500 InternalServerError without forwarding. */
  readonly error500Rate: number;
  /** Forward, let DynamoDB apply it, then drop the response: the write happened, the client does not know. */
  readonly dropResponseRate: number;
}

/** Rates of the Stripe emulator's fault plan (dev/stripe-emulator/faults.ts). */
export interface StripeFaultRates {
  readonly rateLimit429Rate?: number;
  readonly error500Rate?: number;
  readonly timeoutRate?: number;
  readonly dropAfterChargeRate?: number;
}

export interface Scenario {
  readonly seed: number;
  readonly shards: number;
  readonly subscriptions: number;
  /** Invocations of the first schedule tick. */
  readonly contenders: number;
  readonly lease: { readonly leaseMs: number; readonly renewMs: number; readonly marginMs: number };
  readonly concurrency: number;
  /** Each shard leader's Stripe rate (the account's budget is this times the shards): how long the work takes. */
  readonly stripeRequestsPerSecond: number;
  /** Per contender of the first tick: its clock skew in ms (0: none). */
  readonly clockOffsetsMs: readonly number[];
  /** How long faults stay on, from the first lease acquisition. */
  readonly faultWindowMs: number;
  readonly dynamo: DynamoFaultRates;
  readonly stripe: StripeFaultRates;
  readonly actions: readonly ScenarioAction[];
  /** Short budgets and continuation faults; null: the suite's usual budgets, links served without faults. */
  readonly continuations: ContinuationPlan | null;
}

const HOUR = 3_600_000;

function trigger(r: Random, windowMs: number, subscriptions: number, chargeShare: number): Trigger {
  return r.chance(chargeShare)
    ? { afterCharges: r.int(1, Math.max(1, Math.floor(subscriptions / 2))) }
    : { afterMs: r.int(0, windowMs) };
}

function offset(r: Random, leaseMs: number): number {
  const sign = r.chance(0.5) ? 1 : -1;
  return sign * Math.round(leaseMs * r.between(0.5, 3.5));
}

function rate(r: Random, p: number, min: number, max: number): number {
  return r.chance(p) ? Math.round(r.between(min, max) * 1000) / 1000 : 0;
}

export function scenarioFor(seed: number): Scenario {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new Error(`a seed is a whole number from 0 to ${0xffffffff}, got ${seed}`);
  }
  const shape = random(seed, "shape");
  const shards = shape.int(1, 3);
  const contenders = shape.int(2, 4);
  const subscriptions = shape.int(20, 40);
  const leaseMs = shape.pick([1200, 1500, 2000]);
  const lease = { leaseMs, renewMs: Math.round(leaseMs * 0.3), marginMs: Math.round(leaseMs * 0.3) };
  const concurrency = shape.pick([2, 4, 8]);
  const faultWindowMs = shape.int(3000, 6000);
  const stripeRequestsPerSecond = shape.pick([15, 25, 50]);

  const clocks = random(seed, "clocks");
  const clockOffsetsMs = Array.from({ length: contenders }, () =>
    clocks.chance(0.4) ? offset(clocks, leaseMs) : 0,
  );

  const d = random(seed, "dynamo");
  const dynamo: DynamoFaultRates = {
    throttleRate: rate(d, 0.6, 0.02, 0.08),
    error500Rate: rate(d, 0.5, 0.01, 0.05),
    dropResponseRate: rate(d, 0.5, 0.01, 0.05),
  };

  const s = random(seed, "stripe");
  const stripe: StripeFaultRates = {
    rateLimit429Rate: rate(s, 0.5, 0.03, 0.15),
    error500Rate: rate(s, 0.5, 0.03, 0.12),
    timeoutRate: rate(s, 0.4, 0.01, 0.05),
    dropAfterChargeRate: rate(s, 0.5, 0.02, 0.08),
  };

  const a = random(seed, "actions");
  const actions: ScenarioAction[] = [];
  for (let i = a.int(0, 2); i > 0; i--) {
    actions.push({
      kind: "kill",
      trigger: trigger(a, faultWindowMs, subscriptions, 0.5),
      target: a.chance(0.7) ? "leader" : "any",
    });
  }
  for (let i = a.int(0, 2); i > 0; i--) {
    actions.push({
      kind: "pause",
      trigger: trigger(a, faultWindowMs, subscriptions, 0.5),
      target: a.chance(0.7) ? "leader" : "any",
      durationMs: Math.round(leaseMs * a.between(1.3, 3)),
    });
  }
  for (let i = a.int(0, 2); i > 0; i--) {
    actions.push({
      kind: "rerun",
      trigger: trigger(a, faultWindowMs, subscriptions, 0.3),
      event: a.chance(0.5) ? "console" : "scheduled",
      clockOffsetMs: a.chance(0.3) ? offset(a, leaseMs) : 0,
    });
  }
  if (a.chance(0.35)) {
    actions.push({
      kind: "stripe-clock-jump",
      trigger: trigger(a, faultWindowMs, subscriptions, 0.3),
      advanceMs: 24 * HOUR + a.int(1, 6) * HOUR,
    });
  }
  for (let i = a.int(0, 2); i > 0; i--) {
    const min = a.int(100, 400);
    actions.push({
      kind: "stripe-latency-spike",
      trigger: trigger(a, faultWindowMs, subscriptions, 0.3),
      durationMs: a.int(300, 1500),
      latencyMs: { min, max: min + a.int(200, 1100) },
    });
  }

  // Its own generator, so that scenarios drawn before it existed keep their other actions.
  const z = random(seed, "zombies");
  if (z.chance(0.5)) {
    actions.push({
      kind: "zombie",
      // Early, while leaders are still busy with Stripe: after one of the first few charges.
      trigger: trigger(z, Math.round(faultWindowMs * 0.7), 10, 0.6),
      resend: z.chance(0.5) ? "held" : "sdk-retry",
      requests: z.int(1, 3),
      durationMs: Math.round(leaseMs * z.between(2, 3.5)),
      advanceMs: 24 * HOUR + z.int(1, 6) * HOUR,
    });
  }

  // Their own generator too: the scenarios drawn before continuation links keep everything else.
  const continuations = continuationPlan(random(seed, "continuations"), leaseMs);

  return {
    seed,
    shards,
    subscriptions,
    contenders,
    lease,
    concurrency,
    stripeRequestsPerSecond,
    clockOffsetsMs,
    faultWindowMs,
    dynamo,
    stripe,
    actions,
    continuations,
  };
}

/** Half the scenarios run on short budgets, with up to a few continuation faults on links 1 to 3. */
function continuationPlan(c: Random, leaseMs: number): ContinuationPlan | null {
  if (!c.chance(0.5)) return null;
  // A few seconds of work per link past the suite's 2 s stop-claiming margin and its start-up; about
  // twice the work the first tick (20 s) can do at that rate.
  const budgetMs = c.int(6_000, 9_000);
  const subscriptions = c.int(60, 100);
  const stripeRequestsPerSecond = c.pick([8, 10, 12]);
  const link = () => c.int(1, 3);
  const faults: LinkFault[] = [];
  if (c.chance(0.35)) faults.push({ kind: "link-kill", link: link(), afterMs: c.int(0, 800) });
  if (c.chance(0.35)) {
    const durationMs = Math.round(leaseMs * c.between(1.3, 2.5));
    faults.push({ kind: "link-pause", link: link(), afterMs: c.int(0, 800), durationMs });
  }
  if (c.chance(0.35)) faults.push({ kind: "link-twice", link: link() });
  if (c.chance(0.35)) {
    faults.push({ kind: "link-late", link: link(), delayMs: Math.round(leaseMs * c.between(0.5, 2)) });
  }
  if (c.chance(0.35))
    faults.push({ kind: "link-fail", link: link(), how: c.chance(0.5) ? "error-500" : "drop" });
  return { budgetMs, subscriptions, stripeRequestsPerSecond, faults };
}

/** One line: the scenario's shape and planned faults, for logs and reports. */
export function describeScenario(s: Scenario): string {
  const rates = (o: object) =>
    Object.entries(o)
      .filter(([, v]) => typeof v === "number" && v > 0)
      .map(([k, v]) => `${k}=${v as number}`)
      .join(" ") || "none";
  const offsets = s.clockOffsetsMs.filter((o) => o !== 0);
  const actions = s.actions
    .map((a) => {
      const when = "afterMs" in a.trigger ? `@${a.trigger.afterMs}ms` : `@charge#${a.trigger.afterCharges}`;
      return `${a.kind}${a.kind === "zombie" ? `(${a.resend})` : ""}${when}`;
    })
    .join(" ");
  const links = s.continuations
    ? `, links [budget ${s.continuations.budgetMs} ms, ${s.continuations.subscriptions} subscriptions at ${s.continuations.stripeRequestsPerSecond}/s${s.continuations.faults.map((f) => ` ${f.kind}#${f.link}`).join("")}]`
    : "";
  return (
    `${s.contenders} contenders, ${s.shards} shard(s), ${s.subscriptions} subscriptions, lease ${s.lease.leaseMs} ms, ` +
    `clock offsets [${offsets.join(", ") || "none"}], dynamo {${rates(s.dynamo)}}, stripe {${rates(s.stripe)}}, ` +
    `actions [${actions || "none"}]${links}`
  );
}
