/**
 * Counts the items a DynamoDB client's requests touch, the unit DynamoDB Local's ceiling is measured in
 * (bench/dynamo-ceiling.ts): one per Get, Put, Update, Delete and ConditionCheck, one per action of a
 * transaction, one per item a Query or Scan returns (at least one: an empty query is still a request).
 * Only requests that succeed are counted; a cancelled transaction cost DynamoDB Local work too, so the
 * count is a lower bound on what it did. It also adds up how long the requests took (failed ones too),
 * to tell how long the job waited on DynamoDB Local.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export class ItemOperationCounter {
  total = 0;
  requests = 0;
  /** Milliseconds the requests took, added up (they overlap: this is not elapsed time). */
  requestMs = 0;

  snapshot(): { total: number; requests: number; requestMs: number } {
    return { total: this.total, requests: this.requests, requestMs: this.requestMs };
  }

  attach(doc: DynamoDBDocumentClient): this {
    doc.middlewareStack.add(
      (next, context) => async (args) => {
        const began = performance.now();
        let result;
        try {
          result = await next(args);
        } finally {
          this.requests += 1;
          this.requestMs += performance.now() - began;
        }
        this.total += itemsOf(
          String(context.commandName ?? ""),
          args.input as Record<string, unknown>,
          result.output as Record<string, unknown>,
        );
        return result;
      },
      { step: "initialize", name: "benchItemOperationCounter" },
    );
    return this;
  }
}

function itemsOf(command: string, input: Record<string, unknown>, output: Record<string, unknown>): number {
  if (command.startsWith("TransactWrite") || command.startsWith("TransactGet")) {
    return Array.isArray(input.TransactItems) ? input.TransactItems.length : 1;
  }
  if (command.startsWith("Query") || command.startsWith("Scan")) {
    return Math.max(1, typeof output.Count === "number" ? output.Count : 0);
  }
  return 1;
}
