/**
 * Summarises V8 `.cpuprofile` files (as written by `deno task bench --cpu-prof DIR`): where the
 * server's CPU time went, by function and by source file, idle time left out.
 *
 * Usage: `deno run --allow-read bench/profile_summary.ts DIR_OR_FILE... [--top N]`
 *
 * @module
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time in ms by function (`name file:line`) and by source file, over some profiles. */
export interface ProfileTotals {
  totalMs: number;
  idleMs: number;
  byFunction: Map<string, number>;
  byFile: Map<string, number>;
}

function shortUrl(url: string): string {
  if (url === "") return "(native)";
  const npm = url.match(/node_modules\/(?:\.deno\/)?([^/]+)/);
  if (npm) return `npm:${npm[1]}`;
  const local = url.match(/\/((?:lib|routes|bench)\/.*|[^/]+\.tsx?)$/);
  return local ? local[1] : url.replace(/^ext:/, "ext:");
}

/** Adds one profile's self times into `totals`. */
export function addProfile(profile: CpuProfile, totals: ProfileTotals): void {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const frame = nodes.get(id)?.callFrame;
    if (!frame) return;
    totals.totalMs += ms;
    if (frame.functionName === "(idle)") {
      totals.idleMs += ms;
      return;
    }
    const file = shortUrl(frame.url);
    const name = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    totals.byFunction.set(name, (totals.byFunction.get(name) ?? 0) + ms);
    totals.byFile.set(file, (totals.byFile.get(file) ?? 0) + ms);
  });
}

function top(map: Map<string, number>, busyMs: number, count: number): string[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, ms]) =>
      `${ms.toFixed(0).padStart(8)} ms ${(100 * ms / busyMs).toFixed(1).padStart(5)}%  ${name}`
    );
}

if (import.meta.main) {
  const topIndex = Deno.args.indexOf("--top");
  const count = topIndex >= 0 ? Number(Deno.args[topIndex + 1]) : 25;
  const paths = Deno.args.filter((arg, i) => arg !== "--top" && i !== topIndex + 1 || topIndex < 0);
  const totals: ProfileTotals = { totalMs: 0, idleMs: 0, byFunction: new Map(), byFile: new Map() };
  for (const path of paths) {
    const files = Deno.statSync(path).isDirectory
      ? [...Deno.readDirSync(path)].filter((e) => e.name.endsWith(".cpuprofile"))
        .map((e) => `${path}/${e.name}`)
      : [path];
    for (const file of files) addProfile(JSON.parse(Deno.readTextFileSync(file)), totals);
  }
  const busy = totals.totalMs - totals.idleMs;
  console.log(
    `sampled ${totals.totalMs.toFixed(0)} ms, idle ${totals.idleMs.toFixed(0)} ms, busy ${
      busy.toFixed(0)
    } ms`,
  );
  console.log("\nBy source file (self time):");
  console.log(top(totals.byFile, busy, count).join("\n"));
  console.log("\nBy function (self time):");
  console.log(top(totals.byFunction, busy, count).join("\n"));
}
