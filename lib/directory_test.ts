import assert from "node:assert/strict";
import { Directory, parseShown } from "./directory.ts";
import { MessageLog } from "./message_log.ts";
import { Presence } from "./presence.ts";
import { DIRECTORY_PAGE, MAX_DIRECTORY_ROOMS } from "./ui/rooms.ts";

async function withDirectory(
  fn: (directory: Directory, log: MessageLog) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const log = new MessageLog(kv);
  const presence = new Presence(kv);
  try {
    await fn(new Directory(log, presence), log);
  } finally {
    presence.close();
    kv.close();
  }
}

Deno.test("Directory.list - the first rooms that match, the most recently active first, with counts", async () => {
  await withDirectory(async (directory, log) => {
    for (const id of ["alpha-1", "alpha-2", "beta-1", "alpha-3"]) {
      await log.createRoom(id, id);
      // Each room a millisecond newer than the one before.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await log.append("alpha-1", { author: "ann", text: "hi" });
    const listing = await directory.list("alpha", 2);
    assert.deepEqual(listing.rooms.map((room) => room.id), ["alpha-1", "alpha-3"]);
    assert.equal(listing.rooms[0].messages, 1);
    assert.equal(listing.matches, 3);
    assert.equal(listing.total, 4);
    assert.deepEqual(await directory.list("", 10).then((all) => all.rooms.length), 4);
  });
});

Deno.test("Directory.list - answers from one read for a second, unless this worker created a room", async () => {
  await withDirectory(async (directory, log) => {
    await log.createRoom("first", "First");
    assert.equal((await directory.list("", 10)).total, 1);
    // Made elsewhere (another worker or process): shown once the read is a second old.
    await log.createRoom("elsewhere", "Elsewhere");
    assert.equal((await directory.list("", 10)).total, 1);
    directory.roomCreated();
    assert.equal((await directory.list("", 10)).total, 2);
  });
});

Deno.test("parseShown - a count from 1 to the most shown, the first page otherwise", () => {
  assert.equal(parseShown(undefined), DIRECTORY_PAGE);
  assert.equal(parseShown("100"), 100);
  assert.equal(parseShown("1"), 1);
  assert.equal(parseShown("0"), DIRECTORY_PAGE);
  assert.equal(parseShown("-5"), DIRECTORY_PAGE);
  assert.equal(parseShown("lots"), DIRECTORY_PAGE);
  assert.equal(parseShown("99999"), MAX_DIRECTORY_ROOMS);
});
