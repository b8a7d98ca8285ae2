import assert from "node:assert/strict";
import { DrainRollCall } from "./drain_roll_call.ts";

/** Whether `promise` settles within a few turns of the event loop (messages included). */
async function settlesSoon(promise: Promise<void>): Promise<boolean> {
  let settled = false;
  promise.then(() => settled = true);
  await new Promise((resolve) => setTimeout(resolve, 30));
  return settled;
}

Deno.test("DrainRollCall - a worker that knows of no other is done at once", async () => {
  const roll = new DrainRollCall(`test-${crypto.randomUUID()}`, "a");
  try {
    roll.stopping([]);
    assert.ok(await settlesSoon(roll.done()));
  } finally {
    roll.close();
  }
});

Deno.test("DrainRollCall - done waits for every worker known of or heard stopping", async () => {
  const channel = `test-${crypto.randomUUID()}`;
  const [a, b, c] = ["a", "b", "c"].map((id) => new DrainRollCall(channel, id));
  try {
    a.stopping(["b"]);
    b.stopping(["a"]);
    c.stopping([]); // a never heard of c, but hears it stopping.
    const aDone = a.done();
    assert.equal(await settlesSoon(aDone), false, "b and c are not done");
    b.done();
    assert.equal(await settlesSoon(aDone), false, "c is not done");
    const cDone = c.done();
    assert.ok(await settlesSoon(aDone), "everyone is done");
    assert.ok(await settlesSoon(cDone), "c heard a and b stop, and both are done");
  } finally {
    for (const roll of [a, b, c]) roll.close();
  }
});
