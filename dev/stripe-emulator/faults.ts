/**
 * Fault injection: what can go wrong between a client and Stripe, on purpose. Rates are probabilities
 * drawn from a seeded PRNG, so a chaos run can be replayed with its seed; `inject` queues deterministic
 * one-shot faults for tests. Where each fault strikes in a request's life:
 *
 *   arrival -> [rate limit: token bucket, rate-limit one-shots, rateLimit429Rate]   429, nothing saved
 *           -> idempotency lookup, validation, key claimed
 *           -> [latency]                                      the key is in flight meanwhile
 *           -> [error500: 500 instead of executing]           saved under the key
 *           -> execute (commit)
 *           -> [error500-after-commit: 500 although committed] saved under the key
 *           -> [timeout: never answer | drop-after-charge: destroy the socket]   result saved
 *
 * Faults other than latency and the token bucket apply only to paths matching `paths`, if set. A replay
 * can time out or be dropped too (the network does not care), but is never turned into a 500.
 *
 * One one-shot fault strikes before all of these: `hold` keeps a POST unexecuted, as if it sat in a paused
 * client process, until it is released (hold.ts); it then goes the whole way above as if it had just
 * arrived, so a key that expired meanwhile no longer protects it. One-shots can be aimed at one sender
 * (`apiKey`), so that a harness can hold or drop what one contender process sends.
 */
import { seededRng, type Rng } from "./random";
import { TokenBucket } from "./token-bucket";

export interface FaultPlan {
  /** Added before execution, while the idempotency key is held in flight. */
  latencyMs?: number | { min: number; max: number };
  /** Token bucket over all /v1 requests; beyond it, 429 rate_limit and nothing executed or saved. */
  rateLimit?: { requestsPerSecond: number; burst?: number };
  /** 500 api_error at execution: half the time after the state change was committed, half before. */
  error500Rate?: number;
  /** Executes (commits), then never answers; the socket is held until the client gives up or stop(). */
  timeoutRate?: number;
  /** Executes (commits), then destroys the socket without a response. */
  dropAfterChargeRate?: number;
  /** Random 429 rate_limit before execution (nothing saved). */
  rateLimit429Rate?: number;
  /** Path prefixes or regular expressions the faults above (not latency or rateLimit) are limited to. */
  paths?: string[];
}

export type InjectedFaultKind =
  "error500" | "error500-after-commit" | "timeout" | "drop-after-charge" | "rate-limit" | "hold";

export interface InjectedFault {
  kind: InjectedFaultKind;
  /** Prefix or regular expression; unset matches every /v1 request. */
  path?: string;
  /** How many matching requests it strikes; default 1. */
  count?: number;
  /** Only requests sent with this API key (one sender); unset matches any. */
  apiKey?: string;
  /**
   * `hold` only: release by itself once the emulator clock is this many ms past the moment the request
   * was held (a clock jump counts). Unset: only an explicit release (or reset/stop, which discard it).
   */
  releaseAfterMs?: number;
}

/** What happens to a request after it has passed the rate limiter and idempotency checks. */
export type ExecutionFault = "none" | "error500" | "error500-after-commit" | "timeout" | "drop-after-charge";

const KINDS: readonly InjectedFaultKind[] = [
  "error500",
  "error500-after-commit",
  "timeout",
  "drop-after-charge",
  "rate-limit",
  "hold",
];

function fail(message: string): never {
  throw new Error(`Invalid fault plan: ${message}`);
}

function rate(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !(value >= 0 && value <= 1))
    fail(`${name} must be a number between 0 and 1`);
  return value;
}

function nonNegative(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
    fail(`${name} must be a number >= 0`);
  return value;
}

