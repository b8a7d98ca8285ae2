import assert from "node:assert/strict";
import { authorTag, sharedNames } from "./messages.ts";
import {
  AVATAR_HUES,
  avatarHue,
  cleanNames,
  cleanPeople,
  entryText,
  initial,
  lineText,
  onlineEntries,
  onlineLabel,
  onlineNames,
  presenceLine,
  samePeople,
  sharedOnlineNames,
  stillTyping,
  typingLine,
  withoutSelf,
} from "./people.ts";

const NOBODY_SHARED = new Set<string>();
/** The typing line for typists a server lists without author ids, `self` typing under its name. */
const typingText = (names: string[], self: string) =>
  lineText(typingLine(names.map((name) => ({ name })), NOBODY_SHARED, { name: self }));
const untagged = (online: string[]) =>
  onlineEntries(online.map((name) => ({ name })), NOBODY_SHARED);
const presenceText = (online: string[]) => lineText(presenceLine(untagged(online)));
/** Two sams online, each with an author id, and ann. */
const SAMS = [
  { name: "ann", authorId: "annA0001" },
  { name: "sam", authorId: "samA0001" },
  { name: "sam", authorId: "samB0002" },
];
const tagOf = (authorId: string) => authorTag({ author: "sam", authorId }, new Set(["sam"]));

Deno.test("typingLine - names one, two or three people and counts the rest", () => {
  assert.equal(typingText([], "me"), "");
  assert.equal(typingText(["ann"], "me"), "ann is typing…");
  assert.equal(typingText(["ann", "bob"], "me"), "ann and bob are typing…");
  assert.equal(typingText(["ann", "bob", "carol"], "me"), "ann, bob and carol are typing…");
  assert.equal(
    typingText(["ann", "bob", "carol", "dan", "eve"], "me"),
    "ann, bob and 3 others are typing…",
  );
});

Deno.test("typingLine - leaves out your own name, and counts two people of one name", () => {
  assert.equal(typingText(["me"], "me"), "");
  assert.equal(typingText(["me", "ann", "ann"], "me"), "ann (2) are typing…");
  assert.equal(typingText(["ann", "bob", "ann"], "me"), "ann (2) and bob are typing…");
  assert.equal(
    typingText(["ann", "ann", "bob", "carol", "dan", "eve"], "me"),
    "ann (2), bob and 3 others are typing…",
  );
});

Deno.test("typingLine - shows someone else of your name typing while you type", () => {
  assert.equal(typingText(["sam", "sam"], "sam"), "sam is typing…");
  assert.equal(typingText(["sam", "sam", "sam"], "sam"), "sam (2) are typing…");
  assert.equal(typingText(["sam"], "sam"), "");
  assert.equal(typingText(["sam"], ""), "sam is typing…");
});

Deno.test("typingLine - each session of a shared name with its tag, the one online and messages show", () => {
  const sams = SAMS.slice(1);
  const shared = new Set(["sam"]);
  assert.deepEqual(typingLine(sams, shared), [
    { name: "sam", tag: tagOf("samA0001") },
    " and ",
    { name: "sam", tag: tagOf("samB0002") },
    " are typing…",
  ]);
  assert.equal(
    lineText(typingLine([...SAMS, { name: "bob" }, { name: "cy" }], shared)),
    `ann, sam ${tagOf("samA0001")} and 3 others are typing…`,
  );
  // A name nobody else has, or sessions without ids, are not tagged.
  assert.equal(lineText(typingLine(sams, NOBODY_SHARED)), "sam (2) are typing…");
  assert.equal(
    lineText(typingLine([{ name: "sam" }, { name: "sam" }], shared)),
    "sam (2) are typing…",
  );
});

Deno.test("typingLine - names that look alike are each tagged", () => {
  // The second "а" is Cyrillic.
  const authors = [{ author: "Walker", authorId: "wlkA0001" }, {
    author: "Wаlker",
    authorId: "wlkB0002",
  }];
  const typists = authors.map(({ author, authorId }) => ({ name: author, authorId }));
  const shared = sharedNames(authors);
  const tags = authors.map((author) => authorTag(author, shared));
  assert.notEqual(tags[0], tags[1]);
  assert.equal(
    lineText(typingLine(typists, shared)),
    `Walker ${tags[0]} and Wаlker ${tags[1]} are typing…`,
  );
});

Deno.test("typingLine - leaves out the visitor's session by its author id, and no other of their name", () => {
  const shared = new Set(["sam"]);
  const mine = { authorId: "samB0002", name: "" };
  assert.equal(
    lineText(typingLine(SAMS, shared, mine)),
    `ann and sam ${tagOf("samA0001")} are typing…`,
  );
  // Whether or not this tab knows the visitor types, and under which name.
  assert.equal(
    lineText(typingLine(SAMS.slice(1), shared, { ...mine, name: "sam" })),
    `sam ${tagOf("samA0001")} is typing…`,
  );
  assert.deepEqual(typingLine([SAMS[2]], shared, mine), []);
});

