import assert from "node:assert/strict";
import type { Message } from "../types.ts";
import { MAX_SHOWN, MAX_WHILE_READING, takeIn, toNewest } from "./shown.ts";

/** Messages with seqs `first` to `last`. */
function run(first: number, last: number): Message[] {
  return Array.from({ length: last - first + 1 }, (_, i) => ({
    seq: first + i,
    id: `id-${first + i}`,
    room: "lobby",
    author: "bob",
    text: `m${first + i}`,
    at: 0,
  }));
}

/** The first and last seq of `messages` ("1..20"), or "none". */
function span(messages: Message[]): string {
  return messages.length === 0 ? "none" : `${messages[0].seq}..${messages.at(-1)!.seq}`;
}

Deno.test("takeIn - following, the list keeps the latest and says it dropped older ones", () => {
  const next = takeIn({ shown: run(1, 450), held: [] }, run(451, 600), { following: true });
  assert.deepEqual([span(next.shown), span(next.held), next.trimmed], ["101..600", "none", true]);
  const quiet = takeIn({ shown: run(1, 10), held: [] }, run(11, 12), { following: true });
  assert.deepEqual([span(quiet.shown), quiet.trimmed], ["1..12", false]);
});

Deno.test("takeIn - reading, arrivals go below until the list is full, then the newest are held", () => {
  const full = takeIn({ shown: run(1, 900), held: [] }, run(901, 1200), { following: false });
  assert.deepEqual(
    [span(full.shown), span(full.held), full.trimmed],
    [`1..${MAX_WHILE_READING}`, `${MAX_WHILE_READING + 1}..1200`, false],
  );
  // Held on, only the newest are kept; the list does not change.
  const later = takeIn(full, run(1201, 1800), { following: false });
  assert.equal(later.shown, full.shown);
  assert.deepEqual(span(later.held), `${1800 - MAX_SHOWN + 1}..1800`);
});

Deno.test("takeIn - a list paged back past the bound keeps all it shows and holds arrivals", () => {
  const next = takeIn({ shown: run(1, 1500), held: [] }, run(1501, 1502), { following: false });
  assert.deepEqual([span(next.shown), span(next.held)], ["1..1500", "1501..1502"]);
});

Deno.test("toNewest - shows what was held and keeps the latest, without gaps", () => {
  const gap = toNewest({ shown: run(1, 1000), held: run(1301, 1800) });
  assert.deepEqual([span(gap.shown), span(gap.held), gap.trimmed], ["1301..1800", "none", true]);
  const joined = toNewest({ shown: run(1, 300), held: run(301, 320) });
  assert.deepEqual([span(joined.shown), joined.trimmed], ["1..320", false]);
  // Nothing to do: the same list, so nothing re-renders.
  const same = { shown: run(1, 20), held: [] };
  assert.equal(toNewest(same).shown, same.shown);
});

Deno.test("takeIn - following again after holding catches up on what was held", () => {
  const next = takeIn({ shown: run(1, 1000), held: run(1001, 1010) }, run(1011, 1012), {
    following: true,
  });
  assert.deepEqual([span(next.shown), span(next.held)], [`${1012 - MAX_SHOWN + 1}..1012`, "none"]);
});
