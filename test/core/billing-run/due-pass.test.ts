/**
 * The leader's read-ahead over the due index (functions/core/billing-run/due-pass.ts), against a model of
 * a DynamoDB index: keys in order, a page at a time, the cursor the last key read (so a key written
 * behind the cursor is not seen until the next pass), and writes that land while the pass goes on (the
 * index lags). fast-check's scheduler interleaves the reads, the workers and their renewals.
 *
 * Invariant 5, nothing due left unattempted (as far as the stream goes): every id the index held when the
 * stream's last pass began is handed out, and so is every id any read returned. And no renewal is
 * attempted twice in a run: no id is handed out twice, however often the passes read it.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DuePass } from "../../../functions/core/billing-run/due-pass";
import type { DuePage, DueRef } from "../../../functions/core/billing-run/ports";

/** A due index: sorted keys, pages after a cursor; `lateWrites[k]` lands just before the k-th read. */
class ModelIndex {
  readonly keys = new Set<string>();
  reads = 0;
  inFlight = 0;
  maxInFlight = 0;
  /** The index as it stood when each pass (a read from the top) began. */
  readonly passStarts: string[][] = [];
  /** The ids each pass's reads returned. */
  readonly passReads: string[][] = [];

  constructor(
    initial: readonly string[],
    private readonly pageSize: number,
    private readonly lateWrites: readonly (readonly string[])[],
  ) {
    for (const key of initial) this.keys.add(key);
  }

  page(cursor: string | null): DuePage {
    // Far more than any generated history needs (61 keys, pages of 1 or more): a stream that never ends.
    if (this.reads > 500) throw new Error("more than 500 reads: the stream does not end");
    for (const key of this.lateWrites[this.reads] ?? []) this.keys.add(key);
    this.reads += 1;
    const sorted = [...this.keys].sort();
    if (cursor === null) {
      this.passStarts.push(sorted);
      this.passReads.push([]);
    }
    const after = sorted.filter((key) => cursor === null || key > cursor).slice(0, this.pageSize);
    this.passReads.at(-1)!.push(...after);
    const last = after.at(-1);
    const more = last !== undefined && sorted.some((key) => key > last);
    return { items: ids(...after), cursor: more ? last! : null };
  }
}

const key = fc.integer({ min: 0, max: 60 }).map((n) => `sub_${String(n).padStart(3, "0")}`);

describe("DuePass", () => {
  it("hands out every id at most once, and everything the index held when its last pass began", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.uniqueArray(key, { maxLength: 30 }),
        fc.array(fc.uniqueArray(key, { maxLength: 4 }), { maxLength: 8 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 5 }),
        async (s, initial, lateWrites, pageSize, workers) => {
          const index = new ModelIndex(initial, pageSize, lateWrites);
          const read = async (cursor: string | null) => {
            index.inFlight += 1;
            index.maxInFlight = Math.max(index.maxInFlight, index.inFlight);
            try {
              return await s.schedule(Promise.resolve(), "read").then(() => index.page(cursor));
            } finally {
              index.inFlight -= 1;
            }
          };
          let pagesSaved = 0;
          const pass = new DuePass(read, pageSize, async () => {
            pagesSaved += 1;
          });
          const handedOut: string[] = [];
          const worker = async () => {
            for (let id = await pass.next(); id !== null; id = await pass.next()) {
              handedOut.push(id);
              await s.schedule(Promise.resolve(), `renew ${id}`);
            }
          };
          await s.waitFor(Promise.all(Array.from({ length: workers }, worker)));
          await pass.idle();

          expect(new Set(handedOut).size).toBe(handedOut.length);
          const lastPass = index.passStarts.at(-1) ?? [];
          for (const id of lastPass) expect(handedOut).toContain(id);
          // The stream ended after a pass that found nothing new: late writes met by a pass get another.
          const earlier = new Set(index.passReads.slice(0, -1).flat());
          for (const id of index.passReads.at(-1) ?? []) expect(earlier).toContain(id);
          expect(index.maxInFlight).toBe(1);
          expect(pagesSaved).toBe(index.reads);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("asks for the next page while ids of the current one are still waiting", async () => {
    const pages = new Map<string | null, DuePage>([
      [null, { items: ids("a", "b", "c"), cursor: "c" }],
      ["c", { items: ids("d", "e", "f"), cursor: null }],
    ]);
    const asked: (string | null)[] = [];
    const pass = new DuePass(async (cursor) => {
      asked.push(cursor);
      return pages.get(cursor) ?? { items: [], cursor: null };
    }, 3);

    expect(await pass.next()).toBe("a");
    // Two ids of the first page wait; the second page is already on its way.
    expect(asked).toEqual([null, "c"]);
    const rest = [
      await pass.next(),
      await pass.next(),
      await pass.next(),
      await pass.next(),
      await pass.next(),
    ];
    expect(rest).toEqual(["b", "c", "d", "e", "f"]);
    // The first pass found something new: a second pass reads from the top, finds nothing new, ends.
    expect(await pass.next()).toBeNull();
    expect(asked).toEqual([null, "c", null, "c"]);
  });

  it("ends after one read of an empty index", async () => {
    let reads = 0;
    const pass = new DuePass(async () => {
      reads += 1;
      return { items: [], cursor: null };
    }, 10);
    expect(await pass.next()).toBeNull();
    expect(await pass.next()).toBeNull();
    expect(reads).toBe(1);
  });

  it("throws a read-ahead that failed to the next caller, and idle() throws it too", async () => {
    let reads = 0;
    const failure = new Error("ProvisionedThroughputExceededException");
    const pass = new DuePass(async () => {
      reads += 1;
      if (reads === 2) throw failure;
      return { items: ids("a", "b"), cursor: "b" };
    }, 5);
    expect(await pass.next()).toBe("a");
    // "a" was taken with the second read already failing in the background: nothing is lost.
    await expect(pass.idle()).rejects.toBe(failure);
    await expect(pass.next()).rejects.toBe(failure);
    expect(reads).toBe(2);
  });
});

/** Index entries; the leader reads only the id (the renewal reads the subscription again). */
function ids(...subscriptionIds: string[]): DueRef[] {
  return subscriptionIds.map((subscriptionId) => ({
    subscriptionId,
    nextAttemptAt: "2026-11-01T00:00:00.000Z",
  }));
}
