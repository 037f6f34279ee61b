/**
 * Sends a continuation link: an asynchronous Invoke (InvocationType "Event") of this same function, through
 * the AWS SDK. Lambda queues the event and answers 202 at once; the link then runs as its own invocation,
 * at least once (a queued event may be delivered twice, and is retried on throttling for up to the
 * function's maximum event age). LAMBDA_ENDPOINT points the client elsewhere: the local invoke server
 * (dev/lambda-invoke/) or LocalStack.
 *
 * A failure is a value, never an exception: the invocation that sends the link has done its work, and
 * the next schedule tick bills what a lost link would have.
 */
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";

export type InvokeOutcome =
  { readonly sent: true; readonly statusCode: number } | { readonly sent: false; readonly error: string };

/** What the handler needs from an invoker; tests and the local runs reach a real server through it. */
export interface ContinuationInvoker {
  invokeAsync(functionArn: string, payload: unknown, timeoutMs: number): Promise<InvokeOutcome>;
}

export class LambdaInvoker implements ContinuationInvoker {
  private readonly client: LambdaClient;

  constructor(endpoint?: string) {
    this.client = new LambdaClient({
      ...(endpoint && {
        endpoint,
        // A local invoke server or LocalStack accepts any credentials; fixed ones keep real ones out of it.
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
      }),
      region: process.env.AWS_REGION ?? "us-east-1",
      // The SDK's standard retries (3 attempts) ride out a blip; a retried Invoke that had been queued
      // after all is one more delivery of the same link, which the link is built to survive.
      maxAttempts: 3,
    });
  }

  async invokeAsync(functionArn: string, payload: unknown, timeoutMs: number): Promise<InvokeOutcome> {
    try {
      const out = await this.client.send(
        new InvokeCommand({
          FunctionName: functionArn,
          InvocationType: "Event",
          Payload: new TextEncoder().encode(JSON.stringify(payload)),
        }),
        { abortSignal: AbortSignal.timeout(timeoutMs) },
      );
      return { sent: true, statusCode: out.StatusCode ?? 202 };
    } catch (error) {
      return { sent: false, error: describe(error) };
    }
  }
}

/**
 * The function itself, without a version or alias qualifier: what the schedule invokes, and what the
 * stack lets the function invoke (lib/constructs/billing-function.ts).
 */
export function unqualifiedArn(invokedFunctionArn: string): string {
  // arn:partition:lambda:region:account:function:name[:qualifier]
  return invokedFunctionArn.split(":").slice(0, 7).join(":");
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return `${error.name}: ${error.message}${status ? ` (HTTP ${status})` : ""}`.slice(0, 500);
}
