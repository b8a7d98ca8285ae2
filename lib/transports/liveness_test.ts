import assert from "node:assert/strict";
import { withTiming } from "../../tests/timing.ts";
import { Liveness, SILENCE } from "./liveness.ts";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("Liveness - a server heard from often enough is alive; one silent past deadMs is dead, once", async () => {
  await withTiming(SILENCE, { checkMs: 10 }, async () => {
    let dead = 0;
    const liveness = new Liveness({ deadMs: 200, onDead: () => dead++ });
    try {
      for (let i = 0; i < 6; i++) {
        await pause(50);
        liveness.heard();
      }
      assert.equal(dead, 0);
      await pause(400);
      assert.equal(dead, 1);
    } finally {
      liveness.stop();
    }
  });
});

Deno.test("Liveness - after a silence it asks; an answer keeps it alive, none gives it up", async () => {
  await withTiming(SILENCE, { checkMs: 10 }, async () => {
    let asked = 0;
    let dead = 0;
    const liveness = new Liveness({
      askAfterMs: 50,
      answerMs: 200,
      ask: () => ++asked > 0,
      onDead: () => dead++,
    });
    try {
      await pause(120);
      assert.equal(asked, 1);
      liveness.heard();
      await pause(50);
      assert.equal(dead, 0);
      await pause(450);
      assert.equal(asked, 2, "asked again after the next silence");
      assert.equal(dead, 1, "no answer to the second");
    } finally {
      liveness.stop();
    }
  });
});

Deno.test("Liveness - a check that comes late asks first, never takes a quiet link for dead at once", async () => {
  // Checks far apart, as a hidden tab's timers run: by the first one, the silence is longer than
  // asking and waiting for the answer together.
  await withTiming(SILENCE, { checkMs: 300 }, async () => {
    let asked = 0;
    let dead = 0;
    const liveness = new Liveness({
      askAfterMs: 10,
      answerMs: 150,
      ask: () => ++asked > 0,
      onDead: () => dead++,
    });
    try {
      await pause(350);
      assert.deepEqual([asked, dead], [1, 0]);
      liveness.heard();
      await pause(300);
      assert.equal(dead, 0);
    } finally {
      liveness.stop();
    }
  });
});

Deno.test("Liveness - an ask that could not be made is not waited on", async () => {
  await withTiming(SILENCE, { checkMs: 10 }, async () => {
    let dead = 0;
    const liveness = new Liveness({
      askAfterMs: 20,
      answerMs: 30,
      ask: () => false,
      onDead: () => dead++,
    });
    try {
      await pause(200);
      assert.equal(dead, 0);
    } finally {
      liveness.stop();
    }
  });
});