Deno.test("withoutSelf - by author id first; by name only among typists without ids", () => {
  assert.deepEqual(withoutSelf(SAMS, { authorId: "samA0001", name: "sam" }), [SAMS[0], SAMS[2]]);
  assert.deepEqual(withoutSelf(SAMS, { authorId: "other", name: "sam" }), SAMS);
  const unknown = [{ name: "sam" }, { name: " sam " }];
  assert.deepEqual(withoutSelf(unknown, { authorId: "x", name: "sam" }), [{ name: "sam" }]);
  assert.deepEqual(withoutSelf([{ name: "sam" }], { name: "" }), [{ name: "sam" }]);
});

Deno.test("stillTyping - a message ends its sender's spell: by author id, or by a name no one else online has", () => {
  const message = (author: string, authorId?: string) => ({ author, authorId });
  // The sam who wrote stops; the other sam still types.
  assert.deepEqual(stillTyping(SAMS, [message("sam", "samA0001")], SAMS), [SAMS[0], SAMS[2]]);
  // Typists without ids (an older server): a name only one session online has.
  const names = [{ name: "ann" }, { name: "sam" }];
  assert.deepEqual(stillTyping(names, [message("ann", "annA0001")], SAMS), [{ name: "sam" }]);
  assert.deepEqual(stillTyping(names, [message("sam", "samA0001")], SAMS), names);
});

Deno.test("presenceLine - lists a few names, counts many", () => {
  assert.equal(presenceText([]), "");
  assert.equal(presenceText(["ann"]), "Online: ann");
  // One name per session: two people called ann.
  assert.equal(presenceText(["ann", "bob", "ann"]), "Online: ann (2), bob");
  assert.equal(presenceText(["ann", "ann", "ann", "bob"]), "Online: ann (3), bob");
  assert.equal(presenceText(["a", "b", "c", "d", "e"]), "5 online");
  // Long names would be cut off: a count opens the full list instead.
  const long = ["Alexandria Konstantinopoulou", "Dmitri Ivanovich Petrov", "ann"];
  assert.equal(presenceText(long), "3 online");
  assert.equal(presenceText(long.slice(0, 2)), "2 online");
  assert.equal(
    presenceText(["Alexandria Konstantinopoulou"]),
    "Online: Alexandria Konstantinopoulou",
  );
  // Up to 40 characters of names are listed.
  assert.equal(
    presenceText(["a".repeat(19), "b".repeat(19)]),
    `Online: ${"a".repeat(19)}, ${"b".repeat(19)}`,
  );
  assert.equal(presenceText(["a".repeat(19), "b".repeat(20)]), "2 online");
});

Deno.test("presenceLine and typingLine - each name is a part of its own, to be shown isolated", () => {
  assert.deepEqual(presenceLine(untagged(["Me", "אסתר", "דוד"])), [
    "Online: ",
    { name: "Me" },
    ", ",
    { name: "אסתר" },
    ", ",
    { name: "דוד" },
  ]);
  assert.deepEqual(typingLine([{ name: "אסתר" }, { name: "דוד" }], NOBODY_SHARED), [
    { name: "אסתר" },
    " and ",
    { name: "דוד" },
    " are typing…",
  ]);
});

Deno.test("cleanNames and onlineNames - trim, drop blanks, count a name's sessions", () => {
  assert.deepEqual(cleanNames([" bob", "ann", "", "bob "]), ["bob", "ann", "bob"]);
  const online = onlineNames([" bob", "ann", "", "bob "]);
  assert.deepEqual(online, [{ name: "bob", count: 2 }, { name: "ann", count: 1 }]);
  assert.deepEqual(online.map(onlineLabel), ["bob (2)", "ann"]);
});

Deno.test("onlineEntries - each session of a shared name on its own with its tag, other names counted", () => {
  const shared = new Set(["sam"]);
  assert.deepEqual(onlineEntries(SAMS, shared), [
    { name: "ann", count: 1, tag: "" },
    { name: "sam", count: 1, tag: tagOf("samA0001") },
    { name: "sam", count: 1, tag: tagOf("samB0002") },
  ]);
  assert.notEqual(tagOf("samA0001"), tagOf("samB0002"));
  // Not shared: counted, as before.
  assert.deepEqual(onlineEntries(SAMS, NOBODY_SHARED).map(entryText), ["ann", "sam (2)"]);
  // Tagged when the message list tags the name, though only one of it is online.
  assert.deepEqual(onlineEntries(SAMS.slice(0, 2), shared).map(entryText), [
    "ann",
    `sam ${tagOf("samA0001")}`,
  ]);
});

