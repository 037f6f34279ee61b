/**
 * The heartbeat (functions/core/billing-run/heartbeat.ts) over a real LeaseClient, a ManualClock and an
 * in-memory LeaseStore. ManualClock's sleep moves the clock at once, so the loop would beat without pause;
 * instead every renewal waits at the store until the test lets it through (`pass`) or makes it throw
 * (`fail`), and only then does the store decide it, by the same condition as DynamoDB's: the record still
 * names this owner with this fence. So each beat is seen alone, at the clock reading it was sent at.
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../functions/core/clock";
import { Heartbeat } from "../../../functions/core/billing-run/heartbeat";
import { LeaseClient } from "../../../functions/core/lease/lease-client";
import type { AcquireAttempt, LeaseStore } from "../../../functions/core/lease/lease-store";
import type { HeldLease, LeaseRecord, LeaseSnapshot, LeaseToken } from "../../../functions/core/lease/lease";

const T0 = 1_000_000;
/** Not the default interval (5 s), so the beat is seen to follow the client's timings. */
const TIMINGS = { leaseDurationMs: 20_000, renewIntervalMs: 4_000, safetyMarginMs: 10_000 };
const KEY = "billing/shard-0";

/** One renewal that reached the store: when, for whom, to what expiry, and how the store decided it. */
class RenewCall {
  outcome: "waiting" | "renewed" | "refused" | "threw" = "waiting";
  private decide!: (error: Error | null) => void;
  readonly decided = new Promise<Error | null>((resolve) => (this.decide = resolve));
  constructor(
    readonly at: number,
    readonly token: LeaseToken,
    readonly expiresAt: number,
  ) {}
  pass(): void {
    this.decide(null);
  }
  fail(error: Error): void {
    this.decide(error);
  }
}

/** One lease key in memory; the conditions mirror functions/aws/dynamo-lease-store.ts. */
class GatedLeaseStore implements LeaseStore {
  private lease: LeaseRecord | null = null;
  private fenceRecord = 0;
  readonly renewals: RenewCall[] = [];
  private readonly waiters: { index: number; resolve: (call: RenewCall) => void }[] = [];

  /** `clock` only stamps when each renewal arrived. */
  constructor(private readonly clock: ManualClock) {}

  /** The `index`th renewal (from 0), once it has reached the store. */
  arrival(index: number): Promise<RenewCall> {
    const call = this.renewals[index];
    return call ? Promise.resolve(call) : new Promise((resolve) => this.waiters.push({ index, resolve }));
  }

  /** Lets every renewal still waiting through. */
  passWaiting(): void {
    for (const call of this.renewals) if (call.outcome === "waiting") call.pass();
  }

  async read(): Promise<LeaseSnapshot> {
    return { lease: this.lease, fenceRecord: this.fenceRecord };
  }

  async tryAcquire(a: AcquireAttempt): Promise<boolean> {
    if (this.fenceRecord !== a.seenFenceRecord || a.fence <= a.seenFenceRecord) return false;
    const held = this.lease;
    const seen = a.seenHolder;
    const free =
      held === null ||
      held.owner === null ||
      held.owner === a.owner ||
      (seen !== null &&
        held.owner === seen.owner &&
        held.fence === seen.fence &&
        held.expiresAt === seen.expiresAt);
    if (!free) return false;
    this.fenceRecord = a.fence;
    this.lease = { leaseKey: a.leaseKey, owner: a.owner, fence: a.fence, expiresAt: a.expiresAt };
    return true;
  }

  async renew(token: LeaseToken, expiresAt: number): Promise<boolean> {
    const call = new RenewCall(this.clock.now(), token, expiresAt);
    this.renewals.push(call);
    for (const waiter of this.waiters.filter((w) => w.index < this.renewals.length)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(this.renewals[waiter.index]!);
    }
    const error = await call.decided;
    if (error) {
      call.outcome = "threw";
      throw error;
    }
    const held = this.lease;
    if (held === null || held.owner !== token.owner || held.fence !== token.fence) {
      call.outcome = "refused";
      return false;
    }
    this.lease = { ...held, expiresAt };
    call.outcome = "renewed";
    return true;
  }

