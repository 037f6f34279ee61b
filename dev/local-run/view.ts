/**
 * The live view. On a terminal: a compact block redrawn in place (ANSI: cursor up, clear to the end),
 * with notable events scrolling above it. Otherwise: plain lines, one per notable event and a progress
 * line every few seconds, so a log file or CI output reads top to bottom.
 */
import type { Writable } from "node:stream";
import type { RunState } from "./state";

export interface View {
  /** A line of text above the live block (or a plain line). */
  line(text: string): void;
  start(): void;
  /** Stops redrawing and leaves the final block on screen. */
  stop(): void;
}

const ESC = "\x1b[";
const color = (code: number, tty: boolean) => (text: string) =>
  tty ? `${ESC}${code}m${text}${ESC}0m` : text;

export function stamp(ms: number): string {
  return `${(ms / 1000).toFixed(1).padStart(6)}s`;
}

export function createView(
  state: RunState,
  out: Writable & { isTTY?: boolean; columns?: number },
  options: { tty: boolean; quiet?: boolean },
): View {
  if (options.quiet) return { line: () => undefined, start: () => undefined, stop: () => undefined };
  return options.tty ? new LiveView(state, out) : new PlainView(state, out);
}

function statusLine(state: RunState): string {
  const c = state.counts();
  const left = state.dueLeft === null ? "?" : String(state.dueLeft);
  return (
    `charged ${c.succeeded} · declined ${c.declined} · needs action ${c.needs_customer_action} · ` +
    `quarantined ${c.quarantined} · in doubt ${c.in_doubt} · left ${left}`
  );
}

class PlainView implements View {
  private timer: NodeJS.Timeout | undefined;
  private lastProgress = "";

  constructor(
    private readonly state: RunState,
    private readonly out: Writable,
  ) {}

  line(text: string): void {
    this.out.write(`${stamp(this.state.timeline.now())}  ${text}\n`);
  }

  start(): void {
    this.timer = setInterval(() => this.progress(), 3_000);
    this.timer.unref();
  }

  private progress(): void {
    if (this.state.phase !== "running") return;
    const text = `progress ${Math.round(this.state.progress() * 100)}%: ${statusLine(this.state)}`;
    if (text === this.lastProgress) return;
    this.lastProgress = text;
    this.line(text);
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.progress();
  }
}

class LiveView implements View {
  private timer: NodeJS.Timeout | undefined;
  private drawn = 0;
  private readonly bold: (t: string) => string;
  private readonly dim: (t: string) => string;
  private readonly green: (t: string) => string;
  private readonly red: (t: string) => string;
  private readonly yellow: (t: string) => string;
  private readonly cyan: (t: string) => string;
  private restoreCursor = () => this.out.write(`${ESC}?25h`);

  constructor(
    private readonly state: RunState,
    private readonly out: Writable & { columns?: number },
  ) {
    this.bold = color(1, true);
    this.dim = color(2, true);
    this.green = color(32, true);
    this.red = color(31, true);
    this.yellow = color(33, true);
    this.cyan = color(36, true);
  }

  start(): void {
    this.out.write(`${ESC}?25l`);
    process.once("exit", this.restoreCursor);
    this.timer = setInterval(() => this.draw(), 200);
    this.timer.unref();
  }

  stop(): void {
    if (!this.timer) return; // stopped already (or never started): leave the screen alone
    clearInterval(this.timer);
    this.timer = undefined;
    this.draw();
    this.out.write(`${ESC}?25h`);
    process.off("exit", this.restoreCursor);
  }

  line(text: string): void {
    this.clear();
    this.out.write(`${this.dim(stamp(this.state.timeline.now()))}  ${text}\n`);
    if (this.timer) this.draw();
  }

  private clear(): void {
    if (this.drawn > 0) this.out.write(`\r${ESC}${this.drawn}A${ESC}J`);
    this.drawn = 0;
  }

  private draw(): void {
    // A pseudo-terminal without a size reports 0 columns.
    const width = Math.max(40, (this.out.columns || 100) - 1);
    const s = this.state;
    const lines: string[] = [];
    lines.push(
      this.bold(`lease-billing · round ${s.round} · ${s.phase}`) +
        this.dim(` · ${(s.timeline.now() / 1000).toFixed(1)} s`),
    );
    const shards = [...s.holders.entries()].sort((a, b) => a[0] - b[0]);
    if (shards.length === 0) lines.push(this.dim("  no lease held"));
    for (const [shard, h] of shards) {
      const who = h.dead ? this.red(`${h.contender} (dead; lease expires)`) : this.green(h.contender);
      const from = h.tookOverFrom ? this.cyan(` took over from ${h.tookOverFrom}`) : "";
      lines.push(`  shard ${shard}  held by ${who}  fence ${this.bold(String(h.fence))}${from}`);
    }
    const cells: string[] = [];
    for (const c of s.contenders.values()) {
      if (c.phase === "done" && c.round < s.round) continue;
      const phase =
        c.phase === "leading"
          ? this.green(`leading ${[...c.leading].map(([sh, f]) => `s${sh}/f${f}`).join(",")}`)
          : c.phase === "paused"
            ? this.yellow("paused (SIGSTOP)")
            : c.phase === "done"
              ? c.exit?.startsWith("exit 0")
                ? this.dim(c.exit)
                : this.red(c.exit ?? "exited")
              : c.phase;
      const extra = c.fencedOut > 0 ? this.red(` ${c.fencedOut} fenced out`) : "";
      cells.push(`${this.bold(c.label)} ${phase}${c.charges > 0 ? ` ${c.charges} ch` : ""}${extra}`);
    }
    lines.push(`  ${cells.join("   ")}`);
    lines.push(`  ${statusLine(s)}`);
    const progress = s.progress();
    const barWidth = Math.max(10, Math.min(50, width - 20));
    const filled = Math.round(progress * barWidth);
    lines.push(
      `  [${this.green("█".repeat(filled))}${this.dim("░".repeat(barWidth - filled))}] ${String(Math.round(progress * 100)).padStart(3)}%`,
    );
    this.clear();
    // Lines must not wrap, or the cursor-up count is wrong.
    this.out.write(lines.map((l) => truncate(l, width)).join("\n") + "\n");
    this.drawn = lines.length;
  }
}

/** Cuts a line to `width` visible characters, keeping ANSI sequences intact. */
function truncate(text: string, width: number): string {
  let visible = 0;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\x1b") {
      const end = text.indexOf("m", i);
      if (end !== -1) {
        out += text.slice(i, end + 1);
        i = end;
        continue;
      }
    }
    if (visible >= width) continue;
    out += text[i];
    visible += 1;
  }
  return out + (visible >= width ? `${ESC}0m` : "");
}
