import assert from "node:assert/strict";
import { LogLedger } from "./log_ledger.ts";
import type { Message } from "./types.ts";

function message(room: string, seq: number): Message {
  return { seq, id: `${room}-${seq}`, room, author: "ada", text: `${room} ${seq}`, at: 0 };
}

/** A ledger with log 1 holding a1 and b1, log 2 holding a2, and log 3 holding c1. */
function ledger(): LogLedger {
  const ledger = new LogLedger();
  ledger.add(1, new Map([["a", [message("a", 1)]], ["b", [message("b", 1)]]]));
  ledger.add(2, new Map([["a", [message("a", 2)]], ["empty", []]]));
  ledger.add(3, new Map([["c", [message("c", 1)]]]));
  return ledger;
}

Deno.test("LogLedger - a room's held messages come in seq order across its log values", () => {
  const held = ledger();
  assert.deepEqual(held.logsOf("a"), [1, 2]);
  assert.deepEqual(held.held("a").map(({ seq }) => seq), [1, 2]);
  assert.equal(held.heldCount("a"), 2);
  assert.deepEqual(held.logsOf("empty"), [], "a room with nothing there holds nothing");
  assert.deepEqual(held.held("nobody"), []);
});

Deno.test("LogLedger - a log value empties only once every room in it lets go", () => {
  const held = ledger();
  assert.deepEqual([held.holders(1), held.holders(2), held.holders(4)], [2, 1, 0]);
  held.release("a");
  assert.deepEqual([held.holders(1), held.holders(2)], [1, 0]);
  assert.equal(held.size, 2);
  assert.deepEqual(held.held("b").map(({ seq }) => seq), [1]);
  held.release("b");
  assert.equal(held.size, 1);
  assert.deepEqual(held.logsOf("b"), []);
});

Deno.test("LogLedger - rooms holding old log values come oldest first, each once", () => {
  const held = ledger();
  assert.deepEqual([...held.heldSince(2)], ["a", "b"]);
  assert.deepEqual([...held.heldSince(0)], []);
  assert.deepEqual([...held.heldSince(3)], ["a", "b", "c"]);
  held.clear();
  assert.equal(held.size, 0);
  assert.deepEqual([...held.heldSince(3)], []);
});