  release(): Promise<boolean> {
    return unused("release");
  }
  saveCheckpoint(): Promise<boolean> {
    return unused("saveCheckpoint");
  }
  saveSweep(): Promise<boolean> {
    return unused("saveSweep");
  }
  listLeaseKeys(): Promise<string[]> {
    return unused("listLeaseKeys");
  }
  forceRelease(): Promise<boolean> {
    return unused("forceRelease");
  }
}

function unused(method: string): never {
  throw new Error(`the heartbeat should not call LeaseStore.${method}`);
}

/** Lets every pending promise chain run: renewals waiting at the store are the only thing that waits. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A leader holding KEY with fence 1 since T0; `beat()` starts its heartbeat. */
async function leader() {
  const clock = new ManualClock(T0);
  const store = new GatedLeaseStore(clock);
  const client = new LeaseClient(store, clock, TIMINGS);
  const acquired = await client.acquire(KEY, "leader");
  if (acquired.kind !== "acquired") throw new Error(`expected to acquire, got ${acquired.kind}`);
  const lost: HeldLease[] = [];
  const renewed: HeldLease[] = [];
  return {
    clock,
    store,
    lease: acquired.lease,
    lost,
    renewed,
    beat: () =>
      new Heartbeat(
        client,
        clock,
        acquired.lease,
        (lease) => lost.push(lease),
        (lease) => renewed.push(lease),
      ),
  };
}

/**
 * A standby on its own clock sees the leader's record unchanged for a whole lease (its renewal is stuck)
 * and takes the lease over with fence 2: the leader's next renewal that lands is refused.
 */
async function takeOver(store: GatedLeaseStore): Promise<void> {
  const clock = new ManualClock(T0 + 50_000);
  const standby = new LeaseClient(store, clock, TIMINGS);
  expect((await standby.acquire(KEY, "standby")).kind).toBe("held");
  clock.advance(TIMINGS.leaseDurationMs);
  expect(await standby.acquire(KEY, "standby")).toMatchObject({ kind: "acquired", lease: { fence: 2 } });
}

/** Stops the heartbeat, letting the beat it may be waiting on finish. */
async function stop(heartbeat: Heartbeat, store: GatedLeaseStore): Promise<void> {
  const stopped = heartbeat.stop();
  store.passWaiting();
  await stopped;
}

