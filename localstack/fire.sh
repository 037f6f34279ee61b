#!/usr/bin/env bash
# The whole billing path against the stack deployed to LocalStack (after localstack/deploy.sh): seeds due
# subscriptions where the function bills (the Stripe emulator by default), invokes the function several
# times at once with one scheduled event, as the schedule's EventBridge targets would, and checks every
# invariant from LocalStack's tables and the provider's record. Exit 0 when all hold.
#
#   localstack/fire.sh [contenders] [--contenders N] [--subscriptions N]     (--help for more)
#
# The schedule itself also fires the function, on its cron; this starts a run now.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

if [[ ! -d node_modules/tsx ]]; then
  echo "fire.sh: node_modules is missing: run \`npm ci\` first." >&2
  exit 1
fi

exec npx --no-install tsx localstack/fire.ts "$@"
