#!/usr/bin/env bash
# Deploys the billing stack to LocalStack. Start LocalStack and the Stripe emulator first:
#   docker compose -f localstack/docker-compose.yml up -d --wait
#
#   localstack/deploy.sh [--stripe emulator|test] [cdk options...]     e.g.  localstack/deploy.sh -c contenders=2
#
# Where the deployed function bills:
#   emulator  the compose file's Stripe emulator; the default when STRIPE_SECRET_KEY is unset. The function
#             calls http://stripe-emulator:12111 on the compose network (CDK context stripeApiHost/Port/
#             Protocol, allowed over plain http only because this deployment is marked local), and the
#             stack's secret gets a placeholder test key: the emulator takes any sk_test_ key. Nothing
#             leaves the machine.
#   test      Stripe's test mode; the default when STRIPE_SECRET_KEY is set, which must hold a test key
#             (sk_test_ or rk_test_; live keys are refused). The function calls api.stripe.com with it.
#
#   localstack/deploy.sh [--stripe ...] --print-context
# prints the CDK context the deployment would use, one key=value a line, and exits without deploying
# (test/infra/localstack.test.ts synthesizes the stack with it).
#
# Uses cdklocal (npm aws-cdk-local, pinned below), which points the project's own aws-cdk CLI (the version in
# package-lock.json) at LocalStack. Stack outputs go to cdk.out/localstack-outputs.json.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

ENDPOINT="${LOCALSTACK_ENDPOINT:-http://localhost:4566}"
# The emulator as this machine reaches it (the compose file publishes its port here).
EMULATOR_URL="${STRIPE_EMULATOR_URL:-http://127.0.0.1:12111}"
# The emulator as the function reaches it: its compose service name and port, on the compose network.
EMULATOR_HOST="stripe-emulator"
EMULATOR_PORT="12111"
# The emulator takes any test key; this one only has to look like one.
EMULATOR_KEY="sk_test_localstack_emulator"
CDKLOCAL_VERSION="3.0.4"
ACCOUNT="000000000000" # LocalStack's default account
REGION="${AWS_REGION:-us-east-1}"
OUTPUTS="cdk.out/localstack-outputs.json"

fail() {
  echo "deploy.sh: $*" >&2
  exit 1
}

MODE=""
PRINT_CONTEXT=false
CDK_ARGS=()
while (($# > 0)); do
  case "$1" in
    --stripe)
      (($# >= 2)) || fail "--stripe needs a value: emulator or test"
      MODE="$2"
      shift 2
      ;;
    --stripe=*)
      MODE="${1#--stripe=}"
      shift
      ;;
    --print-context)
      PRINT_CONTEXT=true
      shift
      ;;
    *)
      CDK_ARGS+=("$1")
      shift
      ;;
  esac
done

if [[ -z "$MODE" ]]; then
  if [[ -n "${STRIPE_SECRET_KEY:-}" ]]; then MODE="test"; else MODE="emulator"; fi
fi

# `local=true` marks a deployment to LocalStack: the only kind in which the stack accepts plain http to Stripe.
CONTEXT=("local=true")
case "$MODE" in
  emulator)
    CONTEXT+=("stripeApiHost=$EMULATOR_HOST" "stripeApiPort=$EMULATOR_PORT" "stripeApiProtocol=http")
    SECRET_VALUE="$EMULATOR_KEY"
    WHERE="the Stripe emulator (http://$EMULATOR_HOST:$EMULATOR_PORT from the function, $EMULATOR_URL from here)"
    if [[ -n "${STRIPE_SECRET_KEY:-}" ]]; then
      echo "deploy.sh: --stripe emulator: STRIPE_SECRET_KEY is not used." >&2
    fi
    ;;
  test)
    if [[ ! "${STRIPE_SECRET_KEY:-}" =~ ^(sk|rk)_test_ ]]; then
      fail "Stripe test mode needs a test-mode key (sk_test_... or rk_test_...) in STRIPE_SECRET_KEY; live keys are refused here."
    fi
    SECRET_VALUE="$STRIPE_SECRET_KEY"
    WHERE="Stripe's test mode (api.stripe.com, with the key in STRIPE_SECRET_KEY)"
    ;;
  *)
    fail "--stripe must be emulator or test, got \"$MODE\""
    ;;
esac

if [[ "$PRINT_CONTEXT" == true ]]; then
  printf '%s\n' "${CONTEXT[@]}"
  exit 0
fi

echo "Deploying to LocalStack at $ENDPOINT; the function will bill $WHERE."

if [[ ! -d node_modules/aws-cdk ]]; then
  fail "node_modules is missing: run \`npm ci\` first."
fi

# wait_for NAME URL HINT: polls URL for up to two minutes.
wait_for() {
  echo "Waiting for $1 at $2 ..."
  local attempt
  for attempt in $(seq 1 60); do
    if curl -fsS "$2" >/dev/null 2>&1; then return 0; fi
    if [[ $attempt == 60 ]]; then fail "$1 is not answering at $2. $3"; fi
    sleep 2
  done
}

START_HINT="Start it: docker compose -f localstack/docker-compose.yml up -d --wait"
wait_for LocalStack "$ENDPOINT/_localstack/health" "$START_HINT"
if [[ "$MODE" == emulator ]]; then
  wait_for "The Stripe emulator" "$EMULATOR_URL/__emulator/held" "$START_HINT"
fi

# cdklocal loads `aws-cdk` with require(); NODE_PATH makes that the project's pinned CLI rather than
# whatever npx might fetch. AWS_ENVAR_ALLOWLIST keeps the region (cdklocal drops other AWS_* variables
# so that nothing can point it at a real account).
cdklocal() {
  NODE_PATH="$ROOT/node_modules${NODE_PATH:+:$NODE_PATH}" \
    AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION" AWS_ENVAR_ALLOWLIST="AWS_REGION,AWS_DEFAULT_REGION" \
    CDK_DISABLE_CLI_TELEMETRY=true \
    npx --yes "aws-cdk-local@$CDKLOCAL_VERSION" "$@"
}

CONTEXT_ARGS=()
for pair in "${CONTEXT[@]}"; do CONTEXT_ARGS+=(-c "$pair"); done

cdklocal bootstrap "aws://$ACCOUNT/$REGION"
# ${CDK_ARGS[@]+...}: an empty array is "unbound" under `set -u` in the bash 3.2 that macOS ships.
cdklocal deploy --require-approval never --outputs-file "$OUTPUTS" "${CONTEXT_ARGS[@]}" \
  ${CDK_ARGS[@]+"${CDK_ARGS[@]}"}

# The SDK from package.json, so no AWS CLI is needed. (The script is JavaScript in single quotes: its
# ${...} are the template literal's, not the shell's.)
# shellcheck disable=SC2016
AWS_ENDPOINT_URL="$ENDPOINT" AWS_REGION="$REGION" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
  OUTPUTS="$OUTPUTS" SECRET_VALUE="$SECRET_VALUE" node --input-type=module -e '
    import { readFileSync } from "node:fs";
    import { PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
    const outputs = Object.values(JSON.parse(readFileSync(process.env.OUTPUTS, "utf8")))[0];
    await new SecretsManagerClient({}).send(
      new PutSecretValueCommand({ SecretId: outputs.StripeSecretArn, SecretString: process.env.SECRET_VALUE }),
    );
    console.log(`Stripe key put into ${outputs.StripeSecretArn}`);
  '

echo "Deployed; the function bills $WHERE. Outputs: $OUTPUTS."
echo "Run the whole path now (seed, several contenders at once, every invariant checked): localstack/fire.sh"
