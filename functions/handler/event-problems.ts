/**
 * What a refused event is told, bounded. An event is anyone's input: a 1 MB key name or ten thousand bad
 * ids must not be echoed into the error or the log line, so names are cut short, at most a few problems
 * are listed, and the whole message has a ceiling.
 */
import type { z } from "zod";
import { shown } from "./shown";

/** Problems listed; the rest are counted ("and 3 more"). */
export const MAX_PROBLEMS = 10;
/** Characters of one problem. */
const MAX_PROBLEM_CHARS = 170;
/** Ceiling of the whole error message, under 2 KB: every part of it is ASCII (see shown.ts). */
export const MAX_MESSAGE_CHARS = 1900;
/** Unknown field names listed in one problem. */
const MAX_NAMES = 3;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** At most MAX_PROBLEMS problems, each cut short, and a count of those left out. */
export function boundedProblems(problems: readonly string[]): string[] {
  const listed = problems.slice(0, MAX_PROBLEMS).map((p) => clip(p, MAX_PROBLEM_CHARS));
  const more = problems.length - listed.length;
  return more > 0 ? [...listed, `and ${more} more`] : listed;
}

export function refusalMessage(problems: readonly string[]): string {
  return clip(`Event refused, nothing was changed: ${problems.join("; ")}`, MAX_MESSAGE_CHARS);
}

/** One line per zod issue, naming the field by its path in the event. */
export function zodProblems(error: z.ZodError, event: object): string[] {
  return error.issues.map((issue) => {
    const path = pathOf(issue.path);
    if (issue.code === "unrecognized_keys") return unknownFields(path, issue.keys);
    if (valueAt(event, issue.path) === undefined) {
      return `${path || "event"}: is required${path === "action" ? ' (set "action": "rerun")' : ""}`;
    }
    return `${path || "event"}: ${issue.message}`;
  });
}

function unknownFields(path: string, keys: readonly string[]): string {
  const names = keys.slice(0, MAX_NAMES).map(shown).join(", ");
  const more = keys.length > MAX_NAMES ? ` and ${keys.length - MAX_NAMES} more` : "";
  return `unknown field(s)${path ? ` in ${path}` : ""}: ${names}${more}`;
}

function pathOf(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === "number" ? `[${p}]` : `.${shown(String(p))}`))
    .join("")
    .replace(/^\./, "");
}

function valueAt(event: object, path: readonly PropertyKey[]): unknown {
  let at: unknown = event;
  for (const key of path) {
    if (typeof at !== "object" || at === null || !Object.hasOwn(at, key)) return undefined;
    at = Reflect.get(at, key);
  }
  return at;
}
