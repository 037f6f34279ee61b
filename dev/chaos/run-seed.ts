/**
 * One chaos scenario, start to verdict:
 *
 *  1. fresh tables (a per-seed prefix on the shared DynamoDB Local), a fresh Stripe emulator and DynamoDB
 *     fault proxy (both seeded), and the local runner's data set (a mix of cards, plans, catch-ups and
 *     invalid records);
 *  2. the faulty phase: faults on, one schedule tick fires the scenario's contenders (each with its clock
 *     skew and its own Stripe API key), and its actions strike (SIGKILL, SIGSTOP past the lease, reruns,
 *     Stripe clock jumps and latency spikes, zombie leaders whose requests reach Stripe a day late),
 *     timed from the first lease acquisition or by settled charges. Every invocation that hands its run
 *     back unfinished invokes the next continuation link through the seed's local invoke server
 *     (dev/lambda-invoke), one more process; a scenario with a continuation plan has a bigger book at a
 *     slower rate and short budgets for its links, so runs go on in chains of links, and some links are
 *     killed, paused, delivered twice or late, or fail (dev/chaos/link-faults.ts);
 *  3. faults off once the window closes; the faulty phase's processes and the chains of links they
 *     started finish (or die by their budget);
 *  4. follow-up ticks without faults (but the continuation faults, which may still strike the first
 *     one's chain), each with its chain of links, while anything due is left or PaymentIntents that are
 *     neither the ledger's nor canceled (the next scheduled runs are where the job's sweep finds them),
 *     at most `maxFollowUps`;
 *  5. the verdict: dev/invariants.ts over the tables and the emulator's record, the fence order from
 *     the event streams (dev/chaos/fences.ts), card attempts and stray PaymentIntents from the
 *     emulator's request log (dev/chaos/attempts.ts), and "backlog drained": whatever was left due when
 *     the faults ended, the follow-ups billed.
 */
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "../../functions/aws/dynamo";
import { LEASE_RECORD, type TableNames } from "../../functions/schema/tables";
import type { ContenderProcess, FunctionEnvironment } from "../cluster/contenders";
import { LOCAL_STRIPE_KEY } from "../cluster/infrastructure";
import { renderReport, writeReport } from "../cluster/report-html";
import { createTableSet, localDynamoClient } from "../dynamodb-local";
import { checkInvariants, dueLeft, fetchProviderRecord, scanAll, type InvariantReport } from "../invariants";
import { buildDataSet } from "../local-run/dataset";
import { seedSubscriptions, stripeClient } from "../seed";
import { startStripeEmulator, type FaultPlan, type StripeEmulator } from "../stripe-emulator";
import { checkAttemptsFenced, checkNoStrayPaymentIntents, ledgerEntry } from "./attempts";
import type { Spawner } from "./bundled-contender";
import { NO_DYNAMO_FAULTS, startDynamoFaultProxy, type ProxyCounts } from "./dynamo-fault-proxy";
import { checkFenceOrder } from "./fences";
import { startContinuationServer, type Invocation } from "../lambda-invoke";
import { LinkFaults } from "./link-faults";
import { contenderStripeKey, Fleet, scheduledEvent, WRITTEN_OUTCOMES } from "./fleet";
import { random, deriveSeed } from "./random";
import {
  describeScenario,
  emptyFaultCounts,
  type FaultCounts,
  type Scenario,
  type ScenarioAction,
} from "./scenario";

export interface SeedSettings {
  /** Time budget of each invocation in the faulty phase (the Lambda timeout). */
  readonly budgetMs: number;
  readonly followUpBudgetMs: number;
  /** Follow-up invocations without faults, at most. */
  readonly maxFollowUps: number;
  /** Where the HTML report of a failing seed goes; null: nowhere. */
  readonly outDir: string | null;
  /** Write the HTML report even when the seed passes. */
  readonly reportAlways?: boolean;
  /** Progress lines (verbose). */
  readonly log?: (text: string) => void;
  /** How contender processes start; default dev/cluster's spawnContender (node --import tsx). */
  readonly spawner?: Spawner;
}

/** Continuation links per run in the chaos suite (MAX_CONTINUATION_LINKS): enough for any scenario's book. */
export const CHAOS_MAX_LINKS = 8;

/** The check that the follow-up ticks, continuing their runs in links, bill whatever the faults left due. */
export const BACKLOG_DRAINED = "backlog drained";

