/**
 * The operator's command-line tool: `npm run ops -- <command> [flags]`. See `--help` and docs/runbook.md.
 *
 * `main(argv, io)` is the whole tool, callable in-process (the tests do): it returns the exit code and
 * writes only through `io`. Exit codes: 0 all well; 1 something needs attention or failed at run time;
 * 2 usage or configuration error, nothing done.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { InvalidInputError } from "../functions/core/input-error";
import { PaymentProviderConfigError } from "../functions/stripe/stripe-gateway";
import { isCommand, parseCommandLine, UsageError } from "./args";
import { Context, type CliIo } from "./context";
import { helpText } from "./help";
import { reconcile } from "./commands/reconcile";
import { release } from "./commands/release";
import { rerun } from "./commands/rerun";
import { resolveInDoubt } from "./commands/resolve-in-doubt";
import { status } from "./commands/status";
import { subscriptions } from "./commands/subscriptions";

export type { CliIo } from "./context";

export const EXIT = { ok: 0, attention: 1, usage: 2 } as const;

export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    return fail(io, error, (text) => text);
  }
  const { command, positionals, flags } = parsed;
  if (command === "help" || flags.help === true) {
    const topic = command === "help" ? positionals[0] : command;
    if (topic !== undefined && topic !== null && !isCommand(topic)) {
      return fail(io, new UsageError(`no help for unknown command "${topic}"`), (t) => t);
    }
    io.stdout(helpText(topic ?? null));
    return EXIT.ok;
  }
  if (command === null) {
    io.stderr(`ops: a command is needed\n\n${helpText(null)}`);
    return EXIT.usage;
  }

  let ctx: Context | undefined;
  try {
    ctx = new Context(io, flags);
    if (command !== "release" && command !== "subscriptions" && positionals.length > 0) {
      throw new UsageError(`${command} takes no arguments, got "${positionals.join(" ")}"`);
    }
    switch (command) {
      case "status":
        return await status(ctx);
      case "release":
        return await release(ctx, positionals);
      case "reconcile":
        return await reconcile(ctx);
      case "resolve-in-doubt":
        return await resolveInDoubt(ctx);
      case "rerun":
        return await rerun(ctx);
      case "subscriptions":
        return await subscriptions(ctx, positionals);
      default:
        throw new UsageError(`unknown command "${String(command)}"`);
    }
  } catch (error) {
    const redact = ctx ? (text: string) => ctx!.redactText(text) : (text: string) => text;
    return fail(io, error, redact);
  } finally {
    ctx?.close();
  }
}

function fail(io: CliIo, error: unknown, redact: (text: string) => string): number {
  if (
    error instanceof UsageError ||
    error instanceof InvalidInputError ||
    error instanceof PaymentProviderConfigError
  ) {
    io.stderr(`ops: ${redact(error.message)}`);
    return EXIT.usage;
  }
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  io.stderr(`ops: failed: ${redact(text)}`);
  return EXIT.attention;
}

export function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(`${text}\n`),
    stderr: (text) => void process.stderr.write(`${text}\n`),
    env: process.env,
  };
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;

if (invokedDirectly) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
  // Let output drain; do not wait on idle keep-alive sockets.
  setTimeout(() => process.exit(code), 200).unref();
}
