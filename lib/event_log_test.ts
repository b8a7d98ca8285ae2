import assert from "node:assert/strict";
import { EventLog, LINE_BURST, MAX_FIELD_LENGTH } from "./event_log.ts";

Deno.test("EventLog - a flood of lines is cut after the burst, and what was left out is counted a second later", async () => {
  const lines: Record<string, unknown>[] = [];
  let now = 0;
  const log = new EventLog(true, (line) => lines.push(JSON.parse(line)), () => now);
  for (let i = 0; i < LINE_BURST + 3; i++) log.write("rejected", { reason: "not_found" });
  log.write("connection_open", { transport: "ws" });
  assert.equal(lines.length, LINE_BURST);
  // The budget refills at 200 lines a second: one more line 5 ms later.
  now = 5;
  log.write("rejected", { reason: "not_found", late: true });
  assert.equal(lines.at(-1)?.late, true);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  assert.equal(lines.length, LINE_BURST + 2);
  const { time: _, ...report } = lines.at(-1)!;
  assert.deepEqual(report, {
    event: "log_suppressed",
    lines: 4,
    suppressed_rejected: 3,
    suppressed_connection_open: 1,
  });
});

Deno.test("EventLog - off, it writes nothing", () => {
  const lines: string[] = [];
  const log = new EventLog(false, (line) => lines.push(line));
  log.write("rejected", { reason: "x" });
  log.writeOwn("shutdown_start");
  assert.deepEqual(lines, []);
});

Deno.test("EventLog - a line of the server's own is written past a spent budget, and not counted as left out", async () => {
  const lines: Array<Record<string, unknown>> = [];
  const log = new EventLog(true, (line) => lines.push(JSON.parse(line)), () => 0);
  for (let i = 0; i < LINE_BURST + 1; i++) log.write("rejected", { reason: "not_found" });
  log.writeOwn("shutdown_start", { ws: 2 });
  assert.equal(lines.length, LINE_BURST + 1);
  const { time: _, ...own } = lines.at(-1)!;
  assert.deepEqual(own, { event: "shutdown_start", ws: 2 });
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  assert.equal(lines.at(-1)?.event, "log_suppressed");
  assert.equal(lines.at(-1)?.lines, 1);
});

Deno.test("EventLog - a long field, such as a 60 KiB path anyone can send, is cut", () => {
  const lines: Array<Record<string, unknown>> = [];
  const log = new EventLog(true, (line) => lines.push(JSON.parse(line)));
  const path = `/api/rooms/${"a".repeat(60_000)}/messages`;
  log.write("rejected", { method: "GET", path, code: "room_not_found" });
  assert.equal(lines[0].path, `${path.slice(0, MAX_FIELD_LENGTH)}…`);
  assert.equal(lines[0].method, "GET");
  assert.equal(lines[0].code, "room_not_found");
});

Deno.test("EventLog - a field is not cut between the two halves of a character", () => {
  const lines: Array<Record<string, unknown>> = [];
  const log = new EventLog(true, (line) => lines.push(JSON.parse(line)));
  // Emoji take two UTF-16 units each: after "/", the limit falls in the middle of one.
  const path = `/${"😀".repeat(MAX_FIELD_LENGTH)}`;
  log.write("rejected", { path });
  const cut = String(lines[0].path);
  assert.ok(cut.isWellFormed(), "a lone half of an emoji");
  assert.equal(cut, `${path.slice(0, MAX_FIELD_LENGTH - 1)}…`);
});

Deno.test("EventLog - flush writes the count of lines left out at once, and only once", async () => {
  const lines: Array<Record<string, unknown>> = [];
  const log = new EventLog(true, (line) => lines.push(JSON.parse(line)), () => 0);
  for (let i = 0; i < LINE_BURST + 2; i++) log.write("rejected", { reason: "not_found" });
  log.flush();
  const { time: _, ...report } = lines.at(-1)!;
  assert.deepEqual(report, { event: "log_suppressed", lines: 2, suppressed_rejected: 2 });
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  log.flush();
  assert.equal(lines.length, LINE_BURST + 1, "no count written again, by the timer or a flush");
});