export const DEFAULT_SEED_SETTINGS: SeedSettings = {
  budgetMs: 20_000,
  followUpBudgetMs: 20_000,
  maxFollowUps: 4,
  outDir: null,
};

export interface SeedResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly scenario: string;
  readonly faults: FaultCounts;
  /** Succeeded PaymentIntents at the provider: customers actually charged. */
  readonly charges: number;
  readonly doubleCharges: number;
  readonly lostRenewals: number;
  readonly violations: readonly string[];
  /** Acquisitions reported after a later fence's, by a contender none of whose writes under it succeeded. */
  readonly excusedFenceReversals: readonly string[];
  readonly acquisitions: number;
  /** Writes DynamoDB refused because the writer's fence was stale (invariant 4 at work). */
  readonly fencedOutWrites: number;
  /** Requests Stripe ran against a card (charged, declined, or needing authentication). */
  readonly cardAttempts: number;
  /** Card attempts not sent by their period's shard leader at the time ("attempts fenced"). */
  readonly unfencedAttempts: number;
  /** The job's PaymentIntents left neither the ledger's nor canceled ("no stray PaymentIntents"). */
  readonly strayPaymentIntents: number;
  readonly dueAtStart: number;
  readonly dueAfterFaults: number;
  readonly followUps: number;
  /** Continuation links the function invoked (and the local invoke server accepted), over the whole seed. */
  readonly continuationLinks: number;
  /** Of those, the ones invoked before the follow-ups: by the faulty phase's runs and their chains. */
  readonly continuationLinksInFaultyPhase: number;
  readonly handlerFailures: number;
  readonly skippedActions: readonly string[];
  readonly dynamoProxy: ProxyCounts;
  readonly stripeStatuses: Record<string, number>;
  readonly invariantCounts: InvariantReport["counts"] | null;
  /** Problems of the harness itself (not of the system under test); they fail the seed too. */
  readonly errors: readonly string[];
  readonly report: string | null;
  readonly durationMs: number;
}

async function postJson(url: string, body: unknown): Promise<void> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
}

function stripeFaultPlan(s: Scenario): FaultPlan {
  const plan: FaultPlan = {};
  for (const [k, v] of Object.entries(s.stripe) as [keyof Scenario["stripe"], number | undefined][]) {
    if (v !== undefined && v > 0) plan[k] = v;
  }
  return plan;
}

/** The requests that change a PaymentIntent: create, confirm, cancel. */
const PAYMENT_INTENT_WRITES = "^/v1/payment_intents(/[^/]+/(confirm|cancel))?$";
/** How long a zombie action waits for its leader to send something to Stripe before giving up. */
const CATCH_MS = 1_500;
/**
 * After the first request is caught, how long more to catch its siblings; at most a quarter of the
 * contenders' Stripe timeout, since the zombie must be paused before its SDK gives up on them.
 */
const CATCH_MORE_MS = 100;

/** The job's PaymentIntents that are neither the ledger's for their period nor canceled. */
async function strays(doc: DynamoDBDocumentClient, tables: TableNames, emulator: StripeEmulator) {
  const charges = (await scanAll(doc, tables.charges)).map(ledgerEntry);
  return checkNoStrayPaymentIntents(await fetchProviderRecord(emulator.url), charges).violations.length;
}

function describeTrigger(a: ScenarioAction): string {
  return "afterMs" in a.trigger
    ? `${a.trigger.afterMs} ms after the first acquisition`
    : `after charge #${a.trigger.afterCharges}`;
}

