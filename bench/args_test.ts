import assert from "node:assert/strict";
import { parseBenchArgs } from "./args.ts";

Deno.test("parseBenchArgs - the many-rooms append run at capacity keeps 8 messages in flight", () => {
  assert.equal(parseBenchArgs(["append"]).appendWindow, 8);
  assert.equal(parseBenchArgs(["append", "--append-window", "16"]).appendWindow, 16);
  assert.equal(parseBenchArgs(["append", "--append-window", "1"]).appendWindow, 1);
});

Deno.test("parseBenchArgs - an append window that is not a positive whole number is refused", () => {
  for (const bad of ["0", "-2", "many"]) {
    assert.throws(
      () => parseBenchArgs(["append", `--append-window=${bad}`]),
      /--append-window must be a positive number/,
    );
  }
  for (const bad of ["0.4", "2.5"]) {
    assert.throws(
      () => parseBenchArgs(["append", `--append-window=${bad}`]),
      /--append-window must be a whole number/,
    );
  }
});

Deno.test("parseBenchArgs - a sweep bisects twice after its first failed rate unless told otherwise", () => {
  assert.equal(parseBenchArgs(["sweep"]).sweepRefine, 2);
  assert.equal(parseBenchArgs(["sweep", "--sweep-refine", "3"]).sweepRefine, 3);
  assert.throws(() => parseBenchArgs(["sweep", "--sweep-refine=1.5"]), /whole number/);
});
