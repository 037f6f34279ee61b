/**
 * The DynamoDB document client the adapters share, and a meter for the capacity they consume.
 */
import { DynamoDBClient, type ConsumedCapacity } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { UnreadableNumber } from "../core/billing/subscription";

export interface DynamoConfig {
  /** Set for DynamoDB Local or LocalStack; unset on AWS. */
  readonly endpoint?: string;
  readonly region?: string;
  readonly maxAttempts?: number;
}

export function createDocumentClient(config: DynamoConfig = {}): DynamoDBDocumentClient {
  return documentClient(createDynamoClient(config));
}

/**
 * The low-level client under createDocumentClient, for a caller that must also close it: the document
 * client's own destroy() leaves the client it wraps open.
 */
export function createDynamoClient(config: DynamoConfig = {}): DynamoDBClient {
  const local = config.endpoint !== undefined;
  return new DynamoDBClient({
    ...(local && {
      endpoint: config.endpoint,
      // DynamoDB Local accepts any credentials; fixed ones keep a developer's real ones out of it.
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    }),
    region: config.region ?? process.env.AWS_REGION ?? "us-east-1",
    maxAttempts: config.maxAttempts ?? 5,
  });
}

/** The adapters' document client over `client`: how items are written and how numbers are read back. */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: readNumber },
  });
}

/**
 * How every number read from DynamoDB is turned into JavaScript: exactly, or as an UnreadableNumber.
 * The SDK's default throws on a number beyond 2^53, which would make one hand-edited attribute fail
 * every read of its item, and with it every run; this way validation names the field instead.
 */
export function readNumber(digits: string): number | UnreadableNumber {
  const value = Number(digits);
  return Number.isFinite(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER
    ? value
    : new UnreadableNumber(digits);
}

/** Read and write capacity units consumed, summed per operation name. For the benchmark and the runner. */
export class CapacityMeter {
  readonly byOperation = new Map<string, { read: number; write: number; calls: number }>();

  record(operation: string, consumed: ConsumedCapacity | ConsumedCapacity[] | undefined): void {
    const entries = consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed];
    const total = this.byOperation.get(operation) ?? { read: 0, write: 0, calls: 0 };
    total.calls += 1;
    for (const entry of entries) {
      total.read += entry.ReadCapacityUnits ?? 0;
      total.write += entry.WriteCapacityUnits ?? 0;
      // Some engines report only the total; count it as the kind the operation is.
      if (entry.ReadCapacityUnits === undefined && entry.WriteCapacityUnits === undefined) {
        if (/^(get|query|read)/i.test(operation)) total.read += entry.CapacityUnits ?? 0;
        else total.write += entry.CapacityUnits ?? 0;
      }
    }
    this.byOperation.set(operation, total);
  }

  totals(): { read: number; write: number } {
    let read = 0;
    let write = 0;
    for (const t of this.byOperation.values()) {
      read += t.read;
      write += t.write;
    }
    return { read, write };
  }
}