/** Runs one scenario against DynamoDB Local at `dynamoEndpoint` (shared; the seed gets its own tables). */
export async function runSeed(
  scenario: Scenario,
  dynamoEndpoint: string,
  settings: SeedSettings = DEFAULT_SEED_SETTINGS,
): Promise<SeedResult> {
  const started = performance.now();
  const seed = scenario.seed;
  const log = settings.log ?? (() => undefined);
  const errors: string[] = [];
  const faults = emptyFaultCounts();
  const skipped: string[] = [];
  const cleanup: (() => Promise<void> | void)[] = [];

  // 1. Fresh state.
  const prefix = `chaos-${seed}-${randomUUID().slice(0, 6)}-`;
  const admin = localDynamoClient(dynamoEndpoint);
  cleanup.push(() => admin.destroy());
  const tables = await createTableSet(admin, prefix);
  cleanup.push(async () => {
    for (const name of Object.values(tables)) {
      await admin.send(new DeleteTableCommand({ TableName: name })).catch(() => undefined);
    }
  });
  const doc = createDocumentClient({ endpoint: dynamoEndpoint });
  cleanup.push(() => doc.destroy());
  // One account, one key per contender (Fleet): the request log names each request's sender.
  const emulator = await startStripeEmulator({
    host: "127.0.0.1",
    seed: deriveSeed(seed, "emulator"),
    singleAccount: true,
  });
  cleanup.push(() => emulator.stop());
  const proxy = await startDynamoFaultProxy({ target: dynamoEndpoint, seed: deriveSeed(seed, "proxy") });
  cleanup.push(() => proxy.stop());

  // The function's continuation links, each a contender process of the fleet (below); faults on some.
  const linkPlan = scenario.continuations;
  const linkBudgetMs = linkPlan?.budgetMs ?? settings.followUpBudgetMs;
  let startLink: (invocation: Invocation, label: string) => void = () => undefined;
  let linkFaults: LinkFaults | null = null;
  const links = await startContinuationServer({
    start: (invocation, label) => startLink(invocation, label),
    answer: (request) => linkFaults?.answer(request) ?? "accept",
    deliver: (invocation) => linkFaults?.deliver(invocation) ?? { copies: 1, delayMs: 0 },
  });

  const env: FunctionEnvironment = {
    dynamoEndpoint: proxy.endpoint,
    tables,
    stripeUrl: emulator.url,
    stripeKey: LOCAL_STRIPE_KEY,
    shardCount: scenario.shards,
    lease: scenario.lease,
    // The account's budget, which the leaders share: the scenario's rate for each shard's leader.
    stripeRequestsPerSecond:
      (linkPlan?.stripeRequestsPerSecond ?? scenario.stripeRequestsPerSecond) * scenario.shards,
    // The function refuses a Stripe timeout longer than the lease's safety margin (README, Configuration).
    stripeTimeoutMs: Math.min(1_000, scenario.lease.marginMs),
    concurrency: scenario.concurrency,
    stopClaimingMarginMs: 2_000,
    lambdaEndpoint: links.url,
    maxContinuationLinks: CHAOS_MAX_LINKS,
    standbyPollMs: 150,
  };
  const fleet = new Fleet(env, settings.spawner);
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  cleanup.push(async () => {
    for (const t of timers) clearTimeout(t);
    await fleet.killAll("seed clean-up");
  });
  // First of all at clean-up: no link starts while the fleet is taken down.
  cleanup.push(() => links.stop());
  startLink = (invocation, label) => {
    const p = fleet.spawn({
      label,
      round: ticks,
      event: invocation.payload,
      budgetMs: linkBudgetMs,
      hardTimeoutGraceMs: 2_000,
    });
    linkFaults?.started(p, invocation);
  };
  /** Schedule ticks fired so far (the faulty phase's, a late link's next tick, the follow-ups). */
  let ticks = 1;
  /** A schedule tick fires now: counted, and drawn on the timeline. */
  const nextTick = (): Date => {
    ticks += 1;
    const now = new Date();
    fleet.timeline.record({ at: fleet.timeline.now(), kind: "round", round: ticks, asOf: now.toISOString() });
    return now;
  };
  /**
   * Until the wall clock is in a later second than now. A scheduled event's `time` has whole seconds: a
   * follow-up tick in the same second as a finished run's `asOf` would find nothing new due, stand by
   * and leave without sweeping (functions/core/billing-run/contender.ts, finishedRun). Real ticks are a
   * minute apart at least; the follow-ups stand for them.
   */
  const nextSecond = () =>
    new Promise<void>((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
  /** Until no contender runs and no link waits to be delivered: a phase with every chain it started. */
  const settledAll = async () => {
    while (fleet.running().length > 0 || links.pending() > 0) {
      await fleet.settled();
      await links.drained();
    }
  };

  let result: Omit<SeedResult, "durationMs" | "report" | "ok" | "errors"> | null = null;
  const asOf = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  try {
    const book = linkPlan?.subscriptions ?? scenario.subscriptions;
    const dataSet = buildDataSet(book, asOf, scenario.shards, seed);
    await seedSubscriptions(
      doc,
      tables,
      stripeClient(LOCAL_STRIPE_KEY, emulator.url),
      dataSet.seeds,
      dataSet.invalid,
    );
    const dueAtStart = await dueLeft(doc, tables, scenario.shards, asOf);
    const statusesBefore = emulator.snapshot().requestCounts.byStatus;
    log(`seed ${seed}: ${describeScenario(scenario)}; ${dueAtStart} due at ${asOf}`);

    // 2. The faulty phase.
    const targets = random(seed, "targets");
    let faultsOn = true;
    let spikes = 0;
    let latency: { min: number; max: number } | null = null;
    let planChain: Promise<void> = Promise.resolve();
    const applyStripePlan = () => {
      const plan: FaultPlan = faultsOn
        ? { ...stripeFaultPlan(scenario), ...(spikes > 0 && latency && { latencyMs: latency }) }
        : {};
      planChain = planChain
        .then(() => postJson(`${emulator.url}/__emulator/faults`, plan))
        .catch((e: unknown) => void errors.push(`setting the Stripe fault plan: ${String(e)}`));
      return planChain;
    };
    proxy.setRates(scenario.dynamo);
    await applyStripePlan();

    const round1 = scheduledEvent(new Date(asOf));
    fleet.timeline.record({ at: fleet.timeline.now(), kind: "round", round: 1, asOf });
    scenario.clockOffsetsMs.forEach((clockOffsetMs, i) => {
      if (clockOffsetMs !== 0) faults["clock-offset"] += 1;
      fleet.spawn({
        label: `c${i + 1}`,
        round: 1,
        event: round1,
        budgetMs: settings.budgetMs,
        clockOffsetMs,
        hardTimeoutGraceMs: 2_000,
      });
    });
    // The next schedule tick, fired early: a continuation link delivered late arrives after it.
    const fireTick = () => {
      const now = nextTick();
      const event = scheduledEvent(now);
      for (let i = 1; i <= scenario.contenders; i++) {
        fleet.spawn({
          label: `t${ticks}.c${i}`,
          round: ticks,
          event,
          budgetMs: settings.budgetMs,
          hardTimeoutGraceMs: 2_000,
        });
      }
    };
    linkFaults = new LinkFaults(linkPlan?.faults ?? [], {
      counts: faults,
      signal: (p, signal, reason) => fleet.signal(p, signal, reason),
      onAcquired: (p, listener) =>
        fleet.onEvent((q, event) => {
          if (q === p && event.type === "lease-acquired") listener();
        }),
      fireTick,
      note: (text) => fleet.note(text),
      later,
    });

    const paused = new Set<ContenderProcess>();
    const resume = (p: ContenderProcess, reason: string) => {
      if (paused.delete(p)) fleet.signal(p, "SIGCONT", reason);
    };
    cleanup.unshift(() => [...paused].forEach((p) => resume(p, "resumed (clean-up)")));
    let reruns = 0;

    // Who settled which period (a charge written under their fence): a zombie wakes only after a standby
    // settled the periods of its requests, as in the incident this models.
    const settledBy = new Map<string, Set<string>>();
    cleanup.push(
      fleet.onEvent((p, event) => {
        if (event.type !== "charge" || !WRITTEN_OUTCOMES.has(event.outcome)) return;
        const period = `${event.subscriptionId}@${event.periodStart}`;
        settledBy.set(period, new Set([...(settledBy.get(period) ?? []), p.label]));
      }),
    );
    const wait = (ms: number) => new Promise<void>((resolve) => later(ms, resolve));
    const waitUntil = async (condition: () => boolean, ms: number): Promise<boolean> => {
      const deadline = performance.now() + ms;
      while (!condition()) {
        if (performance.now() >= deadline) return false;
        await wait(10);
      }
      return true;
    };

    const zombie = async (
      action: Extract<ScenarioAction, { kind: "zombie" }>,
      index: number,
      what: string,
    ): Promise<void> => {
      // A takeover may be under way (a kill, a pause): give a leader time to appear.
      const leaders = () => fleet.leaders().filter((c) => !paused.has(c));
      await waitUntil(() => leaders().length > 0, 2 * scenario.lease.leaseMs);
      const p = leaders().length > 0 ? targets.pick(leaders()) : null;
      if (!p) return void skipped.push(`${what}: no leader to pause`);
      const mine = { apiKey: contenderStripeKey(p.label) };
      emulator.injectNext({ kind: "hold", path: PAYMENT_INTENT_WRITES, count: action.requests, ...mine });
      const mineHeld = () => emulator.heldRequests().filter((h) => h.apiKey === mine.apiKey);
      // Catch what it is sending now, and pause it before its SDK gives up on those requests.
      const caught = await waitUntil(() => mineHeld().length > 0, CATCH_MS);
      const catchMoreMs = Math.min(CATCH_MORE_MS, (env.stripeTimeoutMs ?? CATCH_MORE_MS) / 4);
      if (caught) await waitUntil(() => mineHeld().length >= action.requests, catchMoreMs);
      emulator.cancelInjected(mine.apiKey);
      const held = mineHeld();
      const reason = `chaos #${index}: SIGSTOP for ${action.durationMs} ms with ${held.length} Stripe request(s) in flight`;
      if (!caught || !fleet.signal(p, "SIGSTOP", reason)) {
        emulator.discardHeld(mine);
        return void skipped.push(`${what}: ${p.label} sent nothing to Stripe, or was gone`);
      }
      paused.add(p);
      // A process that dies asleep never sends what it held.
      void p.exited.then(() => emulator.discardHeld(mine));
      faults[action.resend === "held" ? "zombie-held-request" : "zombie-sdk-retry"] += held.length;
      fleet.note(
        `chaos #${index}: ${p.label}'s ${held.map((h) => `${h.method} ${h.path}`).join(", ")} ` +
          (action.resend === "held"
            ? "wait in the paused process; they reach Stripe when it wakes"
            : "execute now and their answers are lost; its SDK retries when it wakes"),
      );
      if (action.resend === "sdk-retry") {
        emulator.injectNext({ kind: "timeout", path: PAYMENT_INTENT_WRITES, count: held.length, ...mine });
        emulator.releaseHeld(mine);
      }
      const periods = [
        ...new Set(
          held.flatMap((h) =>
            h.metadata.subscription_id ? [`${h.metadata.subscription_id}@${h.metadata.period_start}`] : [],
          ),
        ),
      ];
      await wait(action.durationMs);
      const settled = await waitUntil(
        () => periods.every((k) => [...(settledBy.get(k) ?? [])].some((who) => who !== p.label)),
        Math.max(2_000, 2 * scenario.lease.leaseMs),
      );
      if (p.status === "exited") return;
      if (!settled) {
        // Not what this action models (nobody else settled those periods yet): the zombie dies asleep.
        paused.delete(p);
        fleet.signal(p, "SIGKILL", `chaos #${index}: ${periods.join(", ")} not settled by a standby in time`);
        return;
      }
      fleet.note(`chaos #${index}: Stripe's clock jumps ${action.advanceMs / 3_600_000} h`);
      faults["stripe-clock-jump"] += 1;
      emulator.advanceClock(action.advanceMs);
      emulator.releaseHeld(mine);
      // A timeout its requests did not use up (one was refused first) must not strike after it wakes.
      emulator.cancelInjected(mine.apiKey);
      resume(p, `chaos #${index}: SIGCONT, the zombie wakes a day later for Stripe`);
    };

    const strike = (action: ScenarioAction, index: number): void => {
      // Leaders first (if asked), then anyone running; a paused contender only when nobody else is left
      // (it can be killed, not paused twice).
      const pickTarget = (target: "leader" | "any", pausedToo: boolean) => {
        const pools = [
          target === "leader" ? fleet.leaders().filter((p) => !paused.has(p)) : [],
          fleet.running().filter((p) => !paused.has(p)),
          pausedToo ? fleet.running() : [],
        ];
        const pool = pools.find((candidates) => candidates.length > 0);
        return pool ? targets.pick(pool) : null;
      };
      const what = `${action.kind} (${describeTrigger(action)})`;
      switch (action.kind) {
        case "kill": {
          const p = pickTarget(action.target, true);
          const held = p ? fleet.heldBy(p.label) : [];
          const reason = `chaos #${index}: SIGKILL${held.length ? ` while holding shard(s) ${held.join(",")}` : ""}`;
          if (p && fleet.signal(p, "SIGKILL", reason)) faults.sigkill += 1;
          else skipped.push(`${what}: no contender left to kill`);
          return;
        }
        case "pause": {
          const p = pickTarget(action.target, false);
          const held = p ? fleet.heldBy(p.label) : [];
          const reason = `chaos #${index}: SIGSTOP for ${action.durationMs} ms${held.length ? ` while holding shard(s) ${held.join(",")}` : ""}`;
          if (p && fleet.signal(p, "SIGSTOP", reason)) {
            faults.sigstop += 1;
            paused.add(p);
            later(action.durationMs, () => resume(p, `chaos #${index}: SIGCONT, the zombie wakes`));
          } else skipped.push(`${what}: no contender left to pause`);
          return;
        }
        case "rerun": {
          reruns += 1;
          faults.rerun += 1;
          if (action.clockOffsetMs !== 0) faults["clock-offset"] += 1;
          fleet.note(`chaos #${index}: rerun ${reruns} (${action.event} event) fired mid-run`);
          fleet.spawn({
            label: `rerun${reruns}`,
            round: 1,
            event: action.event === "console" ? { action: "rerun" } : round1,
            budgetMs: settings.budgetMs,
            clockOffsetMs: action.clockOffsetMs,
            hardTimeoutGraceMs: 2_000,
          });
          return;
        }
        case "stripe-clock-jump": {
          fleet.note(`chaos #${index}: Stripe's clock jumps ${action.advanceMs / 3_600_000} h`);
          faults["stripe-clock-jump"] += 1;
          void postJson(`${emulator.url}/__emulator/clock`, { advanceMs: action.advanceMs }).catch(
            (e: unknown) => void errors.push(`advancing the Stripe clock: ${String(e)}`),
          );
          return;
        }
        case "stripe-latency-spike": {
          fleet.note(
            `chaos #${index}: Stripe latency ${action.latencyMs.min}-${action.latencyMs.max} ms for ${action.durationMs} ms`,
          );
          faults["stripe-latency-spike"] += 1;
          spikes += 1;
          latency = action.latencyMs;
          void applyStripePlan();
          later(action.durationMs, () => {
            spikes -= 1;
            void applyStripePlan();
          });
          return;
        }
        case "zombie": {
          void zombie(action, index, what).catch(
            (e: unknown) => void errors.push(`zombie action #${index}: ${String(e)}`),
          );
          return;
        }
      }
    };

    const pending = new Map(scenario.actions.map((a, i) => [i, a]));
    let windowOpen = false;
    let windowClosed!: () => void;
    const windowDone = new Promise<void>((resolve) => (windowClosed = resolve));
    const openWindow = () => {
      if (windowOpen) return;
      windowOpen = true;
      for (const [i, a] of pending) {
        if ("afterMs" in a.trigger) {
          later(a.trigger.afterMs, () => {
            if (!pending.delete(i) || !faultsOn) return;
            strike(a, i);
          });
        }
      }
      later(scenario.faultWindowMs, () => windowClosed());
    };
    const fireByCharges = () => {
      for (const [i, a] of pending) {
        if ("afterCharges" in a.trigger && fleet.chargeEvents >= a.trigger.afterCharges && faultsOn) {
          pending.delete(i);
          strike(a, i);
        }
      }
    };
    const off = fleet.onEvent((_p, event) => {
      if (event.type === "lease-acquired") openWindow();
      if (event.type === "charge" && windowOpen) fireByCharges();
    });
    // If nobody acquires (everything failing), the window opens anyway.
    later(15_000, openWindow);
    // And it closes early if every contender of the phase is gone.
    void fleet.settled().then(() => windowClosed());
    await windowDone;

    // 3. Faults off.
    faultsOn = false;
    off();
    proxy.setRates(NO_DYNAMO_FAULTS);
    await applyStripePlan();
    fleet.note("faults off");
    for (const [, a] of pending) skipped.push(`${a.kind} (${describeTrigger(a)}): the window closed first`);
    pending.clear();
    // The faulty phase ends with the chains of continuation links it started.
    await settledAll();
    for (const p of [...paused]) resume(p, "resumed");
    await settledAll();
    const proxyCounts = proxy.counts();
    const statusesAfter = emulator.snapshot().requestCounts.byStatus;
    const stripeStatuses: Record<string, number> = {};
    for (const [status, n] of Object.entries(statusesAfter)) {
      const delta = n - (statusesBefore[status] ?? 0);
      if (delta > 0) stripeStatuses[status] = delta;
    }
    faults["dynamo-throttle"] = proxyCounts.throttle;
    faults["dynamo-500"] = proxyCounts.error500;
    faults["dynamo-drop-response"] = proxyCounts["drop-response"];
    faults["stripe-429"] = stripeStatuses["429"] ?? 0;
    faults["stripe-500"] = stripeStatuses["500"] ?? 0;
    faults["stripe-timeout"] = stripeStatuses.timeout ?? 0;
    faults["stripe-drop-after-charge"] = stripeStatuses.dropped ?? 0;

    // 4. Follow-ups without faults.
    const dueAfterFaults = await dueLeft(doc, tables, scenario.shards, asOf);
    let strayCount = await strays(doc, tables, emulator);
    let followUps = 0;
    let left = dueAfterFaults;
    const linksInFaultyPhase = links.invocations.length;
    // As the next scheduled runs would: a stray made after the last sweep (a zombie's create released
    // late) waits for the next run's sweep, and a sweep cut short leaves the rest to the one after.
    while ((left > 0 || strayCount > 0) && followUps < settings.maxFollowUps) {
      followUps += 1;
      await nextSecond();
      const now = nextTick();
      fleet.spawn({
        label: `f${followUps}`,
        round: ticks,
        event: scheduledEvent(now),
        budgetMs: settings.followUpBudgetMs,
        hardTimeoutGraceMs: 2_000,
      });
      // A follow-up's run goes on in continuation links too. Continuation faults strike the faulty phase's
      // chains and the first follow-up's (a faulty phase on short budgets may leave no chain to strike);
      // the ticks after it run clean.
      await settledAll();
      if (followUps === 1) {
        skipped.push(...linkFaults.disarm());
        await settledAll();
      }
      left = await dueLeft(doc, tables, scenario.shards, asOf);
      strayCount = await strays(doc, tables, emulator);
      fleet.timeline.record({ at: fleet.timeline.now(), kind: "due", left });
      if (strayCount > 0)
        fleet.note(`${strayCount} stray PaymentIntent(s) left after follow-up ${followUps}`);
    }
    skipped.push(...linkFaults.disarm());
    if (left > 0) log(`seed ${seed}: ${left} still due after ${followUps} follow-up(s)`);
    // "backlog drained": whatever the faults left due, the follow-up ticks and their links billed.
    const backlog =
      left > 0
        ? [
            `${BACKLOG_DRAINED}: ${left} of the ${dueAfterFaults} subscription(s) due at ${asOf} when the faults ` +
              `ended are still due after ${followUps} follow-up tick(s) and their continuation links`,
          ]
        : [];

    // 5. Verdict.
    const provider = await fetchProviderRecord(emulator.url);
    const invariants = await checkInvariants(doc, tables, provider, asOf);
    const fenceRecords = new Map<number, number>();
    for (const item of await scanAll(doc, tables.leases)) {
      const match = /^billing\/shard-(\d+)$/.exec(String(item.leaseKey));
      if (match && item.record === LEASE_RECORD.fence) fenceRecords.set(Number(match[1]), Number(item.fence));
    }
    const fences = checkFenceOrder(fleet.acquisitions, fleet.timeline.pauses(), fenceRecords, fleet.writes);
    const shards = new Map<string, number>();
    for (const sub of await scanAll(doc, tables.subscriptions)) {
      if (typeof sub.shard === "number") shards.set(String(sub.subscriptionId), sub.shard);
    }
    const requests = emulator.requestLog();
    if (requests.dropped > 0) errors.push(`the emulator's request log dropped ${requests.dropped} entries`);
    const attempts = checkAttemptsFenced(
      requests.entries,
      fleet.leaseEvents(),
      provider,
      shards,
      (apiKey) => fleet.senderOf(apiKey),
      fleet.timeline.startedAtEpochMs,
    );
    const strayCheck = checkNoStrayPaymentIntents(
      provider,
      (await scanAll(doc, tables.charges)).map(ledgerEntry),
    );
    const violations = [
      ...backlog,
      ...invariants.violations,
      ...fences.violations,
      ...attempts.violations,
      ...strayCheck.violations,
    ];
    result = {
      seed,
      scenario: describeScenario(scenario),
      faults,
      charges: invariants.counts.providerSucceeded,
      doubleCharges: violations.filter((v) => v.startsWith("invariant 1")).length,
      lostRenewals: violations.filter((v) => v.startsWith("invariant 2")).length,
      violations,
      excusedFenceReversals: fences.excused,
      acquisitions: fences.checked,
      fencedOutWrites: fleet.timeline.eventsOf("fenced-out").length,
      cardAttempts: attempts.attempts,
      unfencedAttempts: attempts.violations.length,
      strayPaymentIntents: strayCheck.violations.length,
      dueAtStart,
      dueAfterFaults,
      followUps,
      continuationLinks: links.invocations.length,
      continuationLinksInFaultyPhase: linksInFaultyPhase,
      handlerFailures: fleet.failures.length,
      skippedActions: skipped,
      dynamoProxy: proxyCounts,
      stripeStatuses,
      invariantCounts: invariants.counts,
    };
  } catch (error) {
    errors.push(
      `the scenario could not run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  } finally {
    for (const step of cleanup.reverse()) {
      try {
        await step();
      } catch (error) {
        errors.push(`clean-up: ${String(error)}`);
      }
    }
  }

  const base = result ?? {
    seed,
    scenario: describeScenario(scenario),
    faults,
    charges: 0,
    doubleCharges: 0,
    lostRenewals: 0,
    violations: [],
    excusedFenceReversals: [],
    acquisitions: fleet.acquisitions.length,
    fencedOutWrites: fleet.timeline.eventsOf("fenced-out").length,
    cardAttempts: 0,
    unfencedAttempts: 0,
    strayPaymentIntents: 0,
    dueAtStart: 0,
    dueAfterFaults: 0,
    followUps: 0,
    continuationLinks: links.invocations.length,
    continuationLinksInFaultyPhase: 0,
    handlerFailures: fleet.failures.length,
    skippedActions: skipped,
    dynamoProxy: proxy.counts(),
    stripeStatuses: {},
    invariantCounts: null,
  };
  const ok = base.violations.length === 0 && errors.length === 0;
  let report: string | null = null;
  if (settings.outDir !== null && (!ok || settings.reportAlways)) {
    report = join(settings.outDir, `chaos-seed-${seed}.html`);
    await writeSeedReport(report, scenario, base, errors, fleet, ok);
  }
  return { ...base, ok, errors, report, durationMs: Math.round(performance.now() - started) };
}

async function writeSeedReport(
  path: string,
  scenario: Scenario,
  r: Omit<SeedResult, "durationMs" | "report" | "ok" | "errors">,
  errors: readonly string[],
  fleet: Fleet,
  ok: boolean,
): Promise<void> {
  const headline = ok
    ? `seed ${scenario.seed}: every invariant held`
    : `seed ${scenario.seed}: ${r.violations.length} violation(s)${errors.length ? `, ${errors.length} harness error(s)` : ""}`;
  const html = renderReport({
    title: `Chaos seed ${scenario.seed}`,
    timeline: fleet.timeline,
    verdict: { ok, headline },
    facts: [
      ["seed", String(scenario.seed)],
      ["reproduce", `npm run chaos -- --seed ${scenario.seed}`],
      ["scenario", r.scenario],
      ["charges (succeeded at the provider)", String(r.charges)],
      ["due at start / after the faulty phase", `${r.dueAtStart} / ${r.dueAfterFaults}`],
      ["follow-up invocations", String(r.followUps)],
      [
        "continuation links (in the faulty phase)",
        `${r.continuationLinks} (${r.continuationLinksInFaultyPhase})`,
      ],
      ["lease acquisitions", String(r.acquisitions)],
      ["writes refused on a stale fence", String(r.fencedOutWrites)],
      ["card attempts / not the leader's", `${r.cardAttempts} / ${r.unfencedAttempts}`],
      ["stray PaymentIntents at the end", String(r.strayPaymentIntents)],
    ],
    tables: [
      {
        title: "Faults injected",
        columns: ["kind", "count"],
        rows: Object.entries(r.faults).map(([k, v]) => [k, v]),
      },
      {
        title: "Stripe answers during the faulty phase",
        columns: ["status", "requests"],
        rows: Object.entries(r.stripeStatuses).map(([k, v]) => [k, v]),
      },
    ],
    violations: [...r.violations, ...errors],
    notes: [
      ...r.skippedActions.map((s) => `not injected: ${s}`),
      ...r.excusedFenceReversals.map((s) => `fence order: ${s}`),
      ...fleet.failures.map((f) => `${f.contender}: run failed: ${f.error}`),
      `scenario: ${JSON.stringify(scenario)}`,
    ],
    leaseMs: scenario.lease.leaseMs,
  });
  await writeReport(path, html);
}
