/**
 * DynamoDB capacity: what DynamoDB Local reports, and what DynamoDB's documented rules say where its
 * report cannot be taken at face value.
 *
 * The adapters ask for ReturnConsumedCapacity and add it up in their CapacityMeter. This probe sits in
 * the same client's middleware to see the detail behind it: it asks for the per-table and per-index
 * breakdown (INDEXES instead of TOTAL, which changes nothing else), notices responses that carry no
 * ConsumedCapacity, and sizes every action of every TransactWriteItems request.
 *
 * Why sizes: DynamoDB Local adds up the sizes of all the items a transaction writes to one table and
 * rounds once (20 small puts to one table are reported as 2 WCU), where DynamoDB rounds each item up to
 * 1 KB. Transactions with one item per table (a renewal alone) come out right; the fenced writer's
 * group commit, which puts many renewals' writes in one transaction, is under-reported. For those the
 * documented rule is applied here: 2 WCU per action per KB of its item, rounded up per item.
 */
import type { ConsumedCapacity } from "@aws-sdk/client-dynamodb";
import { ScanCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

interface Units {
  read: number;
  write: number;
}

export interface CapacityBreakdown {
  /** As DynamoDB Local reported it: base tables vs index upkeep, transactions vs single requests. */
  readonly reported: {
    readonly single: { table: Units; index: Units };
    readonly transactions: { table: Units; index: Units };
  };
  /** TransactWriteItems requests and their actions, for the documented rule. */
  readonly transactions: {
    count: number;
    actions: number;
    /** 2 WCU × ⌈item size / 1 KB⌉ summed over Put actions (the item is in the request). */
    putUnits: number;
    /** Update, ConditionCheck and Delete actions by table: priced by the stored items' size. */
    otherActions: Record<string, number>;
  };
  /** Responses without ConsumedCapacity, by command, and the units estimated for them by the rules. */
  readonly unreported: Record<string, number>;
  readonly estimated: Units;
  /** Requests by command, and failed ones (conditions, conflicts; DynamoDB Local reports nothing for them). */
  readonly calls: Record<string, number>;
  readonly failed: Record<string, number>;
}

const READS = /^(Get|BatchGet|Query|Scan|TransactGet)/;

export class CapacityProbe {
  private readonly data: CapacityBreakdown = {
    reported: {
      single: { table: { read: 0, write: 0 }, index: { read: 0, write: 0 } },
      transactions: { table: { read: 0, write: 0 }, index: { read: 0, write: 0 } },
    },
    transactions: { count: 0, actions: 0, putUnits: 0, otherActions: {} },
    unreported: {},
    estimated: { read: 0, write: 0 },
    calls: {},
    failed: {},
  };

  attach(doc: DynamoDBDocumentClient): this {
    doc.middlewareStack.add(
      (next, context) => async (args) => {
        const command = String(context.commandName ?? "unknown").replace(/Command$/, "");
        const input = args.input as Record<string, unknown>;
        if ("ReturnConsumedCapacity" in input) input.ReturnConsumedCapacity = "INDEXES";
        this.data.calls[command] = (this.data.calls[command] ?? 0) + 1;
        try {
          const result = await next(args);
          const output = result.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] };
          this.record(command, input, output.ConsumedCapacity);
          return result;
        } catch (error) {
          this.data.failed[command] = (this.data.failed[command] ?? 0) + 1;
          throw error;
        }
      },
      { step: "initialize", name: "benchCapacityProbe" },
    );
    return this;
  }

  get breakdown(): CapacityBreakdown {
    return this.data;
  }

  private record(
    command: string,
    input: Record<string, unknown>,
    consumed: ConsumedCapacity | ConsumedCapacity[] | undefined,
  ): void {
    const kind = READS.test(command) ? "read" : "write";
    const transactional = command === "TransactWriteItems";
    if (transactional) this.sizeTransaction(input);
    const entries = consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed];
    if (entries.length === 0) {
      this.data.unreported[command] = (this.data.unreported[command] ?? 0) + 1;
      this.data.estimated[kind] += documentedUnits(command, input);
      return;
    }
    const into = transactional ? this.data.reported.transactions : this.data.reported.single;
    for (const entry of entries) {
      const total = units(entry, kind);
      const indexes = Object.values(entry.GlobalSecondaryIndexes ?? {}).reduce(
        (sum, c) => sum + units(c, kind),
        0,
      );
      into.index[kind] += indexes;
      into.table[kind] += total - indexes;
    }
  }

  private sizeTransaction(input: Record<string, unknown>): void {
    const t = this.data.transactions;
    t.count += 1;
    for (const action of (input.TransactItems ?? []) as Record<
      string,
      { TableName?: string; Item?: unknown }
    >[]) {
      t.actions += 1;
      if (action.Put) {
        t.putUnits += 2 * Math.max(1, Math.ceil(itemSize(action.Put.Item) / 1024));
        continue;
      }
      const body = action.Update ?? action.ConditionCheck ?? action.Delete;
      const table = body?.TableName ?? "unknown";
      t.otherActions[table] = (t.otherActions[table] ?? 0) + 1;
    }
  }
}

