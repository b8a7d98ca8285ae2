import assert from "node:assert/strict";
import { onlinePeople } from "./presence_update.ts";

Deno.test("onlinePeople - pairs each name with the author id at its place", () => {
  assert.deepEqual(
    onlinePeople({
      online: ["ann", "sam", "sam"],
      onlineAuthorIds: ["a1", "s1", "s2"],
      typing: [],
    }),
    [{ name: "ann", authorId: "a1" }, { name: "sam", authorId: "s1" }, {
      name: "sam",
      authorId: "s2",
    }],
  );
});

Deno.test("onlinePeople - a server without author ids gives names only", () => {
  assert.deepEqual(onlinePeople({ online: ["ann", "sam"], typing: [] }), [
    { name: "ann" },
    { name: "sam" },
  ]);
});

Deno.test("onlinePeople - ids that do not line up with the names are given to no one", () => {
  const online = ["ann", "sam"];
  assert.deepEqual(onlinePeople({ online, onlineAuthorIds: ["a1"], typing: [] }), [
    { name: "ann" },
    { name: "sam" },
  ]);
  const odd = JSON.parse('{"online":["ann","sam"],"onlineAuthorIds":["a1",7],"typing":[]}');
  assert.deepEqual(onlinePeople(odd), [{ name: "ann", authorId: "a1" }, { name: "sam" }]);
});
