#!/usr/bin/env bash
# Deploys the billing stack to LocalStack (start it first: docker compose -f localstack/docker-compose.yml up -d).
#
#   localstack/deploy.sh [cdk options...]     e.g.  localstack/deploy.sh -c contenders=2
#
# Uses cdklocal (npm aws-cdk-local, pinned below), which points the project's own aws-cdk CLI (the version in
# package-lock.json) at LocalStack. If STRIPE_SECRET_KEY holds a Stripe *test* key, it is put into the
# stack's secret; live keys are refused here. Stack outputs go to cdk.out/localstack-outputs.json.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

ENDPOINT="${LOCALSTACK_ENDPOINT:-http://localhost:4566}"
CDKLOCAL_VERSION="3.0.4"
ACCOUNT="000000000000" # LocalStack's default account
REGION="${AWS_REGION:-us-east-1}"
OUTPUTS="cdk.out/localstack-outputs.json"

if [[ ! -d node_modules/aws-cdk ]]; then
  echo "node_modules is missing: run \`npm ci\` first." >&2
  exit 1
fi

echo "Waiting for LocalStack at $ENDPOINT ..."
for attempt in $(seq 1 60); do
  if curl -fsS "$ENDPOINT/_localstack/health" >/dev/null 2>&1; then break; fi
  if [[ $attempt == 60 ]]; then
    echo "LocalStack is not answering at $ENDPOINT. Start it: docker compose -f localstack/docker-compose.yml up -d" >&2
    exit 1
  fi
  sleep 2
done

# cdklocal loads `aws-cdk` with require(); NODE_PATH makes that the project's pinned CLI rather than
# whatever npx might fetch. AWS_ENVAR_ALLOWLIST keeps the region (cdklocal drops other AWS_* variables
# so that nothing can point it at a real account).
cdklocal() {
  NODE_PATH="$ROOT/node_modules${NODE_PATH:+:$NODE_PATH}" \
    AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION" AWS_ENVAR_ALLOWLIST="AWS_REGION,AWS_DEFAULT_REGION" \
    CDK_DISABLE_CLI_TELEMETRY=true \
    npx --yes "aws-cdk-local@$CDKLOCAL_VERSION" "$@"
}

cdklocal bootstrap "aws://$ACCOUNT/$REGION"
cdklocal deploy --require-approval never --outputs-file "$OUTPUTS" "$@"

if [[ -n "${STRIPE_SECRET_KEY:-}" ]]; then
  if [[ ! "$STRIPE_SECRET_KEY" =~ ^(sk|rk)_test_ ]]; then
    echo "STRIPE_SECRET_KEY is not a Stripe test-mode key (sk_test_...); not putting it into LocalStack." >&2
    exit 1
  fi
  # The SDK from package.json, so no AWS CLI is needed.
  AWS_ENDPOINT_URL="$ENDPOINT" AWS_REGION="$REGION" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
    OUTPUTS="$OUTPUTS" node --input-type=module -e '
      import { readFileSync } from "node:fs";
      import { PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
      const outputs = Object.values(JSON.parse(readFileSync(process.env.OUTPUTS, "utf8")))[0];
      await new SecretsManagerClient({}).send(
        new PutSecretValueCommand({ SecretId: outputs.StripeSecretArn, SecretString: process.env.STRIPE_SECRET_KEY }),
      );
      console.log(`Stripe test key put into ${outputs.StripeSecretArn}`);
    '
else
  echo "STRIPE_SECRET_KEY not set: the stack's Stripe secret is empty, so billing runs will fail until a test key is put in."
fi

echo "Deployed. Outputs: $OUTPUTS. Fire a billing run now with localstack/fire.sh."
