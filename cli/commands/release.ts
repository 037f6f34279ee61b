/**
 * `ops release --force KEY`: breaks a stuck lease through LeaseClient.forceRelease, which raises the fence
 * on both records in one transaction. The old holder's token no longer matches the lease record, so its
 * renewals, release and every fenced write are rejected by DynamoDB; the next contender takes the lease at
 * once and resumes from the checkpoint. Without --force it only explains.
 */
import { shardLeaseKey, validateLeaseKey } from "../../functions/core/lease/lease";
import { InvalidInputError } from "../../functions/core/input-error";
import { booleanFlag, stringFlag, UsageError } from "../args";
import type { Context } from "../context";
import { relative } from "../format";
import { collectStatus } from "./status";

export async function release(ctx: Context, positionals: readonly string[]): Promise<number> {
  const [raw, extra] = positionals;
  if (raw === undefined) {
    throw new UsageError("release needs a lease KEY, e.g. ops release --force billing/shard-0 (or just 0)");
  }
  if (extra !== undefined) throw new UsageError(`release takes one lease KEY, got "${raw}" and "${extra}"`);
  const leaseKey = /^\d+$/.test(raw) ? shardLeaseKey(Number(raw)) : raw;
  try {
    validateLeaseKey(leaseKey);
  } catch (error) {
    if (error instanceof InvalidInputError) throw new UsageError(`KEY "${raw}": ${error.message}`);
    throw error;
  }
  const by = stringFlag(ctx.flags, "by") ?? ctx.operator();

  const lease = await ctx.leaseClient();
  const before = await lease.inspect(leaseKey);
  if (before.lease === null && before.fenceRecord === 0) {
    const known = (await collectStatus(ctx)).leases
      .filter((l) => l.state !== "never acquired")
      .map((l) => l.leaseKey);
    throw new UsageError(
      `unknown lease key "${leaseKey}": it was never acquired in this table` +
        (known.length > 0 ? ` (known keys: ${known.join(", ")})` : " (no lease was ever acquired here)"),
    );
  }
  const now = ctx.now();
  const owner = before.lease?.owner ?? null;
  const expiresAt = before.lease?.expiresAt ?? 0;
  const live = owner !== null && expiresAt > now;
  const holderText =
    owner === null
      ? "nobody holds it"
      : `held by ${owner} with fence ${before.lease?.fence}, ${live ? "expiring" : "expired"} ${relative(expiresAt, now)}`;

  if (!booleanFlag(ctx.flags, "force")) {
    throw new UsageError(
      [
        `refusing to release ${leaseKey} without --force (${holderText}).`,
        "A forced release raises the fence: the holder's renewals and writes are rejected from then on, and the",
        "next run takes the lease and resumes from the checkpoint. Do it only when the holder is stuck or gone",
        `(docs/runbook.md "Stuck lease"): ops release --force ${leaseKey}`,
      ].join("\n"),
    );
  }

  const { previous, fence } = await lease.forceRelease(leaseKey, by);
  const oldOwner = previous.lease?.owner ?? null;
  const oldFence = previous.lease?.fence ?? previous.fenceRecord;
  const result = {
    leaseKey,
    released: true,
    by,
    oldHolder: oldOwner,
    oldHolderLive: oldOwner !== null && (previous.lease?.expiresAt ?? 0) > now,
    oldFence,
    newFence: fence,
  };
  if (ctx.json) {
    ctx.io.stdout(JSON.stringify(result, null, 2));
    return 0;
  }
  ctx.io.stdout(
    [
      `Released ${leaseKey} by force (as ${by}).`,
      `  old holder: ${oldOwner ?? "none"}${oldOwner ? (result.oldHolderLive ? " (was live)" : " (had expired)") : ""}`,
      `  old fence:  ${oldFence}`,
      `  new fence:  ${fence}`,
      oldOwner
        ? `${oldOwner} is fenced out: its renewals and fenced writes are now rejected by DynamoDB.`
        : "Nobody held it; the fence was raised anyway.",
      "The next run (scheduled, or ops rerun) takes the lease and resumes from the checkpoint.",
    ].join("\n"),
  );
  return 0;
}
