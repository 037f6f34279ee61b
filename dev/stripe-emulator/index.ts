/**
 * A local Stripe for development and tests: an HTTP server the official `stripe` SDK talks to unchanged,
 * `new Stripe(key, { host, port, protocol: "http" })`, with state in memory. It models PaymentIntents,
 * charges, refunds, customers, test payment methods and Stripe's idempotency layer, and injects faults
 * (latency, 429s, 500s, timeouts, dropped connections) on demand. Responses have the shape of API version
 * PINNED_API_VERSION. What it models and where it differs from Stripe: docs/stripe-emulator.md.
 *
 *   const emulator = await startStripeEmulator();
 *   const stripe = new Stripe("sk_test_local", { host: emulator.host, port: emulator.port, protocol: "http" });
 */
import type { EmulatorControls } from "./admin";
import { EmulatorClock } from "./clock";
import { FaultInjector, type FaultPlan, type InjectedFault } from "./faults";
import { HeldRequests, type HeldFilter } from "./hold";
import { IdempotencyStore } from "./idempotency";
import { loadState, saveState } from "./persistence";
import { PINNED_API_VERSION } from "./api-version";
import { Pipeline } from "./pipeline";
import { RequestLog } from "./request-log";
import { DEFAULT_SEARCH_INDEXING_DELAY_MS } from "./search-index";
import { startHttpServer } from "./server";
import { buildSnapshot } from "./snapshot";
import { Store } from "./store";

export type { FaultPlan, InjectedFault, InjectedFaultKind } from "./faults";
export type {
  AdminSnapshot,
  ChargeSummary,
  CustomerSummary,
  PaymentIntentSummary,
  RefundSummary,
} from "./snapshot";
export type { RequestCounts, RequestEntry } from "./request-log";
export type { HeldFilter, HeldRequestSummary } from "./hold";
export { PINNED_API_VERSION } from "./api-version";
export { KEY_RETENTION_MS } from "./idempotency";

export interface StripeEmulatorOptions {
  /** 0 picks a free port. Default 0. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  faults?: FaultPlan;
  /** Seed of the PRNG behind fault rates and latency ranges. Default: random. */
  seed?: number;
  /** The emulator clock's starting point, epoch ms. Default Date.now(). */
  startTime?: number;
  /** Stop the emulator clock: it then moves only with advanceClock. Default false (it runs in real time). */
  freezeClock?: boolean;
  /** Persist state to this JSON file after every POST, and restore it at start. */
  stateFile?: string;
  /** How long, on the emulator clock, before a change to a PaymentIntent is visible to Search. Default 1000. */
  searchIndexingDelayMs?: number;
  /**
   * Every API key of a mode belongs to one account, as an account's several keys do: idempotency keys
   * are shared between them, and the request log still tells the senders apart by key. Default false
   * (each key is its own account).
   */
  singleAccount?: boolean;
}

/** A running emulator: where it listens, how to stop it, and the admin API's controls for code. */
export interface StripeEmulator extends EmulatorControls {
  readonly host: string;
  readonly port: number;
  readonly protocol: "http";
  /** `http://host:port` */
  readonly url: string;
  /** Closes all sockets, including held ones. */
  stop(): Promise<void>;
}

export async function startStripeEmulator(opts: StripeEmulatorOptions = {}): Promise<StripeEmulator> {
  const host = opts.host ?? "127.0.0.1";
  const clock = new EmulatorClock(opts.startTime ?? Date.now(), opts.freezeClock ?? false);
  const store = new Store(opts.searchIndexingDelayMs ?? DEFAULT_SEARCH_INDEXING_DELAY_MS);
  const idempotency = new IdempotencyStore();
  const faults = new FaultInjector(opts.seed ?? Math.floor(Math.random() * 2 ** 32), opts.faults ?? {});
  const log = new RequestLog();
  const held = new HeldRequests(clock);
  const stateFile = opts.stateFile;

  if (stateFile !== undefined) {
    const restored = loadState(stateFile);
    if (restored) {
      clock.advance(restored.clockAdvancedMs);
      store.load(restored.store, clock.now());
      idempotency.restore(restored.idempotencyKeys);
    }
  }
  const persist = (): void => {
    if (stateFile === undefined) return;
    saveState(stateFile, {
      format: 1,
      apiVersion: PINNED_API_VERSION,
      clockAdvancedMs: clock.advancedMs,
      store: store.toData(),
      idempotencyKeys: idempotency.saved(),
    });
  };

  const pipeline = new Pipeline({
    store,
    clock,
    idempotency,
    faults,
    held,
    log,
    apiVersion: PINNED_API_VERSION,
    singleAccount: opts.singleAccount ?? false,
    onCommit: persist,
  });
  const controls = {
    setFaults: (plan: FaultPlan) => faults.setPlan(plan),
    injectNext: (fault: InjectedFault) => faults.inject(fault),
    cancelInjected: (apiKey?: string) => faults.cancelInjected(apiKey),
    heldRequests: () => held.list(),
    releaseHeld: (filter?: HeldFilter) => held.release(filter),
    discardHeld: (filter?: HeldFilter) => held.discard(filter),
    requestLog: (afterSeq?: number) => log.list(afterSeq),
    advanceClock: (ms: number) => {
      clock.advance(ms);
      persist();
      held.releaseDue();
    },
    now: () => clock.now(),
    snapshot: () =>
      buildSnapshot(store, {
        now: clock.now(),
        apiVersion: PINNED_API_VERSION,
        requestCounts: log.snapshot(),
        faults: faults.currentPlan(),
        pendingInjections: faults.pendingCount(),
        heldRequests: held.size,
      }),
    reset: () => {
      held.discard();
      store.clear();
      idempotency.clear();
      log.clear();
      faults.clear();
      pipeline.resetLimits();
      persist();
    },
  };
  const server = await startHttpServer(pipeline, controls, PINNED_API_VERSION, host, opts.port ?? 0);
  let stopped: Promise<void> | null = null;

  return {
    host,
    port: server.port,
    protocol: "http",
    url: `http://${host.includes(":") ? `[${host}]` : host}:${server.port}`,
    stop: () => {
      held.discard();
      stopped ??= server.close().then(persist);
      return stopped;
    },
    ...controls,
  };
}