/** The documented price of the transactions seen, given the largest stored item of each table. */
export function transactionUnitsByRule(
  t: CapacityBreakdown["transactions"],
  storedMax: Record<string, number>,
): number {
  let units = t.putUnits;
  for (const [table, n] of Object.entries(t.otherActions)) {
    units += n * 2 * Math.max(1, Math.ceil((storedMax[table] ?? 1024) / 1024));
  }
  return units;
}

/** The largest item of each table, in bytes by DynamoDB's item-size rules. */
export async function largestItems(
  doc: DynamoDBDocumentClient,
  tables: readonly string[],
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of tables) {
    let largest = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) largest = Math.max(largest, itemSize(item));
      start = page.LastEvaluatedKey;
    } while (start);
    out[table] = largest;
  }
  return out;
}

/**
 * An item's size as DynamoDB counts it: attribute names plus values (strings and binaries by their
 * bytes, numbers about one byte per two digits plus one, booleans and nulls one byte, lists and maps
 * three bytes plus one per element plus their contents).
 */
export function itemSize(value: unknown): number {
  if (value === null || value === undefined || typeof value !== "object") return 0;
  let size = 0;
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    size += Buffer.byteLength(name) + valueSize(v);
  }
  return size;
}

function valueSize(v: unknown): number {
  if (typeof v === "string") return Buffer.byteLength(v);
  if (typeof v === "number" || typeof v === "bigint") {
    const digits = String(v).replace(/^-/, "").replace(".", "").replace(/^0+/, "").length;
    return Math.ceil(digits / 2) + 1;
  }
  if (typeof v === "boolean" || v === null) return 1;
  if (v instanceof Uint8Array) return v.byteLength;
  if (v instanceof Set) return [...v].reduce((n: number, x) => n + valueSize(x), 0);
  if (Array.isArray(v)) return 3 + v.reduce((n: number, x) => n + 1 + valueSize(x), 0);
  if (typeof v === "object") {
    return (
      3 +
      Object.entries(v as Record<string, unknown>).reduce(
        (n, [k, x]) => n + 1 + Buffer.byteLength(k) + valueSize(x),
        0,
      )
    );
  }
  return 0;
}

function units(
  c: { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number },
  kind: "read" | "write",
): number {
  const specific = kind === "read" ? c.ReadCapacityUnits : c.WriteCapacityUnits;
  return specific ?? c.CapacityUnits ?? 0;
}

/**
 * DynamoDB's documented pricing rules, for a response that did not say: a strongly consistent read is
 * 1 RCU per 4 KB (half for eventually consistent), a write 1 WCU per KB, each item of a transaction
 * twice that. Items here are under 1 KB, so one unit per item and kind.
 */
function documentedUnits(command: string, input: Record<string, unknown>): number {
  const consistent = input.ConsistentRead === true ? 1 : 0.5;
  switch (command) {
    case "GetItem":
    case "Query":
    case "Scan":
      return consistent;
    case "TransactWriteItems":
    case "TransactGetItems":
      return 2 * (Array.isArray(input.TransactItems) ? input.TransactItems.length : 1);
    default:
      return 1;
  }
}

/**
 * The least the design needs per successful charge, derived in README "Performance":
 * reads: one strongly consistent read of the subscription and one of the charge record, 1 RCU each
 * (items under 4 KB); writes: three fenced transactions, each a ConditionCheck on the lease record plus
 * the items it writes, 2 WCU per item (items under 1 KB):
 *   claim  = lease check + charge record put                       = 2 + 2     = 4
 *   record = lease check + charge record put (PaymentIntent id)    = 2 + 2     = 4
 *   settle = lease check + charge record put + subscription update = 2 + 2 + 2 = 6
 */
export const MINIMUM_PER_CHARGE = { read: 2, write: 14 } as const;
