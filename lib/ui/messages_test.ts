import assert from "node:assert/strict";
import type { Message } from "../types.ts";
import {
  announcement,
  authorTag,
  continuesGroup,
  describeFailure,
  layoutMessages,
  mayHaveOlder,
  mergeMessages,
  resyncAnnouncement,
  sameNames,
  sharedNames,
} from "./messages.ts";
import { UTC_CLOCK } from "./time.ts";

const MINUTE = 60_000;
const T0 = Date.UTC(2025, 2, 3, 22, 0); // Monday 3 March 2025, 22:00 UTC

function message(seq: number, author: string, at: number, text = `m${seq}`): Message {
  return { seq, id: `id-${seq}`, room: "lobby", author, text, at };
}

/** The rows as short strings: "day 2025-03-03", "ann* m1" (a group's first), "ann m2". */
function shape(messages: Message[], clock = UTC_CLOCK): string[] {
  return layoutMessages(messages, clock).map((row) =>
    row.kind === "day"
      ? `day ${row.day}`
      : `${row.message.author}${row.first ? "*" : ""} ${row.message.text}`
  );
}

Deno.test("layoutMessages - consecutive messages of one author within 5 minutes share a header", () => {
  assert.deepEqual(
    shape([
      message(1, "ann", T0),
      message(2, "ann", T0 + MINUTE),
      message(3, "ann", T0 + 5 * MINUTE),
      message(4, "bob", T0 + 6 * MINUTE),
      message(5, "ann", T0 + 7 * MINUTE),
    ]),
    ["day 2025-03-03", "ann* m1", "ann m2", "ann m3", "bob* m4", "ann* m5"],
  );
});

Deno.test("layoutMessages - two people of one name (two sessions) start groups of their own", () => {
  const by = (authorId: string | undefined, seq: number) => ({
    ...message(seq, "sam", T0 + seq * MINUTE),
    ...(authorId && { authorId }),
  });
  assert.deepEqual(
    shape([by("sam-aaaa", 1), by("sam-aaaa", 2), by("sam-bbbb", 3), by("sam-aaaa", 4)]),
    ["day 2025-03-03", "sam* m1", "sam m2", "sam* m3", "sam* m4"],
  );
  // Messages stored before they carried a session's id group by name, as they always did.
  assert.deepEqual(shape([by(undefined, 1), by(undefined, 2)]), [
    "day 2025-03-03",
    "sam* m1",
    "sam m2",
  ]);
});

Deno.test("layoutMessages - a gap over 5 minutes starts a new group", () => {
  assert.deepEqual(
    shape([message(1, "ann", T0), message(2, "ann", T0 + 5 * MINUTE + 1)]),
    ["day 2025-03-03", "ann* m1", "ann* m2"],
  );
});

Deno.test("layoutMessages - a new day gets a divider and a new group, even within 5 minutes", () => {
  const messages = [
    message(1, "ann", T0 + 119 * MINUTE), // 23:59
    message(2, "ann", T0 + 121 * MINUTE), // 00:01 the next day
    message(3, "bob", T0 + 24 * 60 * MINUTE), // 22:00 the next day
    message(4, "carol", T0 + 48 * 60 * MINUTE),
  ];
  assert.deepEqual(shape(messages), [
    "day 2025-03-03",
    "ann* m1",
    "day 2025-03-04",
    "ann* m2",
    "bob* m3",
    "day 2025-03-05",
    "carol* m4",
  ]);
});

Deno.test("layoutMessages - days follow the clock's time zone", () => {
  // 22:00 and 23:30 UTC on 3 March are 4 March in Tokyo; 02:00 UTC on 3 March is not.
  const messages = [
    message(1, "ann", T0 - 20 * 60 * MINUTE),
    message(2, "ann", T0),
    message(3, "ann", T0 + 90 * MINUTE),
  ];
  assert.deepEqual(shape(messages, { timeZone: "Asia/Tokyo", locale: "en-GB" }), [
    "day 2025-03-03",
    "ann* m1",
    "day 2025-03-04",
    "ann* m2",
    "ann* m3",
  ]);
  assert.deepEqual(shape([]), []);
});

Deno.test("continuesGroup - needs an earlier message by the same author", () => {
  const first = message(1, "ann", T0);
  assert.equal(continuesGroup(undefined, first, UTC_CLOCK), false);
  assert.equal(continuesGroup(first, message(2, "ann", T0 + MINUTE), UTC_CLOCK), true);
  assert.equal(continuesGroup(first, message(2, "Ann", T0 + MINUTE), UTC_CLOCK), false);
  assert.equal(continuesGroup(first, message(2, "ann", T0 - MINUTE), UTC_CLOCK), false);
});

Deno.test("mergeMessages - prepending an older page keeps seq order without duplicates", () => {
  const shown = [message(51, "ann", T0), message(52, "bob", T0)];
  const older = [message(49, "ann", T0), message(50, "ann", T0), message(51, "ann", T0)];
  assert.deepEqual(mergeMessages(older, shown).map((m) => m.seq), [49, 50, 51, 52]);
  assert.deepEqual(mergeMessages(shown, older).map((m) => m.seq), [49, 50, 51, 52]);
});

Deno.test("mergeMessages - appending live deliveries drops ones already shown", () => {
  const shown = [message(1, "ann", T0), message(2, "bob", T0)];
  assert.deepEqual(
    mergeMessages(shown, [message(3, "ann", T0)]).map((m) => m.seq),
    [1, 2, 3],
  );
  assert.deepEqual(
    mergeMessages(shown, [message(2, "bob", T0), message(3, "ann", T0)]).map((m) => m.seq),
    [1, 2, 3],
  );
  assert.deepEqual(mergeMessages([], shown), shown);
  assert.deepEqual(mergeMessages(shown, []), shown);
});

