import assert from "node:assert/strict";
import { EventLog, LINE_BURST } from "./event_log.ts";

Deno.test("EventLog - a flood of lines is cut after the burst, and what was left out is counted a second later", async () => {
  const lines: Record<string, unknown>[] = [];
  const log = new EventLog(true, (line) => lines.push(JSON.parse(line)));
  const flood = LINE_BURST + 100;
  for (let i = 0; i < flood; i++) log.write("rejected", { reason: "not_found" });
  log.write("connection_open", { transport: "ws" });
  const written = lines.length;
  // The budget refills at 200 lines a second while the loop runs: a few more than the burst.
  assert.ok(written >= LINE_BURST && written < flood, `${written} lines written`);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  assert.equal(lines.length, written + 1);
  const { time: _, ...report } = lines.at(-1)!;
  assert.deepEqual(report, {
    event: "log_suppressed",
    lines: flood + 1 - written,
    suppressed_rejected: flood - written,
    suppressed_connection_open: 1,
  });
});

Deno.test("EventLog - off, it writes nothing", () => {
  const lines: string[] = [];
  new EventLog(false, (line) => lines.push(line)).write("rejected", { reason: "x" });
  assert.deepEqual(lines, []);
});
