import assert from "node:assert/strict";
import { DrainRollCall } from "./drain_roll_call.ts";

/** Whether `promise` settles within a few turns of the event loop (messages included). */
async function settlesSoon(promise: Promise<void>): Promise<boolean> {
  let settled = false;
  promise.then(() => settled = true);
  await new Promise((resolve) => setTimeout(resolve, 30));
  return settled;
}

Deno.test("DrainRollCall - the only worker is done at once", async () => {
  const roll = new DrainRollCall(1);
  try {
    assert.ok(await settlesSoon(roll.done()));
  } finally {
    roll.close();
  }
});

Deno.test("DrainRollCall - done waits until as many workers as the process runs are done", async () => {
  const [a, b, c] = [3, 3, 3].map((workers) => new DrainRollCall(workers));
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

Deno.test("DrainRollCall - a worker that joins after another is done hears it was", async () => {
  // A worker still starting when the signal came joins the roll call after a quick one is done.
  const early = new DrainRollCall(2);
  let late: DrainRollCall | undefined;
  try {
    const earlyDone = early.done();
    await settlesSoon(earlyDone);
    late = new DrainRollCall(2);
    assert.ok(await settlesSoon(late.done()), "the late worker heard the early one was done");
    assert.ok(await settlesSoon(earlyDone));
  } finally {
    early.close();
    late?.close();
  }
});