Deno.test("mayHaveOlder - only when the first message shown is not seq 1", () => {
  assert.equal(mayHaveOlder([]), false);
  assert.equal(mayHaveOlder([message(1, "ann", T0)]), false);
  assert.equal(mayHaveOlder([message(2, "ann", T0)]), true);
});

Deno.test("announcement - reads the newest message, with a count for several", () => {
  assert.equal(announcement([]), "");
  assert.equal(announcement([message(1, "ann", T0, "hello")]), "ann: hello");
  assert.equal(
    announcement([message(1, "ann", T0, "hi"), message(2, "bob", T0, "hey")]),
    "2 new messages. Latest from bob: hey",
  );
  const long = announcement([message(1, "ann", T0, "x".repeat(500))]);
  assert.equal(long, `ann: ${"x".repeat(200)}…`);
});

Deno.test("resyncAnnouncement - says the list skipped ahead, and reads the newest arrival", () => {
  assert.equal(resyncAnnouncement([]), "Skipped ahead to the latest messages");
  assert.equal(
    resyncAnnouncement([message(1, "ann", T0, "hi"), message(2, "bob", T0, "hey")]),
    "Skipped ahead to the latest messages. bob: hey",
  );
});

Deno.test("describeFailure - gives the reason in words, and asks for an edit when the text is at fault", () => {
  const cases: [string, string, boolean][] = [
    ["invalid_text", "The text must not contain control characters", true],
    ["empty_text", "The text must not be empty", true],
    ["text_too_long", "The text is 4001 characters, the limit is 4000", true],
    ["retry_limit", "The server could not take it after 10 tries", false],
    ["room_not_found", 'Room "x" does not exist', false],
  ];
  for (const [code, message, edit] of cases) {
    assert.deepEqual(describeFailure({ code, message }), { reason: message, edit }, code);
  }
  assert.deepEqual(describeFailure(undefined), { reason: "", edit: false });
  // An id someone else's message took: the server speaks of ids, the sender is told in words,
  // and an edit sends it under a new one.
  const taken = { code: "id_taken", message: 'Cannot store the message under id "c-1": …' };
  assert.deepEqual(describeFailure(taken), {
    reason: "another message took its place",
    edit: true,
  });
});

Deno.test("sharedNames and authorTag - two sessions of one name are tagged from their author ids", () => {
  const authors = [
    { author: "alice", authorId: "k3Jf9aQ2" },
    { author: "bob", authorId: "Zz0-bb11" },
    { author: "alice", authorId: "k3Jf9aQ2" },
    { author: "alice", authorId: "p0Wq7xR4" },
    { author: "bob", authorId: "Zz0-bb11" },
  ];
  const shared = sharedNames(authors);
  assert.deepEqual([...shared], ["alice"]);
  assert.equal(authorTag(authors[0], shared), "4vjbztt");
  assert.equal(authorTag(authors[3], shared), "9t5nbqh");
  assert.equal(authorTag(authors[1], shared), "");
  // Written without the letters people mistake: l/1/I, O/0, and no case to tell apart.
  assert.match(
    authorTag({ author: "alice", authorId: "lIO0l1-_" }, shared),
    /^[0-9a-hjkmnp-tv-z]{7}$/,
  );
  // A message from before author ids says nothing: one person's old and new messages are one.
  assert.deepEqual(
    [...sharedNames([{ author: "cy" }, { author: "cy", authorId: "c1c1c1c1" }])],
    [],
  );
  // Two sessions of a name online make it shared before both have written.
  const online = sharedNames([{ author: "dee", authorId: "d1d1d1d1" }], ["dee"]);
  assert.equal(authorTag({ author: "dee", authorId: "d1d1d1d1" }, online), "xtqenvn");
  assert.equal(authorTag({ author: "dee" }, online), "");
});

Deno.test("sharedNames - names that look alike are tagged, one person's renames are not", () => {
  const authors = [
    { author: "Sam", authorId: "s1s1s1s1" },
    // Someone else, with a Cyrillic Ѕ and а.
    { author: "Ѕаm", authorId: "s2s2s2s2" },
    { author: "Bill", authorId: "b1b1b1b1" },
    // The same person as Bill, renamed.
    { author: "bill", authorId: "b1b1b1b1" },
    { author: "ann", authorId: "a1a1a1a1" },
    // Two people whose names differ only in case.
    { author: "Ivan", authorId: "i1i1i1i1" },
    { author: "ivan", authorId: "i2i2i2i2" },
  ];
  assert.deepEqual([...sharedNames(authors)], ["Sam", "Ѕаm", "Ivan", "ivan"]);
  assert.notEqual(authorTag(authors[0], sharedNames(authors)), "");
  assert.equal(authorTag(authors[2], sharedNames(authors)), "");
});

Deno.test("sameNames - the same names in any order, and nothing more or less", () => {
  assert.ok(sameNames(new Set(["sam", "ann"]), new Set(["ann", "sam"])));
  assert.ok(sameNames(new Set(), new Set()));
  assert.ok(!sameNames(new Set(["sam"]), new Set(["sam", "ann"])));
  assert.ok(!sameNames(new Set(["sam", "ann"]), new Set(["sam", "bob"])));
});
