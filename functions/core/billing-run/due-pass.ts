/**
 * A shard's due index as one stream of subscription ids for the leader's workers, read a page ahead.
 *
 * Why ahead: a leader that read a page, renewed it to the last renewal, then read the next, left the
 * provider idle while the slowest renewals of each page finished and the next page came back (a drain
 * at 100 requests/s then billed a page of 100 every 2.5-3 s instead of every 2 s). Here the next page is
 * fetched while the workers still have ids in hand, and a worker that takes the last id of a page finds
 * the next one waiting.
 *
 * Why passes: the index may lag writes, and nothing due may be left unattempted. When a pass reaches the
 * end of the index having found something new, another starts from the beginning; the stream ends after
 * a pass that found nothing new. An id is handed out at most once, whatever the passes read again.
 *
 * Pure: it reads through `read` and tells `afterPage` when a page is in (where the leader saves its
 * progress on the lease). A failed read is not lost: the next `next()` or `idle()` throws it.
 */
import type { DuePage } from "./ports";

export type ReadDuePage = (cursor: string | null) => Promise<DuePage>;

export class DuePass {
  private readonly queue: string[] = [];
  /** Every id ever queued: a later pass that reads it again does not queue it again. */
  private readonly known = new Set<string>();
  private cursor: string | null = null;
  private freshInPass = false;
  private ended = false;
  private reading: Promise<void> | null = null;
  private failure: { readonly error: unknown } | null = null;

  /**
   * @param readAheadBelow the next page is fetched as soon as fewer ids than this wait in the queue (the
   *   page size: one page in hand, the next on its way).
   */
  constructor(
    private readonly read: ReadDuePage,
    private readonly readAheadBelow: number,
    private readonly afterPage: () => Promise<void> = async () => undefined,
  ) {}

  /** The next id to renew; null once a whole pass found nothing new and every queued id is handed out. */
  async next(): Promise<string | null> {
    for (;;) {
      this.throwIfFailed();
      this.readAhead();
      const id = this.queue.shift();
      if (id !== undefined) {
        // The id taken may leave the queue short: the next page is asked for now, not when it is empty.
        this.readAhead();
        return id;
      }
      if (this.reading === null) return null;
      await this.reading;
    }
  }

  /** Resolves when no read is in flight (before the leader releases the lease); throws a failed read. */
  async idle(): Promise<void> {
    while (this.reading !== null) await this.reading;
    this.throwIfFailed();
  }

  private readAhead(): void {
    if (this.reading !== null || this.ended || this.failure !== null) return;
    if (this.queue.length >= this.readAheadBelow) return;
    this.reading = this.readPage()
      .catch((error: unknown) => {
        this.failure = { error };
      })
      .finally(() => {
        this.reading = null;
      });
  }

  private async readPage(): Promise<void> {
    const page = await this.read(this.cursor);
    for (const { subscriptionId } of page.items) {
      if (this.known.has(subscriptionId)) continue;
      this.known.add(subscriptionId);
      this.queue.push(subscriptionId);
      this.freshInPass = true;
    }
    this.cursor = page.cursor;
    if (page.cursor === null) {
      // The end of a pass: the last one if it found nothing new, else the next starts from the top.
      this.ended = !this.freshInPass;
      this.freshInPass = false;
    }
    await this.afterPage();
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure.error;
  }
}
