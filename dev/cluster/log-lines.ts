/**
 * Reading a contender's output: Powertools Logger writes one JSON object per line (the handler's run
 * events, merged with its appended keys), Powertools Metrics one EMF object per flush, and the contender
 * process its own `__contender` lines (started, result, error). Everything else is plain text.
 */
import type { RunEvent } from "../../functions/core/billing-run/events";

/** A structured log line as Powertools prints it: level, message, timestamp, and the merged keys. */
export interface LogLine {
  readonly level?: string;
  readonly message?: string;
  readonly timestamp?: string;
  readonly owner?: string;
  readonly runId?: string;
  readonly [key: string]: unknown;
}

/** One shard's outcome as the handler's "run finished" line reports it. */
export interface LedShard {
  readonly shard: number;
  readonly fence: number;
  readonly outcome: "complete" | "targeted" | "partial" | "lost";
  readonly stopReason: string | null;
  readonly leftDue: number;
}

export interface RunFinished {
  readonly runId: string;
  readonly asOf: string;
  readonly led: readonly LedShard[];
  readonly stoodBy: readonly { shard: number; reason: string }[];
  readonly counts: Record<string, number>;
  readonly charged: Record<string, number>;
  readonly durationMs: number;
}

export type ParsedLine =
  | { readonly kind: "run-event"; readonly event: RunEvent; readonly line: LogLine }
  | { readonly kind: "run-finished"; readonly finished: RunFinished; readonly line: LogLine }
  | { readonly kind: "run-failed"; readonly error: string; readonly line: LogLine }
  /** The invocation invoked its run's next link (sent), or tried and failed. */
  | {
      readonly kind: "continuation";
      readonly sent: boolean;
      readonly link: number;
      readonly error: string | null;
      readonly line: LogLine;
    }
  | { readonly kind: "log"; readonly line: LogLine }
  | { readonly kind: "metrics"; readonly line: Record<string, unknown> }
  | {
      readonly kind: "contender";
      readonly phase: "started" | "result" | "error";
      readonly data: ContenderLine;
    }
  | { readonly kind: "text"; readonly text: string };

/** The contender process's own lines (dev/cluster/contender-process.ts). */
export interface ContenderLine {
  readonly __contender: "started" | "result" | "error";
  readonly pid?: number;
  readonly requestId?: string;
  readonly result?: unknown;
  readonly error?: string;
}

const RUN_EVENT_TYPES = new Set<RunEvent["type"]>([
  "lease-acquired",
  "lease-held-by-other",
  "lease-renewed",
  "lease-lost",
  "lease-released",
  "standby-exit",
  "charge",
  "fenced-out",
  "budget-exhausted",
  "send-held-back",
  "sweep",
]);

/** Keys Powertools adds or the handler appends; not part of a RunEvent. */
const LOG_KEYS = new Set([
  "level",
  "message",
  "timestamp",
  "service",
  "sampling_rate",
  "xray_trace_id",
  "runId",
  "link",
  "owner",
  "asOf",
  "kind",
  "cold_start",
  "function_arn",
  "function_memory_size",
  "function_name",
  "function_request_id",
]);

export function parseLine(text: string): ParsedLine {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) return { kind: "text", text };
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return { kind: "text", text };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { kind: "text", text };
  const record = value as Record<string, unknown>;
  const phase = record.__contender;
  if (phase === "started" || phase === "result" || phase === "error") {
    return { kind: "contender", phase, data: record as unknown as ContenderLine };
  }
  if ("_aws" in record) return { kind: "metrics", line: record };
  const line = record as LogLine;
  if (typeof record.type === "string" && RUN_EVENT_TYPES.has(record.type as RunEvent["type"])) {
    const event: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(record)) if (!LOG_KEYS.has(key)) event[key] = v;
    return { kind: "run-event", event: event as unknown as RunEvent, line };
  }
  if (line.message === "run finished") {
    return { kind: "run-finished", finished: record as unknown as RunFinished, line };
  }
  if (line.message === "run failed") {
    return { kind: "run-failed", error: String(record.error ?? "unknown error"), line };
  }
  if (line.message === "continuation sent" || line.message?.startsWith("continuation failed")) {
    const sent = line.message === "continuation sent";
    const error = sent ? null : String(record.error ?? "unknown error");
    return { kind: "continuation", sent, link: Number(record.nextLink), error, line };
  }
  return { kind: "log", line };
}

/** Splits a byte stream into lines, calling `onLine` for each complete one. */
export function lineSplitter(onLine: (line: string) => void): {
  push(chunk: Buffer | string): void;
  end(): void;
} {
  let buffered = "";
  return {
    push(chunk) {
      buffered += chunk.toString();
      let newline = buffered.indexOf("\n");
      while (newline !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim() !== "") onLine(line);
        newline = buffered.indexOf("\n");
      }
    },
    end() {
      if (buffered.trim() !== "") onLine(buffered);
      buffered = "";
    },
  };
}
