/**
 * Where the commands act: DynamoDB (AWS or DynamoDB Local), the tables, the deployed function and Stripe.
 * Every setting is resolved in one order, most explicit first:
 *
 *   1. a flag (--leases-table, --region, --stripe-secret-arn, ...)
 *   2. the environment variable the function itself uses (LEASE_TABLE_NAME, STRIPE_SECRET_KEY, ...)
 *   3. against AWS, the deployed function's own environment (--function NAME or BILLING_FUNCTION_NAME),
 *      read with lambda:GetFunctionConfiguration: the stack wrote the table names, the shard count and the
 *      secret's ARN there, so the CLI can never disagree with the function about them
 *   4. locally (--endpoint), the schema's default table names
 *
 * Anything still missing is a usage error naming the flag that would supply it. Clients are made lazily,
 * so a command only needs the settings it uses (status needs no Stripe key).
 */
import { hostname, userInfo } from "node:os";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { GetFunctionConfigurationCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { systemClock, type Clock } from "../functions/core/clock";
import { LeaseClient } from "../functions/core/lease/lease-client";
import { createDynamoClient, documentClient } from "../functions/aws/dynamo";
import { DynamoLeaseStore } from "../functions/aws/dynamo-lease-store";
import { DynamoBillingStore } from "../functions/aws/dynamo-billing-store";
import { FencedWriter } from "../functions/aws/fenced-writer";
import { redactor, stripeApiKey } from "../functions/aws/stripe-key";
import { createGateway } from "../functions/handler/billing-job";
import { readConfig, type FunctionConfig } from "../functions/handler/config";
import {
  DEFAULT_STRIPE_NETWORK_RETRIES,
  DEFAULT_STRIPE_TIMEOUT_MS,
  type StripeGateway,
} from "../functions/stripe/stripe-gateway";
import { CHARGE_TABLE, LEASE_TABLE, SUBSCRIPTION_TABLE, type TableNames } from "../functions/schema/tables";
import { stringFlag, UsageError, wholeNumber, type Flags } from "./args";

export interface CliIo {
  /** Normal output (tables, JSON). */
  stdout(text: string): void;
  /** Errors, warnings and progress. */
  stderr(text: string): void;
  /** Where the CLI's own settings come from. The AWS SDK reads credentials from process.env itself. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly clock?: Clock;
}

/** The environment variable that names the deployed function, as --function does. */
export const FUNCTION_ENV = "BILLING_FUNCTION_NAME";

const TABLE_SETTINGS = [
  { key: "leases", flag: "leases-table", spec: LEASE_TABLE },
  { key: "subscriptions", flag: "subscriptions-table", spec: SUBSCRIPTION_TABLE },
  { key: "charges", flag: "charges-table", spec: CHARGE_TABLE },
] as const;

/** Requests per second the CLI allows itself at Stripe: it shares the account's limit with the job. */
const CLI_STRIPE_RATE = 10;

export class Context {
  readonly clock: Clock;
  readonly json: boolean;
  /** DynamoDB Local (or another endpoint) instead of AWS. */
  readonly endpoint: string | undefined;
  private readonly region: string | undefined;
  private readonly closers: (() => void)[] = [];
  private docPromise?: Promise<DynamoDBDocumentClient>;
  private regionPromise?: Promise<string>;
  private functionEnvPromise?: Promise<Record<string, string>>;
  private tablesPromise?: Promise<TableNames>;
  private keyPromise?: Promise<string>;
  private redact: (text: string) => string = (text) => text;

  constructor(
    readonly io: CliIo,
    readonly flags: Flags,
  ) {
    this.clock = io.clock ?? systemClock;
    this.json = flags.json === true;
    this.endpoint = stringFlag(flags, "endpoint") ?? nonEmpty(io.env.DYNAMODB_ENDPOINT);
    if (this.endpoint !== undefined && !/^https?:\/\/[^/\s]+/.test(this.endpoint)) {
      throw new UsageError(`--endpoint must be a URL such as http://127.0.0.1:8000, got "${this.endpoint}"`);
    }
    this.region =
      stringFlag(flags, "region") ?? nonEmpty(io.env.AWS_REGION) ?? nonEmpty(io.env.AWS_DEFAULT_REGION);
    if (stringFlag(flags, "stack") !== undefined) {
      throw new UsageError(
        "--stack is not supported: name the deployed function instead (--function NAME or " +
          `${FUNCTION_ENV}); the CLI reads the table names, shard count and Stripe secret from its ` +
          "environment. The stack's FunctionName output gives the name: aws cloudformation describe-stacks " +
          "--stack-name NAME --query \"Stacks[0].Outputs[?OutputKey=='FunctionName'].OutputValue\" --output text",
      );
    }
  }

  get local(): boolean {
    return this.endpoint !== undefined;
  }

  now(): number {
    return this.clock.now();
  }

  /** Who the operator is, for the lease's forcedBy and the owner of the CLI's own lease. */
  operator(): string {
    let user = "unknown";
    try {
      user = userInfo().username;
    } catch {
      // no passwd entry (some containers)
    }
    return `ops-cli/${user}@${hostname()}`.slice(0, 200);
  }

  functionName(): string | undefined {
    return stringFlag(this.flags, "function") ?? nonEmpty(this.io.env[FUNCTION_ENV]);
  }

  /** The AWS region, checked: a flag, AWS_REGION, AWS_DEFAULT_REGION, or the SDK's profile. */
  async awsRegion(): Promise<string> {
    this.regionPromise ??= (async () => {
      if (this.region) return this.region;
      const probe = new DynamoDBClient({});
      try {
        return await probe.config.region();
      } catch {
        throw new UsageError(
          "no AWS region: pass --region, set AWS_REGION, or set a region in your AWS profile (AWS_PROFILE)",
        );
      } finally {
        probe.destroy();
      }
    })();
    return this.regionPromise;
  }

  /** Fails early, with what to do, when the SDK finds no credentials (instead of a stack trace later). */
  private async checkCredentials(client: { config: { credentials: () => Promise<unknown> } }) {
    try {
      await client.config.credentials();
    } catch (error) {
      throw new UsageError(
        `no AWS credentials found (${error instanceof Error ? error.message : String(error)}): set ` +
          "AWS_PROFILE (and run `aws sso login` if it uses SSO), or AWS_ACCESS_KEY_ID and " +
          "AWS_SECRET_ACCESS_KEY; or pass --endpoint for DynamoDB Local",
      );
    }
  }

  /** The function's own document client (functions/aws/dynamo.ts), on DynamoDB Local or AWS. */
  async doc(): Promise<DynamoDBDocumentClient> {
    this.docPromise ??= (async () => {
      const local = this.endpoint !== undefined;
      const client = local
        ? createDynamoClient({ endpoint: this.endpoint, maxAttempts: 3 })
        : createDynamoClient({ region: await this.awsRegion(), maxAttempts: 5 });
      this.closers.push(() => client.destroy());
      if (!local) await this.checkCredentials(client);
      return documentClient(client);
    })();
    return this.docPromise;
  }

  async lambda(): Promise<LambdaClient> {
    const region = await this.awsRegion();
    const client = new LambdaClient({ region, maxAttempts: 3 });
    this.closers.push(() => client.destroy());
    await this.checkCredentials(client);
    return client;
  }

  /** The deployed function's environment variables (cached). */
  private async functionEnv(why: string): Promise<Record<string, string>> {
    const name = this.functionName();
    if (!name) throw new UsageError(why);
    this.functionEnvPromise ??= (async () => {
      const lambda = await this.lambda();
      try {
        const config = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
        return config.Environment?.Variables ?? {};
      } catch (error) {
        const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        throw new Error(`could not read the configuration of function ${name} (${detail})`);
      }
    })();
    return this.functionEnvPromise;
  }

  async tables(): Promise<TableNames> {
    this.tablesPromise ??= (async () => {
      const found: Partial<Record<keyof TableNames, string>> = {};
      for (const t of TABLE_SETTINGS) {
        const name = stringFlag(this.flags, t.flag) ?? nonEmpty(this.io.env[t.spec.envVar]);
        if (name) found[t.key] = name;
        else if (this.local) found[t.key] = t.spec.id;
      }
      const missing = TABLE_SETTINGS.filter((t) => found[t.key] === undefined);
      if (missing.length > 0) {
        const fnEnv = await this.functionEnv(
          `no table names: pass ${missing.map((t) => `--${t.flag}`).join(", ")} (or set ` +
            `${missing.map((t) => t.spec.envVar).join(", ")}), or name the deployed function with ` +
            `--function NAME (or ${FUNCTION_ENV}): its environment has them. For DynamoDB Local pass --endpoint.`,
        );
        for (const t of missing) {
          const name = nonEmpty(fnEnv[t.spec.envVar]);
          if (!name) {
            throw new UsageError(
              `function ${this.functionName()} has no ${t.spec.envVar} in its environment; pass --${t.flag}`,
            );
          }
          found[t.key] = name;
        }
      }
      return found as TableNames;
    })();
    return this.tablesPromise;
  }

  /** The number of shards: --shard-count, SHARD_COUNT, the function's SHARD_COUNT, else 1. */
  async shardCount(): Promise<number> {
    const explicit = wholeNumber(
      "--shard-count",
      stringFlag(this.flags, "shard-count") ?? nonEmpty(this.io.env.SHARD_COUNT),
      1,
    );
    if (explicit !== undefined) return explicit;
    if (!this.local && this.functionName()) {
      const fromFunction = wholeNumber(
        "the function's SHARD_COUNT",
        (await this.functionEnv("")).SHARD_COUNT,
        1,
      );
      if (fromFunction !== undefined) return fromFunction;
    }
    return 1;
  }

  /**
   * The function's own settings (run settings, retry schedule, lease timings), parsed by the function's own
   * readConfig from its environment (against AWS, with --function) overlaid by ours. Bad values are usage
   * errors naming the variable.
   */
  async functionSettings(): Promise<FunctionConfig> {
    const fnEnv = !this.local && this.functionName() ? await this.functionEnv("") : {};
    // readConfig insists on a Stripe key source; the CLI finds its key itself (stripeKey), so any will do.
    return readConfig({
      ...fnEnv,
      ...this.io.env,
      STRIPE_SECRET_ARN: undefined,
      STRIPE_SECRET_KEY: "unused",
    });
  }

  async leaseClient(): Promise<LeaseClient> {
    const [doc, tables] = await Promise.all([this.doc(), this.tables()]);
    return new LeaseClient(new DynamoLeaseStore(doc, tables.leases), this.clock);
  }

  async billingStore(): Promise<DynamoBillingStore> {
    const [doc, tables] = await Promise.all([this.doc(), this.tables()]);
    return new DynamoBillingStore(doc, tables, new FencedWriter(doc, tables.leases, this.clock));
  }

  /** Where Stripe is: the flags, the function's variables STRIPE_API_HOST/PORT/PROTOCOL, else api.stripe.com. */
  stripeEndpoint(): { host?: string; port?: number; protocol?: "http" | "https" } {
    const host = stringFlag(this.flags, "stripe-host") ?? nonEmpty(this.io.env.STRIPE_API_HOST);
    const port = wholeNumber(
      "--stripe-port",
      stringFlag(this.flags, "stripe-port") ?? nonEmpty(this.io.env.STRIPE_API_PORT),
      1,
    );
    const protocol = stringFlag(this.flags, "stripe-protocol") ?? nonEmpty(this.io.env.STRIPE_API_PROTOCOL);
    if (protocol !== undefined && protocol !== "http" && protocol !== "https") {
      throw new UsageError(`--stripe-protocol must be "http" or "https", got "${protocol}"`);
    }
    return {
      ...(host && { host }),
      ...(port !== undefined && { port }),
      ...(protocol && { protocol }),
    };
  }

  /**
   * The Stripe key: --stripe-secret-arn, STRIPE_SECRET_KEY, STRIPE_SECRET_ARN, or (against AWS) the
   * function's STRIPE_SECRET_ARN. Never printed; `redactText` scrubs it from error messages.
   */
  async stripeKey(): Promise<string> {
    this.keyPromise ??= (async () => {
      const arnFlag = stringFlag(this.flags, "stripe-secret-arn");
      const envKey = nonEmpty(this.io.env.STRIPE_SECRET_KEY);
      const envArn = nonEmpty(this.io.env.STRIPE_SECRET_ARN);
      let source: { from: "secret"; secretId: string } | { from: "env"; value: string };
      if (arnFlag) source = { from: "secret", secretId: arnFlag };
      else if (envKey) source = { from: "env", value: envKey };
      else if (envArn) source = { from: "secret", secretId: envArn };
      else if (!this.local && this.functionName()) {
        const arn = nonEmpty((await this.functionEnv("")).STRIPE_SECRET_ARN);
        if (!arn) {
          throw new UsageError(
            `function ${this.functionName()} has no STRIPE_SECRET_ARN; pass --stripe-secret-arn or set STRIPE_SECRET_KEY`,
          );
        }
        source = { from: "secret", secretId: arn };
      } else {
        throw new UsageError(
          "no Stripe key: set STRIPE_SECRET_KEY, or pass --stripe-secret-arn ARN (or --function NAME to use the function's secret)",
        );
      }
      let key: string;
      if (source.from === "secret") {
        const client = new SecretsManagerClient({ region: await this.awsRegion(), maxAttempts: 3 });
        this.closers.push(() => client.destroy());
        await this.checkCredentials(client);
        key = await stripeApiKey(source, client);
      } else {
        try {
          key = await stripeApiKey(source);
        } catch (error) {
          throw new UsageError(error instanceof Error ? error.message : String(error));
        }
      }
      this.redact = redactor(key);
      return key;
    })();
    return this.keyPromise;
  }

  /** The function's own gateway (createGateway), at the CLI's rate, against the Stripe the flags name. */
  async gateway(): Promise<StripeGateway> {
    const apiKey = await this.stripeKey();
    const stripe = {
      accountRequestsPerSecond: CLI_STRIPE_RATE,
      timeoutMs: DEFAULT_STRIPE_TIMEOUT_MS,
      maxNetworkRetries: DEFAULT_STRIPE_NETWORK_RETRIES,
      ...this.stripeEndpoint(),
    };
    return createGateway({ stripe }, apiKey, this.clock);
  }

  redactText(text: string): string {
    return this.redact(text);
  }

  close(): void {
    for (const close of this.closers.splice(0)) close();
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}