Deno.test("onlineEntries - the visitor's own tagged session says so", () => {
  const entries = onlineEntries(SAMS, new Set(["sam"]), "samB0002");
  assert.deepEqual(entries.map(entryText), [
    "ann",
    `sam ${tagOf("samA0001")}`,
    `sam ${tagOf("samB0002")} (you)`,
  ]);
  assert.deepEqual(presenceLine(entries).at(-1), {
    name: "sam",
    tag: tagOf("samB0002"),
    you: true,
  });
  // A name nobody else has needs no telling apart.
  assert.deepEqual(onlineEntries(SAMS, NOBODY_SHARED, "samB0002").map(entryText), [
    "ann",
    "sam (2)",
  ]);
});

Deno.test("onlineEntries - sessions without author ids (an older server) are counted by name", () => {
  const online = [{ name: "sam" }, { name: "ann" }, { name: " sam " }, { name: " " }];
  assert.deepEqual(onlineEntries(online, new Set(["sam"])).map(entryText), ["sam (2)", "ann"]);
});

Deno.test("presenceLine - a shared name's sessions are listed each with its tag", () => {
  const line = presenceLine(onlineEntries(SAMS, new Set(["sam"])));
  assert.deepEqual(line, [
    "Online: ",
    { name: "ann" },
    ", ",
    { name: "sam", tag: tagOf("samA0001") },
    ", ",
    { name: "sam", tag: tagOf("samB0002") },
  ]);
  assert.equal(lineText(line), `Online: ann, sam ${tagOf("samA0001")}, sam ${tagOf("samB0002")}`);
  // Tags count towards the characters listed: past 40, a count of sessions.
  const long = ["samA0001", "samB0002"].map((authorId) => ({ name: "samantha-jones", authorId }));
  assert.equal(
    lineText(presenceLine(onlineEntries(long, NOBODY_SHARED))),
    "Online: samantha-jones (2)",
  );
  assert.deepEqual(presenceLine(onlineEntries(long, new Set(["samantha-jones"]))), ["2 online"]);
});

Deno.test("cleanPeople - trims names and drops blanks, keeping each session's author id", () => {
  assert.deepEqual(
    cleanPeople([{ name: " sam ", authorId: "s1" }, { name: "" }, { name: "ann" }]),
    [
      { name: "sam", authorId: "s1" },
      { name: "ann" },
    ],
  );
});

Deno.test("sharedOnlineNames - names several sessions have, or that look like another online", () => {
  const online = onlineNames(["bob", "ann", "bob", "Sam", "Ѕаm", "dee", "Ann"]);
  assert.deepEqual(sharedOnlineNames(online), ["bob", "ann", "Sam", "Ѕаm", "Ann"]);
  assert.deepEqual(sharedOnlineNames(onlineNames(["bob", "ann"])), []);
  assert.deepEqual(sharedOnlineNames(onlineNames(["Ivan", "ivan", "Вера", "вера"])), [
    "Ivan",
    "ivan",
    "Вера",
    "вера",
  ]);
});

Deno.test("samePeople - the same names and ids in one order, and nothing known is never the same", () => {
  const people = [{ name: "ann", authorId: "a1" }, { name: "sam" }];
  assert.equal(samePeople(people, [{ name: "ann", authorId: "a1" }, { name: "sam" }]), true);
  assert.equal(samePeople(people, [{ name: "ann", authorId: "a2" }, { name: "sam" }]), false);
  assert.equal(samePeople(people, [{ name: "sam" }, { name: "ann", authorId: "a1" }]), false);
  assert.equal(samePeople(people, people.slice(1)), false);
  assert.equal(samePeople(null, []), false);
});

Deno.test("avatarHue - is stable per name and within the palette", () => {
  assert.equal(avatarHue("ann"), avatarHue("ann"));
  const hues = new Set(["ann", "bob", "carol", "dan", "eve", "fay", "gus"].map(avatarHue));
  assert.ok(hues.size > 1, "every name got the same colour");
  for (const hue of hues) assert.ok(hue >= 0 && hue < AVATAR_HUES);
  assert.equal(initial(" ann"), "A");
  // The first character as seen: a flag, or a letter with a combining accent, stays whole.
  assert.equal(initial("🇫🇷 Marie"), "🇫🇷");
  assert.equal(initial("e\u0301milie"), "E\u0301");
  assert.equal(initial("👩‍👩‍👧 family"), "👩‍👩‍👧");
  assert.equal(initial("😀 party"), "😀");
  assert.equal(initial(""), "?");
});
