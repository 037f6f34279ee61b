/**
 * CPU time of processes on Linux, from /proc/<pid>/stat (user + system time of all threads), to tell
 * which process a run was waiting on: DynamoDB Local's JVM, the job's processes, or the emulator.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU milliseconds a process has used so far, or null where /proc is unavailable or the process is gone. */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces; the fields after it are positional.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / clockTicks();
  } catch {
    return null;
  }
}

/** The JVM of the DynamoDB Local listening on `port`, found by its command line. */
export function findDynamoDbLocalPid(port: number): number | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const portAt = args.indexOf("-port");
      if (args.some((a) => a.endsWith("DynamoDBLocal.jar")) && args[portAt + 1] === String(port)) {
        return Number(entry);
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return null;
}

export interface MachineCpuMs {
  readonly busy: number;
  readonly steal: number;
}

/**
 * CPU milliseconds the whole machine has spent busy (all cores, not idle or waiting on I/O), and of
 * those the hypervisor gave to other machines while this one had work to run ("steal": a virtual
 * machine whose cores are stolen runs slower); null where /proc/stat cannot be read. One read for both.
 */
export function machineCpuMs(): MachineCpuMs | null {
  let f: number[];
  try {
    // user nice system idle iowait irq softirq steal ..., in clock ticks
    f = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  } catch {
    return null;
  }
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const ms = (ticks: number) => (ticks * 1000) / clockTicks();
  return { busy: ms(total - idle), steal: ms(f[7] ?? 0) };
}

/** CPU used by a set of processes between two moments, as a share of one core (1.0 = one core busy). */
export class CpuWindow {
  private readonly start = new Map<number, number | null>();
  private machineStart: MachineCpuMs | null = null;
  private startedAt = 0;

  constructor(private readonly pids: readonly number[]) {}

  begin(): void {
    this.startedAt = performance.now();
    this.machineStart = machineCpuMs();
    for (const pid of this.pids) this.start.set(pid, processCpuMs(pid));
  }

  /**
   * Cores busy on average since begin(): per process (null for one that could not be read), and for the
   * whole machine, other people's processes included.
   */
  end(): { byPid: Map<number, number | null>; machine: number | null; steal: number | null } {
    const elapsed = performance.now() - this.startedAt;
    const byPid = new Map<number, number | null>();
    for (const pid of this.pids) {
      const before = this.start.get(pid);
      const after = processCpuMs(pid);
      byPid.set(pid, before == null || after == null || elapsed <= 0 ? null : (after - before) / elapsed);
    }
    const machineEnd = machineCpuMs();
    const share = (of: "busy" | "steal") =>
      this.machineStart === null || machineEnd === null || elapsed <= 0
        ? null
        : (machineEnd[of] - this.machineStart[of]) / elapsed;
    const machine = share("busy");
    const steal = share("steal");
    return { byPid, machine, steal };
  }
}
