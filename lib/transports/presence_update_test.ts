import assert from "node:assert/strict";
import { onlinePeople, typingPeople } from "./presence_update.ts";

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

Deno.test("typingPeople - pairs each name typing with the author id at its place", () => {
  const presence = {
    online: ["ann", "sam", "sam"],
    onlineAuthorIds: ["a1", "s1", "s2"],
    typing: ["sam", "sam"],
    typingAuthorIds: ["s1", "s2"],
  };
  assert.deepEqual(typingPeople(presence), [
    { name: "sam", authorId: "s1" },
    { name: "sam", authorId: "s2" },
  ]);
  // A server without them, or ids that do not line up, give names only.
  assert.deepEqual(typingPeople({ online: [], typing: ["sam"] }), [{ name: "sam" }]);
  assert.deepEqual(typingPeople({ ...presence, typingAuthorIds: ["s1"] }), [
    { name: "sam" },
    { name: "sam" },
  ]);
});
