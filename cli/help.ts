/** The --help texts. Kept next to each other so they stay in step with docs/runbook.md. */
import type { Command } from "./args";
import { PROGRESS_EVERY_ROWS } from "./commands/subscriptions";

const WHERE = `Where it acts (every command):
  Against AWS (the usual credentials: AWS_PROFILE, SSO, keys; region from --region, AWS_REGION or the profile):
    --function NAME          the deployed billing function (or BILLING_FUNCTION_NAME). The CLI reads the
                             table names, SHARD_COUNT and STRIPE_SECRET_ARN from its environment
    --leases-table NAME      or LEASE_TABLE_NAME          (each overrides the function's)
    --subscriptions-table N  or SUBSCRIPTIONS_TABLE_NAME
    --charges-table NAME     or CHARGES_TABLE_NAME
    --region REGION
  Against the local stack:
    --endpoint URL           DynamoDB Local, e.g. http://127.0.0.1:8000 (or DYNAMODB_ENDPOINT);
                             table names default to Leases, Subscriptions, Charges
    --stripe-host HOST --stripe-port PORT --stripe-protocol http|https
                             the Stripe emulator (or STRIPE_API_HOST/PORT/PROTOCOL)
  Stripe key (reconcile, resolve-in-doubt, rerun --local --execute): STRIPE_SECRET_KEY, or
    --stripe-secret-arn ARN (or STRIPE_SECRET_ARN, or the function's secret)
  --shard-count N            shards (or SHARD_COUNT, or the function's; default 1)
  --json                     machine-readable output

Exit codes: 0 done and all well; 1 done but something needs attention (mismatches, charges still in
doubt, the function failed) or a runtime error; 2 usage or configuration error, nothing was done.`;

const GENERAL = `ops: operate the lease-billing job

Usage: npm run ops -- <command> [flags]

Commands:
  status [--list STATE]      leases (holder, fence, expiry, last run, checkpoint) and counts: due now,
                             pending, in doubt, declined, needs customer action, quarantined; or the
                             records in one state
  release --force KEY        break a stuck lease (KEY: billing/shard-N or N); fences the old holder out
  reconcile --from ISO [--to ISO]
                             the ledger's succeeded charges against Stripe's, both ways; exit 1 on mismatch
  resolve-in-doubt           settle charges whose Stripe outcome is unknown, under the shard's lease
  rerun                      run the billing job now (deployed function, or --local); dry run by default
  subscriptions import FILE  load subscriptions from CSV or JSON Lines; dry run by default
  subscriptions get ID       one subscription, and whether the next run bills it
  subscriptions cancel ID    cancel one (dry run by default; refused while a charge is in flight)
  help [COMMAND]             this text, or a command's

${WHERE}

Runbook: docs/runbook.md`;

const BY_COMMAND: Record<Exclude<Command, "help">, string> = {
  status: `Usage: ops status [--json]
       ops status --list STATE [--limit N] [--json]

Each lease: state (held, expired, free, never acquired), holder, fence, expiry, the last run's outcome and
counts, and the checkpoint of the run in hand. Then counts from the indexes (no table scans):
due now (subscriptions due index), pending, in doubt, declined with a retry scheduled, declined with no
retries left, needs customer action, quarantined (charges attention index).
--list STATE lists the charge records in one state (pending, in_doubt, declined, needs_customer_action,
quarantined), oldest claim first, with the reason; --limit N (default 50).`,
  release: `Usage: ops release --force KEY [--by NAME]

KEY is a lease key (billing/shard-0) or a shard number (0). Breaks the lease with LeaseClient.forceRelease:
the fence is raised in the same write, so the old holder's renewals and fenced writes are rejected by
DynamoDB from then on; the next run takes the lease at once and resumes from the checkpoint.
Without --force it shows the holder and refuses (exit 2). --by names you in the lease's forcedBy
(default ops-cli/USER@HOST).`,
  reconcile: `Usage: ops reconcile --from ISO [--to ISO] [--json]

Compares the ledger's succeeded charges (settled in the window) with Stripe's succeeded PaymentIntents
(created in the window, metadata subscription_id/period_start), both ways; anything unmatched is looked up
on the other side by key before it is reported. Mismatch kinds: missing-at-stripe, not-succeeded-at-stripe,
missing-in-ledger, ledger-not-succeeded, other-payment-intent, amount-differs, currency-differs, refunded,
metadata-differs, duplicate-in-ledger. Exit 1 if there is any.
Dates: 2026-11-01 (midnight UTC) or 2026-11-01T00:00:00Z (a time zone is required). --to defaults to now.`,
  "resolve-in-doubt": `Usage: ops resolve-in-doubt [--subscription ID ...] [--wait SECONDS] [--dry-run] [--json]

Finds the in-doubt charges (attention index), then runs the billing run restricted to those subscriptions:
it takes each shard's lease like any invocation (standing by while a live run holds it), retrieves each
PaymentIntent and settles the record with fenced writes. It gives up after --wait seconds in all (default
120, standing by included). One period per subscription: nothing beyond the in-doubt period is billed.
Reports what each became; exit 1 if any is still in doubt. --dry-run only asks Stripe and says what each
would become.`,
  subscriptions: `Usage: ops subscriptions import FILE [--execute] [--format csv|jsonl] [--concurrency N] [--json]
       ops subscriptions get ID [--json]
       ops subscriptions cancel ID [--execute] [--json]

import loads subscriptions from a CSV file (a header naming the fields) or JSON Lines (one object a line),
read as a stream, through the subscription client: each row is checked with the billing run's own rules,
its index fields computed, and it is created with a conditional write. The fields, and what each means:
docs/subscriptions.md (and schema/subscription-input.schema.json). Dry run unless --execute: the same
reads and checks, nothing written.
  - every bad row is reported by line and field, and nothing is written for it (the others are loaded);
    an id given twice is refused from its second line on;
  - safe to run again: a row whose id is stored already is left as it is, reported if it differs (the
    import never changes or deletes a stored subscription);
  - a progress line on stderr every ${PROGRESS_EVERY_ROWS} rows; DynamoDB throttling is waited out with backoff;
  - --format when the file name does not end in .csv or .jsonl; --concurrency N writes in flight (8).
  Exit 1 when a row was bad or differs from what is stored.
New subscriptions go to shards below --shard-count (or SHARD_COUNT, or the function's; default 1).

get prints the stored record and what a run now would do with it (due, not due and why, or the reason it
would be quarantined). Exit 1 if there is no such subscription or it would be quarantined.

cancel takes the subscription out of billing for good (status canceled, out of the due index), with the
client's conditional write: refused while a charge for it is in flight (pending or in doubt), exit 1.
Dry run unless --execute.`,
  rerun: `Usage: ops rerun [--as-of ISO] [--subscription ID ...] [--max-charges N] [--shard N ...]
                 [--reason TEXT] [--execute | --no-dry-run] [--local [--wait SECONDS]] [--json]

Builds a rerun event ({"action":"rerun", ...}), validates it with the function's own parser, and invokes
the deployed function (--function NAME or BILLING_FUNCTION_NAME; Lambda Invoke, request-response).
Dry run unless --execute (or --no-dry-run): a dry run reports what would be charged and changes nothing.
--local runs the handler in this process against --endpoint and the Stripe emulator instead, with
--wait SECONDS as the invocation's time budget (default 300). Exit 1 if a shard the run led did not
finish (charges left in doubt, out of time, lease lost).`,
};

export function helpText(command: Command | null): string {
  if (command === null || command === "help") return GENERAL;
  return `${BY_COMMAND[command]}\n\n${WHERE}`;
}
