/**
 * A cluster: the infrastructure, the function's environment, contender processes fired in rounds (one
 * round = one EventBridge schedule tick with several targets), and a timeline of everything that
 * happened. The local runner (dev/local-run) and the chaos suite build on it.
 *
 *   const cluster = await Cluster.start({ shardCount: 1, lease: { leaseMs: 5000, renewMs: 1500, marginMs: 1500 } });
 *   const round = cluster.fireRound({ contenders: 3, budgetMs: 60_000 });
 *   await round.settled;
 *   const report = await cluster.checkInvariants(round.asOf);
 *   await cluster.stop();
 */
import { randomUUID } from "node:crypto";
import {
  checkInvariants,
  dueLeft,
  fetchProviderRecord,
  type InvariantReport,
  type ProviderRecord,
} from "../invariants";
import {
  FROM_SOURCE,
  spawnEnvironment,
  type ContenderEnvironment,
  type ContenderExit,
  type ContenderProcess,
  type ContenderSpec,
  type FunctionEnvironment,
  type LeaseSettings,
} from "./contenders";
import {
  startInfrastructure,
  type FaultPlan,
  type Infrastructure,
  type InfrastructureOptions,
} from "./infrastructure";
import type { ParsedLine } from "./log-lines";
import { Shutdown } from "./shutdown";
import { Timeline } from "./timeline";
import { killAll, track } from "./tracking";
import { startContinuationServer, type ContinuationServer, type Invocation } from "../lambda-invoke";

export interface ClusterOptions {
  readonly shardCount: number;
  readonly lease: LeaseSettings;
  readonly stripeFaults?: FaultPlan;
  readonly stripeSeed?: number;
  readonly tablePrefix?: string;
  /** The function's other settings (rate limit, concurrency, margins); see FunctionEnvironment. */
  readonly functionSettings?: Partial<
    Omit<
      FunctionEnvironment,
      "dynamoEndpoint" | "tables" | "stripeUrl" | "stripeKey" | "shardCount" | "lease"
    >
  >;
  readonly log?: (message: string) => void;
  /** Clean-up registry to join (the runner's), so Ctrl-C takes the cluster down. */
  readonly shutdown?: Shutdown;
  /**
   * Serve the function's continuation links (dev/lambda-invoke): each Invoke it sends starts one more
   * contender process, with this time budget. Without it, contenders never continue a run.
   */
  /**
   * How each contender's node process runs the handler: from source through tsx by default; a prebuilt
   * bundle (dev/chaos/bundled-contender.ts) starts several times faster, closer to a Lambda cold start.
   */
  readonly nodeArgs?: readonly string[];
  /**
   * Reuse environments, as Lambda may: an invocation (a round's or a link's) runs in a process whose last
   * invocation is over when there is one, skipping Init, and in a new process otherwise. Default: every
   * invocation is a new process (a cold start each).
   */
  readonly reuseEnvironments?: boolean;
  readonly continuations?: {
    readonly budgetMs: number;
    /** MAX_CONTINUATION_LINKS; the function's default if unset. */
    readonly maxLinks?: number;
    readonly hardTimeoutGraceMs?: number;
  };
}

export interface RoundOptions {
  readonly contenders: number;
  readonly budgetMs: number;
  /** The schedule's time (the event's `time`); default now, to the second. */
  readonly asOf?: string;
  /** Per contender (by index): its clock skew in ms. */
  readonly clockOffsetsMs?: readonly number[];
  /** Labels; default `c1..cN` in round 1 and `r<round>.c<i>` after. */
  readonly labels?: readonly string[];
  readonly hardTimeoutGraceMs?: number;
}

export interface Round {
  readonly round: number;
  readonly asOf: string;
  readonly event: ScheduledEvent;
  readonly processes: readonly ContenderProcess[];
  /** Every contender of the round has exited. */
  readonly settled: Promise<ContenderExit[]>;
}

export interface ScheduledEvent {
  readonly version: "0";
  readonly id: string;
  readonly "detail-type": "Scheduled Event";
  readonly source: "aws.events";
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Record<string, never>;
}

