import assert from "node:assert/strict";
import { readConfig } from "./config.ts";
import { RollCall } from "./roll_call.ts";
import { EventLog, LINE_BURST } from "./event_log.ts";
import { createServices } from "./services.ts";
import { EXIT_GRACE_MS, GracefulShutdown } from "./shutdown.ts";
import { withConsoleErrors } from "../tests/console_errors.ts";
import { within } from "../tests/wait_for.ts";

// A request that never ends misses any deadline; a worker that drains must do so well within it.
const SHORT_DEADLINE_MS = 100;
const LONG_DEADLINE_MS = 1_000;
// How long a test waits for a callback before it fails instead of hanging. The wait's timer also
// keeps the test running: the shutdown's own timers are unref'd, so they never hold a worker up.
const GIVE_UP_MS = 5_000;
const INFO = {
  remoteAddr: { transport: "tcp", hostname: "192.0.2.1", port: 1 },
  completed: Promise.resolve(),
} as Deno.ServeHandlerInfo<Deno.NetAddr>;

/** Services on an in-memory store, with `DENO_JOBS` set to `jobs` when given. */
async function servicesFor(jobs?: string) {
  const env: Record<string, string> = { PARLEY_LOG: "off", ...(jobs ? { DENO_JOBS: jobs } : {}) };
  return await createServices(await Deno.openKv(":memory:"), readConfig((name) => env[name]));
}

Deno.test("GracefulShutdown - a request still running at the deadline: the worker had not drained", async () => {
  const deadline = Promise.withResolvers<boolean>();
  const shutdown = new GracefulShutdown(await servicesFor(), {
    deadlineMs: SHORT_DEADLINE_MS,
    onDeadline: deadline.resolve,
  });
  const request = Promise.withResolvers<Response>();
  const answered = shutdown.handler(() => request.promise)(new Request("http://parley/"), INFO);
  const done = shutdown.shutdown();
  assert.equal(await within(deadline.promise, GIVE_UP_MS, "the deadline"), false);
  request.resolve(new Response("late"));
  assert.equal(await (await answered).text(), "late");
  await done;
});

Deno.test("GracefulShutdown - drained but another worker still running at the deadline: the worker had drained", async () => {
  const deadline = Promise.withResolvers<boolean>();
  const stuck = Promise.withResolvers<void>();
  const shutdown = new GracefulShutdown(await servicesFor("2"), {
    deadlineMs: LONG_DEADLINE_MS,
    onDeadline: deadline.resolve,
    onStuck: stuck.resolve,
  });
  const done = shutdown.shutdown();
  assert.equal(await within(deadline.promise, GIVE_UP_MS, "the deadline"), true);
  // The other worker finishes late; then this one would end the process if Deno kept it up.
  const other = new RollCall(2);
  void other.done();
  await done;
  other.close();
  const waited = performance.now();
  await within(stuck.promise, GIVE_UP_MS, "the end of the grace period");
  assert.ok(performance.now() - waited >= EXIT_GRACE_MS - 50, "the grace period runs first");
});

Deno.test("GracefulShutdown - failed appends counted but not yet written are written as the store closes", async () => {
  const services = await servicesFor();
  await services.log.createRoom("lobby", "Lobby");
  const atomic = services.kv.atomic.bind(services.kv);
  services.kv.atomic = () => {
    const op = atomic();
    op.commit = () => Promise.reject(new TypeError("database or disk is full"));
    return op;
  };
  const logged = await withConsoleErrors(async (logged) => {
    for (const id of ["m-1", "m-2", "m-3"]) {
      await assert.rejects(services.log.append("lobby", { id, author: "ann", text: id }));
    }
    await new GracefulShutdown(services).shutdown();
    return logged;
  });
  assert.deepEqual(logged.map(([line]) => line), [
    'Cannot append to "lobby":',
    'Cannot append to "lobby" (1 more like it left out since the last line):',
  ]);
});

Deno.test("GracefulShutdown - the count of log lines left out is written before the shutdown finishes", async () => {
  const services = await servicesFor();
  const lines: Array<Record<string, unknown>> = [];
  services.events = new EventLog(true, (line) => lines.push(JSON.parse(line)), () => 0);
  for (let i = 0; i < LINE_BURST + 3; i++) services.events.write("rejected", { reason: "x" });
  await new GracefulShutdown(services).shutdown();
  const { time: _, ...report } = lines.at(-2)!;
  assert.deepEqual(report, { event: "log_suppressed", lines: 3, suppressed_rejected: 3 });
  assert.equal(lines.at(-1)?.event, "shutdown_finished");
});
