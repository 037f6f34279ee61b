/**
 * The Lambda context the handler gets when it is invoked outside Lambda: by `npm start`'s contender
 * processes, the ops CLI's local rerun and the handler tests. One builder, so they all hand the handler
 * the same fields the runtime fills in; only the name, the request id and the deadline differ.
 */
import type { Context } from "aws-lambda";

export interface LocalInvocation {
  readonly functionName: string;
  readonly requestId: string;
  /** Milliseconds left before the invocation's timeout, as the runtime counts them. */
  readonly remainingMs: () => number;
}

export function localLambdaContext(invocation: LocalInvocation): Context {
  const { functionName, requestId } = invocation;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: "512",
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${requestId}`,
    getRemainingTimeInMillis: invocation.remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
