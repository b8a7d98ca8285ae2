import assert from "node:assert/strict";
import { Directory, parseShown, READ_AGAIN_MS } from "./directory.ts";
import { MessageLog } from "./message_log.ts";
import { Presence } from "./presence.ts";
import { authorIdOf } from "../tests/author_ids.ts";
import { replacing } from "../tests/replacing_kv.ts";
import { DIRECTORY_PAGE, MAX_DIRECTORY_ROOMS } from "./ui/rooms.ts";

/** A clock the test moves by hand, in ms. */
interface Clock {
  now: number;
}

async function withDirectory(
  fn: (directory: Directory, log: MessageLog, clock: Clock) => Promise<void>,
  wrap: (kv: Deno.Kv) => Deno.Kv = (kv) => kv,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const log = new MessageLog(kv);
  const presence = new Presence(kv, { authorIdOf });
  const clock = { now: 0 };
  try {
    await fn(new Directory(new MessageLog(wrap(kv)), presence, () => clock.now), log, clock);
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
  await withDirectory(async (directory, log, clock) => {
    await log.createRoom("first", "First");
    assert.equal((await directory.list("", 10)).total, 1);
    // Made elsewhere (another worker or process): shown once the read is a second old.
    await log.createRoom("elsewhere", "Elsewhere");
    clock.now += READ_AGAIN_MS - 1;
    assert.equal((await directory.list("", 10)).total, 1);
    clock.now += 1;
    assert.equal((await directory.list("", 10)).total, 2);
    // Made here: shown at once.
    await log.createRoom("here", "Here");
    directory.roomCreated();
    assert.equal((await directory.list("", 10)).total, 3);
  });
});

Deno.test("Directory.rooms - the first rooms of the list's read, and how many there are", async () => {
  await withDirectory(async (directory, log, clock) => {
    await log.createRoom("first", "First");
    await log.createRoom("second", "Second");
    await log.append("first", { author: "ann", text: "hi" });
    const { rooms, total } = await directory.rooms(1);
    assert.deepEqual(rooms.map((room) => [room.id, room.head]), [["first", 1]]);
    assert.equal(total, 2);
    // Read once for both: a room made elsewhere shows in neither for a second.
    await log.createRoom("elsewhere", "Elsewhere");
    assert.equal((await directory.list("", 10)).total, 2);
    assert.equal((await directory.rooms(10)).total, 2);
    clock.now += READ_AGAIN_MS;
    assert.equal((await directory.rooms(10)).total, 3);
  });
});

Deno.test("Directory.list - a read that failed is not kept", async () => {
  let failing = true;
  await withDirectory(async (directory, log) => {
    await log.createRoom("first", "First");
    await assert.rejects(directory.list("", 10), /store unavailable/);
    failing = false;
    assert.equal((await directory.list("", 10)).total, 1);
  }, (kv) =>
    replacing(kv, {
      list: ((selector: Deno.KvListSelector, options?: Deno.KvListOptions) => {
        if (failing) throw new Error("store unavailable");
        return kv.list(selector, options);
      }) as Deno.Kv["list"],
    }));
});

Deno.test("parseShown - a count from 1 to the most shown, the first page otherwise", () => {
  assert.equal(parseShown(undefined), DIRECTORY_PAGE);
  assert.equal(parseShown("100"), 100);
  assert.equal(parseShown("1"), 1);
  assert.equal(parseShown("0"), DIRECTORY_PAGE);
  assert.equal(parseShown("-5"), DIRECTORY_PAGE);
  assert.equal(parseShown("lots"), DIRECTORY_PAGE);
  assert.equal(parseShown("10abc"), DIRECTORY_PAGE);
  assert.equal(parseShown("1e3"), DIRECTORY_PAGE);
  assert.equal(parseShown("99999"), MAX_DIRECTORY_ROOMS);
});
