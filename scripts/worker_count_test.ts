import assert from "node:assert/strict";
import { defaultWorkerCount, workerJobs } from "./worker_count.ts";

Deno.test("defaultWorkerCount - leaves one core spare but always runs one worker", () => {
  assert.equal(defaultWorkerCount(1), 1);
  assert.equal(defaultWorkerCount(2), 1);
  assert.equal(defaultWorkerCount(4), 3);
  assert.equal(defaultWorkerCount(16), 15);
});

Deno.test("workerJobs - an operator's DENO_JOBS wins over the default", () => {
  assert.equal(workerJobs("2", 2), "2");
  assert.equal(workerJobs(undefined, 8), "7");
  assert.equal(workerJobs("", 8), "7");
});
