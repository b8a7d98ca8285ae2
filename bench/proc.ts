/**
 * Reads a process tree's memory and CPU time from `/proc` (Linux only). With
 * `deno serve --parallel` the workers are threads of one process, so one pid covers them all;
 * child processes are followed too, in case a server spawns any.
 *
 * @module
 */

/** Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, 100 on Linux). */
const CLOCK_TICKS = 100;

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The hard limit on open files a process started from here gets (Deno raises its soft limit to
 * it), or undefined when it is unlimited or cannot be read.
 */
export function openFileLimit(): number | undefined {
  const match = readText("/proc/self/limits")?.match(/^Max open files\s+\S+\s+(\d+)/m);
  return match ? Number(match[1]) : undefined;
}

/** The pids of a process and all its descendants. */
export function processTree(pid: number): number[] {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    const children = readText(`/proc/${pids[i]}/task/${pids[i]}/children`) ?? "";
    for (const child of children.trim().split(/\s+/)) if (child) pids.push(Number(child));
  }
  return pids;
}

/** The resident set size of one process in KiB (`VmRSS`), or 0 once it is gone. */
export function rssKiB(pid: number): number {
  const status = readText(`/proc/${pid}/status`) ?? "";
  const match = status.match(/^VmRSS:\s+(\d+)\s+kB$/m);
  return match ? Number(match[1]) : 0;
}

/** The resident set size of a process tree in KiB. */
export function treeRssKiB(pid: number): number {
  return processTree(pid).reduce((sum, each) => sum + rssKiB(each), 0);
}

/**
 * CPU time (user + system) used so far by one process (all its threads), or by one thread when
 * given `pid/task/tid`, in seconds.
 */
export function cpuSeconds(pid: number | "self" | `${number}/task/${string}`): number {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return 0;
  // The command name may hold spaces; the fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * Bytes a process tree has sent to storage so far (`write_bytes` in `/proc/<pid>/io`: files, not
 * sockets), or undefined when the root process's counters cannot be read; a child that is gone
 * counts 0.
 */
export function treeStorageBytesWritten(pid: number): number | undefined {
  let total = 0;
  for (const each of processTree(pid)) {
    const match = readText(`/proc/${each}/io`)?.match(/^write_bytes:\s+(\d+)$/m);
    if (match) total += Number(match[1]);
    else if (each === pid) return undefined;
  }
  return total;
}

/** CPU time used so far by a process tree, in seconds. */
export function treeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((sum, each) => sum + cpuSeconds(each), 0);
}

/** CPU seconds used so far by each thread of a process, keyed `name#tid`. */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const threads = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = [...Deno.readDirSync(`/proc/${pid}/task`)].map((entry) => entry.name);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    const name = (readText(`/proc/${pid}/task/${tid}/comm`) ?? "?").trim();
    threads.set(`${name}#${tid}`, cpuSeconds(`${pid}/task/${tid}`));
  }
  return threads;
}

/**
 * Where a process's CPU went between two {@link threadCpuSeconds} readings: cores used per
 * thread name (threads of one name added up), busiest first, as `name 0.42`.
 */
export function threadCpuSummary(
  before: Map<string, number>,
  after: Map<string, number>,
  seconds: number,
  top = 4,
): string {
  const byName = new Map<string, number>();
  for (const [key, used] of after) {
    const name = key.slice(0, key.lastIndexOf("#"));
    byName.set(name, (byName.get(name) ?? 0) + used - (before.get(key) ?? 0));
  }
  return [...byName.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .filter(([, used]) => used > 0)
    .map(([name, used]) => `${name} ${(used / seconds).toFixed(2)}`)
    .join(", ");
}

/** CPU seconds all cores of the machine have spent busy (not idle or waiting on I/O) so far. */
export function machineBusySeconds(): number {
  const line = (readText("/proc/stat") ?? "").split("\n")[0] ?? "";
  const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line.trim().split(/\s+/)
    .slice(1).map(Number);
  return ((user + nice + system + irq + softirq + (steal || 0)) || 0) / CLOCK_TICKS;
}

/** The 1-, 5- and 15-minute load averages, as `/proc/loadavg` gives them. */
export function loadAverage(): string {
  return (readText("/proc/loadavg") ?? "").split(" ").slice(0, 3).join(" ");
}
