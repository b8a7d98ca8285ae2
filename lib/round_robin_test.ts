import assert from "node:assert/strict";
import { RoundRobin } from "./round_robin.ts";

function turns<T>(robin: RoundRobin<T>, count: number): T[][] {
  return Array.from({ length: count }, () => robin.next());
}

Deno.test("RoundRobin - every member comes up once per round, a few at a time", () => {
  const robin = new RoundRobin<number>(10);
  for (let i = 0; i < 25; i++) robin.add(i);
  robin.add(3);
  const round = turns(robin, 10);
  assert.deepEqual(round.map((slice) => slice.length), [3, 3, 3, 3, 3, 2, 2, 2, 2, 2]);
  assert.deepEqual(
    round.flat().sort((a, b) => a - b),
    Array.from({ length: 25 }, (_, i) => i),
    "each member once, the one added twice included",
  );
  assert.deepEqual(turns(robin, 10), round, "the next round is the same");
});

Deno.test("RoundRobin - members who leave stop coming up, and newcomers fill the emptied slices", () => {
  const robin = new RoundRobin<string>(3);
  for (const member of ["a", "b", "c", "d", "e", "f"]) robin.add(member);
  robin.delete("a");
  robin.delete("d");
  robin.delete("nobody");
  assert.deepEqual(turns(robin, 3), [[], ["b", "e"], ["c", "f"]]);
  robin.add("g");
  robin.add("h");
  assert.deepEqual(turns(robin, 3), [["g", "h"], ["b", "e"], ["c", "f"]]);
});