/** EventBridge's scheduled event, as each of the schedule's targets receives it. */
export function scheduledEvent(time: Date = new Date()): ScheduledEvent {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: "000000000000",
    time: time.toISOString().replace(/\.\d{3}Z$/, "Z"),
    region: "us-east-1",
    resources: ["arn:aws:events:us-east-1:000000000000:rule/lease-billing-schedule"],
    detail: {},
  };
}

export type ClusterLineListener = (process: ContenderProcess, line: ParsedLine, atMs: number) => void;

export class Cluster {
  readonly timeline = new Timeline();
  readonly processes: ContenderProcess[] = [];
  readonly rounds: Round[] = [];
  private readonly listeners = new Set<ClusterLineListener>();
  private readonly spawnListeners = new Set<(process: ContenderProcess) => void>();
  private readonly shutdown: Shutdown;
  private stopped = false;
  /** The local invoke server of the continuation links, if the cluster serves them. */
  links: ContinuationServer | null = null;
  /** Every process started, each a Lambda execution environment (one invocation each unless reused). */
  private readonly environments: ContenderEnvironment[] = [];

  private constructor(
    readonly infra: Infrastructure,
    readonly env: FunctionEnvironment,
    shutdown: Shutdown,
    private readonly continuations: ClusterOptions["continuations"],
    private readonly nodeArgs: readonly string[] | undefined,
    private readonly reuse: boolean,
  ) {
    this.shutdown = shutdown;
  }

  static async start(options: ClusterOptions): Promise<Cluster> {
    const shutdown = options.shutdown ?? new Shutdown();
    const infraOptions: InfrastructureOptions = {
      ...(options.tablePrefix !== undefined && { tablePrefix: options.tablePrefix }),
      stripe: {
        ...(options.stripeSeed !== undefined && { seed: options.stripeSeed }),
        ...(options.stripeFaults && { faults: options.stripeFaults }),
      },
      ...(options.log && { log: options.log }),
    };
    const infra = await startInfrastructure(infraOptions);
    // The server starts first (the contenders' environment names it); links arrive once the cluster runs.
    let startLink: (invocation: Invocation, label: string) => void = () => undefined;
    const links = options.continuations
      ? await startContinuationServer({ start: (invocation, label) => startLink(invocation, label) })
      : null;
    const env: FunctionEnvironment = {
      dynamoEndpoint: infra.dynamo.endpoint,
      tables: infra.tables,
      stripeUrl: infra.stripe.url,
      stripeKey: infra.stripeKey,
      shardCount: options.shardCount,
      lease: options.lease,
      ...options.functionSettings,
      ...(links && {
        lambdaEndpoint: links.url,
        ...(options.continuations?.maxLinks !== undefined && {
          maxContinuationLinks: options.continuations.maxLinks,
        }),
      }),
    };
    const cluster = new Cluster(
      infra,
      env,
      shutdown,
      options.continuations,
      options.nodeArgs,
      options.reuseEnvironments ?? false,
    );
    cluster.links = links;
    startLink = (invocation, label) => void cluster.invoke(invocation, label);
    shutdown.add("cluster", () => cluster.stop());
    return cluster;
  }

  /** Invocations that ran in an environment an earlier one had started (warm starts). */
  get warmStarts(): number {
    return this.processes.length - this.environments.length;
  }

  /** Every contender process as it starts (a round's, or a continuation link's). */
  onSpawn(listener: (process: ContenderProcess) => void): () => void {
    this.spawnListeners.add(listener);
    return () => this.spawnListeners.delete(listener);
  }

