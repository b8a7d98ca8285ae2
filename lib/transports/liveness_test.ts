import assert from "node:assert/strict";
import { withTiming } from "../../tests/timing.ts";
import { Liveness, type LivenessOptions, SILENCE } from "./liveness.ts";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `test` with a {@link Liveness} checking every `checkMs`, always stopped after. */
async function watching(
  checkMs: number,
  options: LivenessOptions,
  test: (liveness: Liveness) => Promise<void>,
): Promise<void> {
  await withTiming(SILENCE, { checkMs }, async () => {
    const liveness = new Liveness(options);
    try {
      await test(liveness);
    } finally {
      liveness.stop();
    }
  });
}

Deno.test("Liveness - a server heard from often enough is alive; one silent past deadMs is dead, once", async () => {
  let dead = 0;
  await watching(10, { deadMs: 200, quietMs: 200, onDead: () => dead++ }, async (liveness) => {
    for (let i = 0; i < 6; i++) {
      await pause(50);
      liveness.heard();
    }
    assert.equal(dead, 0);
    await pause(400);
    assert.equal(dead, 1);
  });
});

Deno.test("Liveness - after a silence it asks; an answer keeps it alive, none gives it up", async () => {
  let asked = 0;
  let dead = 0;
  const options = { askAfterMs: 50, answerMs: 200, ask: () => ++asked > 0, onDead: () => dead++ };
  await watching(10, options, async (liveness) => {
    await pause(120);
    assert.equal(asked, 1);
    liveness.heard();
    await pause(50);
    assert.equal(dead, 0);
    await pause(450);
    assert.equal(asked, 2, "asked again after the next silence");
    assert.equal(dead, 1, "no answer to the second");
  });
});

Deno.test("Liveness - a check that comes late asks first, never takes a quiet link for dead at once", async () => {
  let asked = 0;
  let dead = 0;
  const options = { askAfterMs: 10, answerMs: 150, ask: () => ++asked > 0, onDead: () => dead++ };
  // Checks far apart, as a hidden tab's timers run: by the first one, the silence is longer than
  // asking and waiting for the answer together.
  await watching(300, options, async (liveness) => {
    await pause(350);
    assert.deepEqual([asked, dead], [1, 0]);
    liveness.heard();
    await pause(300);
    assert.equal(dead, 0);
  });
});

Deno.test("Liveness - an ask that could not be made is not waited on", async () => {
  let dead = 0;
  const options = { askAfterMs: 20, answerMs: 30, ask: () => false, onDead: () => dead++ };
  await watching(10, options, async () => {
    await pause(200);
    assert.equal(dead, 0);
  });
});

Deno.test("Liveness - suspected, it asks at once and gives up without an answer, but not too often", async () => {
  let asked = 0;
  let dead = 0;
  const options = {
    askAfterMs: 60_000,
    answerMs: 100,
    ask: () => ++asked > 0,
    onDead: () => dead++,
  };
  await withTiming(SILENCE, { pingGapMs: 300 }, () =>
    watching(10, options, async (liveness) => {
      liveness.suspect();
      assert.equal(asked, 1);
      liveness.heard();
      // Asked again so soon, the server would not answer: the link is not judged on it.
      liveness.suspect();
      await pause(200);
      assert.deepEqual([asked, dead], [1, 0]);
      await pause(150);
      liveness.suspect();
      liveness.suspect();
      assert.equal(asked, 2, "one ask awaits its answer");
      await pause(200);
      assert.equal(dead, 1);
    }));
});

Deno.test("Liveness - an ask left unanswered gives the link up when the answer is due, not at the next check", async () => {
  let dead = 0;
  const options = { askAfterMs: 60_000, answerMs: 100, ask: () => true, onDead: () => dead++ };
  await watching(60_000, options, async (liveness) => {
    liveness.suspect();
    await pause(300);
    assert.equal(dead, 1);
  });
});

Deno.test("Liveness - suspected, a server that speaks unasked is given up at once if silent past quietMs, else kept", async () => {
  let dead = 0;
  await watching(10, { deadMs: 60_000, quietMs: 100, onDead: () => dead++ }, async (liveness) => {
    liveness.suspect();
    await pause(50);
    liveness.suspect();
    assert.equal(dead, 0);
    await pause(100);
    assert.equal(dead, 0, "only judged when suspected");
    liveness.suspect();
    assert.equal(dead, 1);
  });
});

Deno.test("Liveness - suspected after the machine slept, the silence counts the sleep the monotonic clock missed", async () => {
  let dead = 0;
  const options = { deadMs: 60_000, quietMs: 10_000, onDead: () => dead++ };
  await watching(10, options, (liveness) => {
    const now = Date.now;
    // Asleep an hour: the wall clock went on, the monotonic clock (on some systems) did not.
    Date.now = () => now() + 3_600_000;
    try {
      liveness.suspect();
    } finally {
      Date.now = now;
    }
    assert.equal(dead, 1);
    return Promise.resolve();
  });
});
