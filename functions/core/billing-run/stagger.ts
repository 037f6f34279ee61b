/**
 * Staggered hand-overs. A run's leaders all start at its tick; were each to stop claiming at its time
 * budget, every shard's chain of continuation links would hand over at the same moment, and for the
 * seconds a hand-over takes (the old leader's last renewals, the next link's start, its lease, its first
 * requests) the whole account budget would idle at once. So in the run's first invocation (link 0) the
 * leader of the k-th of the n shards it bills stops claiming k/n of its claiming window early. Every later
 * link runs its whole window, so the chains stay about a window/n apart: they hand over one at a time,
 * while the other leaders go on sending.
 *
 * Pacing only: stopping early is what every leader does at its time budget (it hands its shard back
 * `partial` and its continuation link goes on), so no safety property depends on it. A leader left with
 * too short a window to settle anything is not staggered: a link that makes no progress ends its chain.
 */

/** The least claiming a stagger may leave a leader: a new leader settles its first renewals within ~2 s. */
export const MIN_STAGGERED_WINDOW_MS = 2_000;

/**
 * How much earlier than its time budget the leader of `shard` stops claiming, in a run's first
 * invocation: `windowMs` (the time it could claim for, from its lease to its stop-claiming margin) times
 * the shard's place among the run's `shards` ÷ their number. 0 for the first shard, for a shard the run
 * does not bill, and for a stagger that would leave under MIN_STAGGERED_WINDOW_MS.
 */
export function handoverStaggerMs(shard: number, shards: readonly number[], windowMs: number): number {
  const place = [...shards].sort((a, b) => a - b).indexOf(shard);
  if (place <= 0 || !(windowMs > 0)) return 0;
  const stagger = Math.floor((windowMs * place) / shards.length);
  return windowMs - stagger >= MIN_STAGGERED_WINDOW_MS ? stagger : 0;
}