/** Checks a plan that came from JSON (admin API, CLI) or from code; throws with a readable message. */
export function parseFaultPlan(input: unknown): FaultPlan {
  if (typeof input !== "object" || input === null || Array.isArray(input)) fail("expected an object");
  const raw = input as Record<string, unknown>;
  const known = new Set([
    "latencyMs",
    "rateLimit",
    "error500Rate",
    "timeoutRate",
    "dropAfterChargeRate",
    "rateLimit429Rate",
    "paths",
  ]);
  for (const key of Object.keys(raw)) if (!known.has(key)) fail(`unknown field ${key}`);
  const plan: FaultPlan = {};
  if (raw.latencyMs !== undefined) {
    const l = raw.latencyMs;
    if (typeof l === "number") plan.latencyMs = nonNegative(l, "latencyMs");
    else if (typeof l === "object" && l !== null) {
      const { min, max } = l as { min?: unknown; max?: unknown };
      const range = { min: nonNegative(min, "latencyMs.min"), max: nonNegative(max, "latencyMs.max") };
      if (range.max < range.min) fail("latencyMs.max must be >= latencyMs.min");
      plan.latencyMs = range;
    } else fail("latencyMs must be a number or { min, max }");
  }
  if (raw.rateLimit !== undefined) {
    const r = raw.rateLimit as { requestsPerSecond?: unknown; burst?: unknown } | null;
    if (typeof r !== "object" || r === null) fail("rateLimit must be { requestsPerSecond, burst? }");
    const requestsPerSecond = nonNegative(r.requestsPerSecond, "rateLimit.requestsPerSecond");
    if (requestsPerSecond <= 0) fail("rateLimit.requestsPerSecond must be > 0");
    plan.rateLimit = {
      requestsPerSecond,
      ...(r.burst !== undefined && { burst: nonNegative(r.burst, "rateLimit.burst") }),
    };
  }
  for (const name of ["error500Rate", "timeoutRate", "dropAfterChargeRate", "rateLimit429Rate"] as const) {
    const value = rate(raw[name], name);
    if (value !== undefined) plan[name] = value;
  }
  if (raw.paths !== undefined) {
    if (!Array.isArray(raw.paths) || raw.paths.some((p) => typeof p !== "string"))
      fail("paths must be an array of strings");
    plan.paths = [...(raw.paths as string[])];
  }
  return plan;
}

export function parseInjectedFault(input: unknown): InjectedFault {
  if (typeof input !== "object" || input === null) throw new Error("Invalid fault: expected an object");
  const { kind, path, count, apiKey, releaseAfterMs } = input as Record<string, unknown>;
  if (!KINDS.includes(kind as InjectedFaultKind))
    throw new Error(`Invalid fault: kind must be one of ${KINDS.join(", ")}`);
  if (path !== undefined && typeof path !== "string") throw new Error("Invalid fault: path must be a string");
  if (count !== undefined && !(Number.isInteger(count) && (count as number) >= 1)) {
    throw new Error("Invalid fault: count must be an integer >= 1");
  }
  if (apiKey !== undefined && typeof apiKey !== "string")
    throw new Error("Invalid fault: apiKey must be a string");
  if (releaseAfterMs !== undefined) {
    if (kind !== "hold") throw new Error("Invalid fault: releaseAfterMs applies to hold only");
    if (typeof releaseAfterMs !== "number" || !Number.isFinite(releaseAfterMs) || releaseAfterMs < 0)
      throw new Error("Invalid fault: releaseAfterMs must be a number >= 0");
  }
  return {
    kind: kind as InjectedFaultKind,
    ...(path !== undefined && { path }),
    ...(count !== undefined && { count: count as number }),
    ...(apiKey !== undefined && { apiKey }),
    ...(releaseAfterMs !== undefined && { releaseAfterMs }),
  };
}

/** A path pattern: a prefix, or else a regular expression. */
function pathMatcher(pattern: string): (path: string) => boolean {
  let regex: RegExp | null = null;
  try {
    regex = new RegExp(pattern);
  } catch {
    regex = null;
  }
  return (path) => path.startsWith(pattern) || (regex !== null && regex.test(path));
}

interface PendingFault {
  readonly kind: InjectedFaultKind;
  readonly matches: (path: string) => boolean;
  readonly apiKey: string | undefined;
  readonly releaseAfterMs: number | null;
  remaining: number;
}

/** What a `hold` one-shot decided for a request: held, and released by itself after this, or never. */
export interface HoldDecision {
  readonly releaseAfterMs: number | null;
}

export class FaultInjector {
  private readonly rng: Rng;
  private plan: FaultPlan = {};
  private bucket: TokenBucket | null = null;
  private inPaths: (path: string) => boolean = () => true;
  private pending: PendingFault[] = [];