  /** Every parsed line of every contender; returns a function that removes the listener. */
  onLine(listener: ClusterLineListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Fires one schedule tick: `contenders` invocations of the handler at once, each its own process. */
  fireRound(options: RoundOptions): Round {
    if (this.stopped) throw new Error("the cluster is stopped");
    const round = this.rounds.length + 1;
    const time = options.asOf ? new Date(options.asOf) : new Date();
    const event = scheduledEvent(time);
    const asOf = new Date(event.time).toISOString();
    this.timeline.record({ at: this.timeline.now(), kind: "round", round, asOf });
    const processes: ContenderProcess[] = [];
    for (let i = 0; i < options.contenders; i++) {
      const label = options.labels?.[i] ?? (round === 1 ? `c${i + 1}` : `r${round}.c${i + 1}`);
      processes.push(
        this.launch({
          label,
          round,
          event,
          budgetMs: options.budgetMs,
          clockOffsetMs: options.clockOffsetsMs?.[i] ?? 0,
          ...(options.hardTimeoutGraceMs !== undefined && { hardTimeoutGraceMs: options.hardTimeoutGraceMs }),
        }),
      );
    }
    const settled = Promise.all(processes.map((p) => p.exited));
    const result: Round = { round, asOf, event, processes, settled };
    this.rounds.push(result);
    return result;
  }

  /**
   * A continuation link the function invoked (through the local invoke server): one more contender
   * process, in the current round, with the continuations' time budget.
   */
  invoke(invocation: Invocation, label: string): ContenderProcess | null {
    if (this.stopped || !this.continuations) return null;
    const link = (invocation.payload as { link?: unknown } | null)?.link;
    this.timeline.record({
      at: this.timeline.now(),
      kind: "note",
      text: `continuation link ${String(link)} invoked: ${label} starts`,
    });
    return this.launch({
      label,
      round: Math.max(1, this.rounds.length),
      event: invocation.payload,
      budgetMs: this.continuations.budgetMs,
      ...(this.continuations.hardTimeoutGraceMs !== undefined && {
        hardTimeoutGraceMs: this.continuations.hardTimeoutGraceMs,
      }),
    });
  }

  /**
   * Starts one invocation, on the timeline, its lines routed to the listeners: in an idle environment if
   * the cluster reuses them and one is idle (the first started of those: Lambda does not say which it
   * picks), else in a new process.
   */
  private launch(spec: ContenderSpec): ContenderProcess {
    const p = this.environments.find((e) => e.idle)?.invoke(spec) ?? this.spawn(spec);
    void track(this.timeline, p, {
      round: spec.round,
      clockOffsetMs: spec.clockOffsetMs ?? 0,
      onLine: (line, at) => {
        for (const listener of this.listeners) listener(p, line, at);
      },
    });
    this.processes.push(p);
    for (const listener of this.spawnListeners) listener(p);
    return p;
  }

  /** A new process (an environment) for `spec`, kept for later invocations if the cluster reuses them. */
  private spawn(spec: ContenderSpec): ContenderProcess {
    const clock = () => this.timeline.now();
    const started = spawnEnvironment(this.env, spec, clock, this.nodeArgs ?? FROM_SOURCE, this.reuse);
    this.environments.push(started.environment);
    return started.first;
  }

  /**
   * Resolves when no contender runs and no continuation link waits to start: a round and every link
   * its invocations sent (and those links', and so on) are over.
   */
  async idle(): Promise<void> {
    for (;;) {
      const alive = this.running();
      if (alive.length === 0 && (this.links?.pending() ?? 0) === 0) return;
      await Promise.all([...alive.map((p) => p.exited), this.links?.drained()]);
    }
  }

  /** Contenders still running (or paused). */
  running(): ContenderProcess[] {
    return this.processes.filter((p) => p.status !== "exited");
  }

  /** Subscriptions still due at `asOf` (what the due index holds), over every shard. */
  async dueLeft(asOf: string): Promise<number> {
    return dueLeft(this.infra.doc, this.infra.tables, this.env.shardCount, asOf);
  }

  /** The emulator's record: PaymentIntents with status and metadata, and request counts. */
  async providerRecord(): Promise<ProviderRecord & { requestCounts?: unknown }> {
    return fetchProviderRecord(this.infra.stripe.url) as Promise<
      ProviderRecord & { requestCounts?: unknown }
    >;
  }

  /** The invariants of docs/design.md, checked by dev/invariants.ts against the tables and the emulator. */
  async checkInvariants(asOf: string): Promise<InvariantReport> {
    return checkInvariants(this.infra.doc, this.infra.tables, await this.providerRecord(), asOf);
  }

  /** SIGKILLs every contender still running (continuing paused ones first) and waits for them to exit. */
  async killAll(reason = "shutdown"): Promise<void> {
    await killAll(this.processes, this.timeline, reason);
  }

  /** Kills what runs and stops the infrastructure. Safe to call more than once. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.links?.stop();
    await this.killAll();
    for (const environment of this.environments) if (environment.idle) environment.kill();
    await this.infra.stop();
  }

  /** The clean-up registry the cluster is part of. */
  get cleanup(): Shutdown {
    return this.shutdown;
  }
}
