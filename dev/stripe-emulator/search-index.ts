/**
 * Stripe's Search is eventually consistent: new and changed objects show up after an indexing delay
 * (usually under a minute, up to an hour during incidents). The emulator keeps each PaymentIntent's
 * versions with the time they become searchable on the emulator clock, and a search sees, for each
 * PaymentIntent, its latest version that is already visible. The delay defaults to 1 s and is set with
 * the `searchIndexingDelayMs` option; advancing the clock makes the index catch up.
 */
import type { PaymentIntentRecord } from "./records";

interface Version {
  readonly visibleAt: number;
  readonly record: PaymentIntentRecord;
}

export const DEFAULT_SEARCH_INDEXING_DELAY_MS = 1_000;

export class SearchIndex {
  private readonly versions = new Map<string, Version[]>();

  constructor(private readonly delayMs: number) {}

  /** Records a new version of a PaymentIntent, searchable `delayMs` from `now`. */
  record(pi: PaymentIntentRecord, now: number, delayMs = this.delayMs): void {
    const list = this.versions.get(pi.id) ?? [];
    list.push({ visibleAt: now + delayMs, record: structuredClone(pi) });
    // Keep only the newest visible version and those still pending.
    const visible = list.filter((v) => v.visibleAt <= now);
    const keep = visible.length > 1 ? list.slice(list.indexOf(visible[visible.length - 1]!)) : list;
    this.versions.set(pi.id, keep);
  }

  /** What a search at `now` can see. */
  visible(now: number): PaymentIntentRecord[] {
    const out: PaymentIntentRecord[] = [];
    for (const list of this.versions.values()) {
      let latest: Version | undefined;
      for (const version of list) if (version.visibleAt <= now) latest = version;
      if (latest) out.push(latest.record);
    }
    return out;
  }

  clear(): void {
    this.versions.clear();
  }
}