  constructor(seed: number, plan: FaultPlan = {}) {
    this.rng = seededRng(seed);
    this.setPlan(plan);
  }

  setPlan(plan: FaultPlan): void {
    this.plan = parseFaultPlan(plan);
    const limit = this.plan.rateLimit;
    this.bucket = limit
      ? new TokenBucket(limit.requestsPerSecond, Math.max(1, limit.burst ?? limit.requestsPerSecond))
      : null;
    const matchers = (this.plan.paths ?? []).map(pathMatcher);
    this.inPaths = this.plan.paths ? (path) => matchers.some((m) => m(path)) : () => true;
  }

  currentPlan(): FaultPlan {
    return structuredClone(this.plan);
  }

  inject(fault: InjectedFault): void {
    const checked = parseInjectedFault(fault);
    this.pending.push({
      kind: checked.kind,
      matches: checked.path === undefined ? () => true : pathMatcher(checked.path),
      apiKey: checked.apiKey,
      releaseAfterMs: checked.releaseAfterMs ?? null,
      remaining: checked.count ?? 1,
    });
  }

  /** Forgets queued one-shots (those aimed at `apiKey` only, if given); returns how many strikes were left. */
  cancelInjected(apiKey?: string): number {
    const gone = this.pending.filter((p) => apiKey === undefined || p.apiKey === apiKey);
    this.pending = this.pending.filter((p) => !gone.includes(p));
    return gone.reduce((n, p) => n + p.remaining, 0);
  }

  pendingCount(): number {
    return this.pending.reduce((n, p) => n + p.remaining, 0);
  }

  /** Forgets queued one-shot faults and refills the token bucket; the plan stays. */
  clear(): void {
    this.pending = [];
    this.setPlan(this.plan);
  }

  private takeInjected(
    path: string,
    apiKey: string | undefined,
    kinds: readonly InjectedFaultKind[],
  ): PendingFault | null {
    const found = this.pending.find(
      (p) => kinds.includes(p.kind) && p.matches(path) && (p.apiKey === undefined || p.apiKey === apiKey),
    );
    if (!found) return null;
    found.remaining -= 1;
    if (found.remaining === 0) this.pending = this.pending.filter((p) => p !== found);
    return found;
  }

  /** Whether a request is held before anything else happens to it (POSTs only: they change state). */
  hold(method: string, path: string, apiKey: string | undefined): HoldDecision | null {
    if (method !== "POST") return null;
    const found = this.takeInjected(path, apiKey, ["hold"]);
    return found ? { releaseAfterMs: found.releaseAfterMs } : null;
  }

  private chance(probability: number | undefined): boolean {
    return probability !== undefined && probability > 0 && this.rng() < probability;
  }

  /** The rate limiter in front of everything: false means answer 429. */
  admit(path: string, apiKey?: string): boolean {
    if (this.bucket && !this.bucket.take()) return false;
    if (this.takeInjected(path, apiKey, ["rate-limit"])) return false;
    return !(this.inPaths(path) && this.chance(this.plan.rateLimit429Rate));
  }

  latencyMs(): number {
    const latency = this.plan.latencyMs;
    if (latency === undefined) return 0;
    if (typeof latency === "number") return latency;
    return latency.min + this.rng() * (latency.max - latency.min);
  }

  /** The fault, if any, for a request about to execute (or to be replayed). */
  forExecution(path: string, replay: boolean, apiKey?: string): ExecutionFault {
    const kinds: readonly InjectedFaultKind[] = replay
      ? ["timeout", "drop-after-charge"]
      : ["error500", "error500-after-commit", "timeout", "drop-after-charge"];
    const injected = this.takeInjected(path, apiKey, kinds)?.kind;
    if (injected && injected !== "rate-limit" && injected !== "hold") return injected;
    if (!this.inPaths(path)) return "none";
    if (!replay && this.chance(this.plan.error500Rate)) {
      return this.rng() < 0.5 ? "error500" : "error500-after-commit";
    }
    if (this.chance(this.plan.timeoutRate)) return "timeout";
    if (this.chance(this.plan.dropAfterChargeRate)) return "drop-after-charge";
    return "none";
  }
}
