import assert from "node:assert/strict";
import { withConsoleErrors } from "../tests/console_errors.ts";
import { RollCall, warnOnce } from "./roll_call.ts";

/** Whether `promise` settles within a few turns of the event loop (messages included). */
async function settlesSoon(promise: Promise<void>): Promise<boolean> {
  let settled = false;
  promise.then(() => settled = true);
  await new Promise((resolve) => setTimeout(resolve, 30));
  return settled;
}

Deno.test("RollCall - the only worker is done at once", async () => {
  const roll = new RollCall(1);
  try {
    assert.ok(await settlesSoon(roll.done()));
  } finally {
    roll.close();
  }
});

Deno.test("RollCall - done waits until as many workers as the process runs are done", async () => {
  const [a, b, c] = [3, 3, 3].map((workers) => new RollCall(workers));
  try {
    const aDone = a.done();
    assert.equal(await settlesSoon(aDone), false, "b and c are not done");
    b.done();
    assert.equal(await settlesSoon(aDone), false, "c, which a never heard of, is not done");
    const cDone = c.done();
    assert.ok(await settlesSoon(aDone), "everyone is done");
    assert.ok(await settlesSoon(cDone), "c heard a and b were done before it was");
  } finally {
    for (const roll of [a, b, c]) roll.close();
  }
});

Deno.test("RollCall - a worker that joins after another is done hears it was", async () => {
  // A worker still starting when the signal came joins the roll call after a quick one is done.
  const early = new RollCall(2);
  let late: RollCall | undefined;
  try {
    const earlyDone = early.done();
    await settlesSoon(earlyDone);
    late = new RollCall(2);
    assert.ok(await settlesSoon(late.done()), "the late worker heard the early one was done");
    assert.ok(await settlesSoon(earlyDone));
  } finally {
    early.close();
    late?.close();
  }
});

Deno.test("RollCall - once all are done, exactly one worker goes first, on a roll call of its own", async () => {
  const rolls = [3, 3, 3].map((workers) => new RollCall(workers, "parley:test-roll-call"));
  const shutdown = new RollCall(2);
  try {
    await Promise.all(rolls.map((roll) => roll.done()));
    assert.equal(rolls.filter((roll) => roll.first).length, 1);
    assert.equal(await settlesSoon(shutdown.done()), false, "another roll call heard nothing");
  } finally {
    for (const roll of [...rolls, shutdown]) roll.close();
  }
});

Deno.test("warnOnce - of the workers of a process, exactly one writes the warning", async () => {
  const logged = await withConsoleErrors(async (logged) => {
    await Promise.all([1, 2, 3].map(() => warnOnce("Warning: something is missing", 3)));
    return logged;
  });
  assert.deepEqual(logged, [["Warning: something is missing"]]);
});

Deno.test("warnOnce - the only worker writes the warning at once", async () => {
  const logged = await withConsoleErrors(async (logged) => {
    await warnOnce("Warning: something is missing", 1);
    return logged;
  });
  assert.deepEqual(logged, [["Warning: something is missing"]]);
});

Deno.test({
  name: "warnOnce - with the count unknown, one worker a core writes the warning once",
  // `deno serve --parallel` without DENO_JOBS runs one a core: on one core, one worker.
  ignore: navigator.hardwareConcurrency < 2,
  fn: async () => {
    const logged = await withConsoleErrors(async (logged) => {
      const workers = Array.from({ length: navigator.hardwareConcurrency }, () => undefined);
      await Promise.all(workers.map((count) => warnOnce("Warning: something is missing", count)));
      return logged;
    });
    assert.deepEqual(logged, [["Warning: something is missing"]]);
  },
});

Deno.test("warnOnce - with the count unknown, a worker alone still writes the warning", async () => {
  const logged = await withConsoleErrors(async (logged) => {
    await warnOnce("Warning: something is missing", undefined);
    return logged;
  });
  assert.deepEqual(logged, [["Warning: something is missing"]]);
});
