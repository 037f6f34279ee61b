/**
 * One contender of the billing job wired as the Lambda wires it (createBillingJob, createGateway with its
 * pacer, leaderDeps), against DynamoDB Local and the emulator over HTTP, with timestamped events.
 * It can be killed: from that instant it starts nothing more, neither a DynamoDB request, nor a Stripe
 * request, nor a heartbeat (its timers stop firing), and it never sees the answers to requests in flight,
 * as when a process dies.
 */
import { randomUUID } from "node:crypto";
import {
  runContender,
  defaultShardOrder,
  type ContenderReport,
} from "../functions/core/billing-run/contender";
import type { RunEvent } from "../functions/core/billing-run/events";
import { runSettings, type RunSettings } from "../functions/core/billing-run/run-config";
import type { RunRequest } from "../functions/core/billing-run/shard-leader";
import { systemClock, type Clock } from "../functions/core/clock";
import { DEFAULT_LEASE_TIMINGS, type LeaseTimings } from "../functions/core/lease/lease-timings";
import {
  createBillingJob,
  createGateway,
  leaderDeps,
  type BillingJob,
} from "../functions/handler/billing-job";
import type { FunctionConfig } from "../functions/handler/config";
import { localFunctionConfig } from "../dev/function-config";
import { BENCH_API_KEY, type BenchTables } from "./env";

/** Where the tables are: all a contender needs (it makes its own clients). */
export type TableRef = Pick<BenchTables, "endpoint" | "names">;

export interface ContenderOptions {
  readonly settings?: Partial<RunSettings>;
  readonly lease?: Partial<LeaseTimings>;
  /** The account's Stripe budget, shared with the other leaders (config.stripe.accountRequestsPerSecond). */
  readonly accountRequestsPerSecond: number;
  /** Epoch ms after which the contender claims nothing new (its time budget). */
  readonly deadline: () => number;
  /** Which shard to try first (defaults to a random one, as in the Lambda). */
  readonly firstShard?: number;
  /**
   * Called as a leader's sweep (functions/core/billing-run/sweeps.ts) sends anything: before each of its
   * scans of the subscriptions and each list of the job's PaymentIntents, which nothing else sends. A
   * leader sweeps once its shard has nothing left due, after its renewals have finished.
   */
  readonly onSweep?: () => void;
}

export interface TimedEvent {
  readonly at: number;
  readonly event: RunEvent;
}

export interface BenchContender {
  readonly owner: string;
  readonly job: BillingJob;
  readonly events: TimedEvent[];
  readonly report: Promise<ContenderReport>;
  /** Kills the contender; returns the instant of death (epoch ms). */
  kill(): number;
}

export function benchConfig(
  tables: TableRef,
  emulatorUrl: string,
  options: ContenderOptions,
): FunctionConfig {
  return localFunctionConfig(tables, emulatorUrl, {
    apiKey: BENCH_API_KEY,
    accountRequestsPerSecond: options.accountRequestsPerSecond,
    timeoutMs: 10_000,
    lease: { ...DEFAULT_LEASE_TIMINGS, ...options.lease },
    run: runSettings({ stopClaimingMarginMs: 0, ...options.settings }),
  });
}

const forever = new Promise<never>(() => undefined);

/** Wraps every method of `target` so that, once `dead()`, calls neither start nor return. */
function mortal<T extends object>(target: T, dead: () => boolean): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        if (dead()) return forever;
        try {
          const result: unknown = await (value as (...a: unknown[]) => unknown).apply(object, args);
          if (dead()) return forever;
          return result;
        } catch (error) {
          // A dead process sees neither answers nor errors.
          if (dead()) return forever;
          throw error;
        }
      };
    },
  });
}

/** `target` with `before()` called ahead of each call of its method `name`. */
function tap<T extends object>(target: T, name: keyof T & string, before: () => void): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== "function") return value;
      const method = (value as (...a: unknown[]) => unknown).bind(object);
      if (property !== name) return method;
      return (...args: unknown[]) => {
        before();
        return method(...args);
      };
    },
  });
}

function mortalClock(base: Clock, dead: () => boolean): Clock {
  return {
    now: () => base.now(),
    sleep: async (ms, signal) => {
      if (dead()) return forever;
      await base.sleep(ms, signal);
      if (dead()) return forever;
    },
  };
}

export function startContender(
  tables: TableRef,
  emulatorUrl: string,
  request: RunRequest,
  options: ContenderOptions,
): BenchContender {
  let diedAt: number | null = null;
  const dead = () => diedAt !== null;
  const clock = mortalClock(systemClock, dead);
  const config = benchConfig(tables, emulatorUrl, options);
  const job = createBillingJob(config, clock);
  const onSweep = options.onSweep ?? (() => undefined);
  const gateway = mortal(
    tap(createGateway(config, BENCH_API_KEY, clock, { pacer: job.pacer }), "listJobPaymentIntents", onSweep),
    dead,
  );
  const events: TimedEvent[] = [];
  const owner = `bench-${randomUUID().slice(0, 8)}`;
  const plain = leaderDeps(
    job,
    gateway,
    (event) => events.push({ at: Date.now(), event }),
    () => options.deadline() - Date.now(),
  );
  const deps = {
    ...plain,
    lease: mortal(plain.lease, dead),
    source: mortal(tap(plain.source, "scanSubscriptions", onSweep), dead),
    ledger: mortal(plain.ledger, dead),
  };
  const order = defaultShardOrder(config.run.shardCount, options.firstShard);
  return {
    owner,
    job,
    events,
    report: runContender(deps, owner, request, order),
    kill: () => (diedAt ??= Date.now()),
  };
}

export function runRequest(label: string, asOf: string): RunRequest {
  return { runId: `bench-${label}-${randomUUID().slice(0, 8)}`, asOf };
}
