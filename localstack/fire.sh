#!/usr/bin/env bash
# Starts a billing run on LocalStack now, as the schedule would: N concurrent asynchronous invocations of
# the function with an EventBridge scheduled event for the current minute (the schedule itself fires only
# on its cron).
#
#   localstack/fire.sh [contenders]     (default 3; after localstack/deploy.sh)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

OUTPUTS="cdk.out/localstack-outputs.json"
if [[ ! -f "$OUTPUTS" ]]; then
  echo "$OUTPUTS not found: deploy first with localstack/deploy.sh" >&2
  exit 1
fi

AWS_ENDPOINT_URL="${LOCALSTACK_ENDPOINT:-http://localhost:4566}" AWS_REGION="${AWS_REGION:-us-east-1}" \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test OUTPUTS="$OUTPUTS" CONTENDERS="${1:-3}" \
  node --input-type=module -e '
    import { readFileSync } from "node:fs";
    import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
    const outputs = Object.values(JSON.parse(readFileSync(process.env.OUTPUTS, "utf8")))[0];
    const minute = new Date();
    minute.setUTCSeconds(0, 0);
    // The shape EventBridge delivers; the function reads only `time`.
    const event = {
      version: "0",
      id: crypto.randomUUID(),
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: "000000000000",
      time: minute.toISOString().replace(".000Z", "Z"),
      region: process.env.AWS_REGION,
      resources: [],
      detail: {},
    };
    const lambda = new LambdaClient({});
    const contenders = Number(process.env.CONTENDERS);
    await Promise.all(
      Array.from({ length: contenders }, () =>
        lambda.send(
          new InvokeCommand({
            FunctionName: outputs.FunctionName,
            InvocationType: "Event",
            Payload: JSON.stringify(event),
          }),
        ),
      ),
    );
    console.log(`${contenders} contenders started for ${event.time}; logs: awslocal logs tail --follow on the function log group`);
  '