describe("Heartbeat", { timeout: 10_000 }, () => {
  it("renews every renewIntervalMs, each time for a whole lease from then, keeping owner and fence", async () => {
    const { store, lease, renewed, lost, beat } = await leader();
    const heartbeat = beat();
    for (let i = 0; i < 3; i++) (await store.arrival(i)).pass();
    await store.arrival(3); // the fourth beat waits at the store

    expect(store.renewals.map((call) => call.at - T0)).toEqual([4_000, 8_000, 12_000, 16_000]);
    expect(store.renewals.map((call) => call.expiresAt - call.at)).toEqual([20_000, 20_000, 20_000, 20_000]);
    for (const call of store.renewals) {
      expect(call.token).toMatchObject({ leaseKey: KEY, owner: "leader", fence: lease.fence });
    }
    expect(store.renewals.map((call) => call.outcome)).toEqual(["renewed", "renewed", "renewed", "waiting"]);
    expect(renewed.map((held) => held.expiresAt - T0)).toEqual([24_000, 28_000, 32_000]);
    expect(heartbeat.current).toEqual({ ...lease, expiresAt: T0 + 32_000 });
    expect((await store.read()).lease?.expiresAt).toBe(T0 + 32_000);
    expect(heartbeat.lost).toBe(false);
    expect(lost).toEqual([]);
    await stop(heartbeat, store);
  });

  it("reports `lost` after the first refused renewal, once, and renews no more", async () => {
    const { store, lease, renewed, lost, beat } = await leader();
    const heartbeat = beat();
    (await store.arrival(0)).pass();
    const stuck = await store.arrival(1); // sent at T0 + 8 s, and stuck
    await takeOver(store);
    expect(heartbeat.lost).toBe(false); // nothing has told it yet

    stuck.pass();
    await settle();
    expect(stuck.outcome).toBe("refused");
    expect(heartbeat.lost).toBe(true);
    expect(lost).toEqual([{ ...lease, expiresAt: T0 + 24_000 }]); // the lease as last held
    expect(heartbeat.current).toEqual(lost[0]);
    expect(renewed).toHaveLength(1);

    await settle();
    expect(store.renewals).toHaveLength(2); // the loop ended: no beat after the refusal
    expect(await heartbeat.renewNow()).toBe(false);
    expect(store.renewals).toHaveLength(2); // nor does renewNow ask the store again
    await heartbeat.stop();
    expect(lost).toHaveLength(1);
    expect((await store.read()).lease).toMatchObject({ owner: "standby", fence: 2 });
  });

  it("renewNow renews at once, from the clock's reading, without waiting for the next beat", async () => {
    const { clock, store, lease, renewed, beat } = await leader();
    const heartbeat = beat();
    const pendingBeat = await store.arrival(0); // sent at T0 + 4 s; waits at the store
    clock.advance(1_500);
    const renewing = heartbeat.renewNow();
    const urgent = await store.arrival(1);
    expect(urgent.at).toBe(T0 + 5_500);
    urgent.pass();

    expect(await renewing).toBe(true);
    expect(pendingBeat.outcome).toBe("waiting");
    expect(heartbeat.current).toEqual({ ...lease, expiresAt: T0 + 25_500 });
    expect(renewed).toEqual([heartbeat.current]);
    expect((await store.read()).lease?.expiresAt).toBe(T0 + 25_500);
    await stop(heartbeat, store);
  });

  it("renewNow that is refused is the loss: false, `lost`, onLost once, and the loop stops", async () => {
    const { store, lease, lost, beat } = await leader();
    const heartbeat = beat();
    const pendingBeat = await store.arrival(0);
    await takeOver(store);
    const renewing = heartbeat.renewNow();
    (await store.arrival(1)).pass();

    expect(await renewing).toBe(false);
    expect(heartbeat.lost).toBe(true);
    expect(lost).toEqual([lease]);
    pendingBeat.pass(); // the beat in flight is refused too, but the loss is reported only once
    await settle();
    expect(pendingBeat.outcome).toBe("refused");
    expect(lost).toHaveLength(1);
    expect(store.renewals).toHaveLength(2);
    await heartbeat.stop();
  });

  it("takes a transient error for no loss: the lease stands as it was and the next beat renews it", async () => {
    const { store, lease, renewed, lost, beat } = await leader();
    const heartbeat = beat();
    const throttled = new Error("ProvisionedThroughputExceededException");

    const firstBeat = await store.arrival(0);
    const renewing = heartbeat.renewNow();
    (await store.arrival(1)).fail(throttled);
    expect(await renewing).toBe(true);
    firstBeat.fail(throttled);
    await settle();

    expect(store.renewals.map((call) => call.outcome)).toEqual(["threw", "threw", "waiting"]);
    expect(heartbeat.lost).toBe(false);
    expect(lost).toEqual([]);
    expect(renewed).toEqual([]);
    expect(heartbeat.current).toEqual(lease); // no renewal: safe time shrinks on its own

    const next = await store.arrival(2);
    expect(next.at).toBe(T0 + 8_000); // the loop kept its rhythm
    next.pass();
    await settle();
    expect(heartbeat.current).toEqual({ ...lease, expiresAt: T0 + 28_000 });
    expect(renewed).toEqual([heartbeat.current]);
    await stop(heartbeat, store);
  });

  it("stop() ends the loop: the beat in flight finishes, no other is sent", async () => {
    const { store, lost, beat } = await leader();
    const heartbeat = beat();
    (await store.arrival(0)).pass();
    const inFlight = await store.arrival(1);

    const stopped = heartbeat.stop();
    inFlight.pass();
    await stopped;
    expect(inFlight.outcome).toBe("renewed");
    await settle();
    expect(store.renewals).toHaveLength(2);
    expect(heartbeat.lost).toBe(false);
    expect(lost).toEqual([]);
  });

  it("stop() before the first beat sends no renewal at all", async () => {
    const { store, lease, beat } = await leader();
    const heartbeat = beat();
    await heartbeat.stop();
    await settle();
    expect(store.renewals).toEqual([]);
    expect(heartbeat.current).toEqual(lease);
    expect(heartbeat.lost).toBe(false);
  });
});
