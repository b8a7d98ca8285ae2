import assert from "node:assert/strict";
import { withConsoleErrors } from "../tests/console_errors.ts";
import { type CommittedListener, GroupCommitter, newCommitStats } from "./group_commit.ts";
import { collidingIds } from "../tests/colliding_ids.ts";
import { emptyRoom } from "../tests/empty_room.ts";
import { replacing } from "../tests/replacing_kv.ts";
import { roomKey } from "./keys.ts";
import { readMessages } from "./room_reader.ts";
import { ID_WINDOW } from "./recent_ids.ts";

/** What a test changes about the store: wrappers for `getMany` and for atomic commits. */
interface Faults {
  getMany?: (keys: Deno.KvKey[], read: () => Promise<Deno.KvEntryMaybe<unknown>[]>) => Promise<
    Deno.KvEntryMaybe<unknown>[]
  >;
  commit?: (commit: () => Promise<Deno.KvCommitResult | Deno.KvCommitError>) => Promise<
    Deno.KvCommitResult | Deno.KvCommitError
  >;
}

/** An in-memory store with rooms `ids`, seen by the committer through `faults`. */
async function storeWith(ids: string[], faults: Faults, onCommitted?: CommittedListener) {
  const kv = await Deno.openKv(":memory:");
  for (const id of ids) await kv.set(roomKey(id), emptyRoom(id));
  const { getMany, commit } = faults;
  const faulty = replacing(kv, {
    ...(getMany && {
      getMany: ((keys: Deno.KvKey[]) =>
        getMany(keys, () => kv.getMany(keys))) as Deno.Kv["getMany"],
    }),
    ...(commit && {
      atomic: () => {
        const op = kv.atomic();
        const own = op.commit.bind(op);
        op.commit = () => commit(own);
        return op;
      },
    }),
  });
  const stats = newCommitStats();
  const committer = new GroupCommitter(faulty, { stats, historyLimit: 10_000, onCommitted });
  return { kv, committer, stats };
}

/**
 * A store whose first commit waits, once it has started, until `release` resolves; `held`
 * resolves as it starts, and `commits()` counts the commits started.
 */
async function storeHoldingFirstCommit(ids: string[]) {
  const held = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  let commits = 0;
  const store = await storeWith(ids, {
    async commit(commit) {
      if (++commits === 1) held.resolve(), await release.promise;
      return await commit();
    },
  });
  return { ...store, held: held.promise, release: () => release.resolve(), commits: () => commits };
}

async function stored(kv: Deno.Kv, room: string): Promise<string[]> {
  const messages = await readMessages(kv, room, { limit: 10_000 });
  return messages.map((message) => `${message.seq}:${message.text}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("GroupCommitter - appends that arrive while a commit writes go into the next one together", async () => {
  const { kv, committer, stats, held, release, commits } = await storeHoldingFirstCommit([
    "r",
    "s",
  ]);
  try {
    const first = committer.append("r", { author: "a", text: "r0" });
    await held;
    const queued = [1, 2, 3].flatMap((i) =>
      ["r", "s"].map((room) => committer.append(room, { author: "a", text: `${room}${i}` }))
    );
    await sleep(20);
    assert.equal(commits(), 1, "nothing else commits while the first writes");
    release();
    await Promise.all([first, ...queued]);
    assert.equal(stats.commits, 2);
    assert.deepEqual(await stored(kv, "r"), ["1:r0", "2:r1", "3:r2", "4:r3"]);
    assert.deepEqual(await stored(kv, "s"), ["1:s1", "2:s2", "3:s3"]);
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - a room with more queued than a batch takes does not hold the others back", async () => {
  const { kv, committer, held, release } = await storeHoldingFirstCommit(["busy", "quiet"]);
  try {
    const first = committer.append("busy", { author: "a", text: "b0" });
    await held;
    // Four batches' worth for one room, then one message for another.
    let busyStored = 0;
    const flood = Array.from(
      { length: 1000 },
      (_, i) =>
        committer.append("busy", { author: "a", text: `b${i + 1}` }).then(() => busyStored++),
    );
    const quiet = committer.append("quiet", { author: "a", text: "q1" }).then(() => busyStored);
    release();
    const storedBefore = await quiet;
    assert.ok(storedBefore <= 250, `${storedBefore} of the busy room's went first`);
    await Promise.all([first, ...flood]);
    assert.equal((await stored(kv, "busy")).length, 1001);
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - a batch whose read fails is refused, and the next commits", async () => {
  let failing = true;
  const { kv, committer } = await storeWith(["r", "q"], {
    getMany(keys, read) {
      if (failing && keys.some((key) => key[0] === "rooms" && key[1] === "q")) {
        failing = false;
        return Promise.reject(new Error("transient read error"));
      }
      return read();
    },
  });
  try {
    await withConsoleErrors(async (logged) => {
      await assert.rejects(committer.append("q", { author: "a", text: "lost" }), {
        status: 503,
        code: "storage_unavailable",
        // The store's own words go to the log, not to clients.
        message: "The message could not be stored: the store failed",
      });
      assert.deepEqual(logged.flat().map(String), [
        'Cannot append to "q":',
        "Error: transient read error",
      ]);
    });
    await Promise.all([
      committer.append("q", { author: "a", text: "q1" }),
      committer.append("r", { author: "a", text: "r1" }),
    ]);
    assert.deepEqual(await stored(kv, "q"), ["1:q1"]);
    assert.deepEqual(await stored(kv, "r"), ["1:r1"]);
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - while every batch fails, as on a full disk, the log gets one line a second", async () => {
  const { kv, committer } = await storeWith(["r"], {
    commit: () => Promise.reject(new TypeError("database or disk is full")),
  });
  try {
    await withConsoleErrors(async (logged) => {
      for (let i = 0; i < 5; i++) {
        await assert.rejects(committer.append("r", { author: "a", text: `lost ${i}` }), {
          code: "storage_unavailable",
        });
      }
      assert.deepEqual(logged.map(([line]) => line), ['Cannot append to "r":']);
    });
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - an observer that throws does not fail appends already stored", async () => {
  const { kv, committer } = await storeWith(["r"], {}, () => {
    throw new Error("a listener broke");
  });
  const errors: unknown[] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    const { created, message } = await committer.append("r", { author: "a", text: "hi" });
    assert.equal(created, true);
    assert.equal(message.seq, 1);
    assert.equal(errors.length, 1);
  } finally {
    console.error = consoleError;
    kv.close();
  }
});

function committerOn(kv: Deno.Kv, historyLimit = 10_000): GroupCommitter {
  const stats = newCommitStats();
  return new GroupCommitter(kv, { stats, historyLimit });
}

Deno.test("GroupCommitter - a client id is recognised while among the room's newest ID_WINDOW messages", async () => {
  const { kv, committer } = await storeWith(["r"], {});
  try {
    const first = await committer.append("r", { id: "old", author: "a", text: "first" });
    await Promise.all(
      Array.from(
        { length: ID_WINDOW - 1 },
        (_, i) => committer.append("r", { id: `n${i}`, author: "a", text: "n" }),
      ),
    );
    const retry = await committer.append("r", { id: "old", author: "a", text: "retry" });
    assert.equal(retry.created, false);
    assert.deepEqual(retry.message, first.message);

    // One message more and "old" is no longer among the newest ID_WINDOW: it is stored again.
    await committer.append("r", { id: "newest", author: "a", text: "n" });
    const late = await committer.append("r", { id: "old", author: "a", text: "late" });
    assert.equal(late.created, true);
    assert.equal(late.message.seq, ID_WINDOW + 2);
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - a new id whose hash collides with a stored one's is stored", async () => {
  const [first, second] = collidingIds();
  const { kv, committer } = await storeWith(["r"], {});
  try {
    const stored = await committer.append("r", { id: first, author: "a", text: "first" });
    const other = await committer.append("r", { id: second, author: "a", text: "second" });
    assert.equal(other.created, true);
    assert.equal(other.message.seq, 2);
    const retries = await Promise.all([
      committer.append("r", { id: first, author: "a", text: "again" }),
      committer.append("r", { id: second, author: "a", text: "again" }),
    ]);
    assert.deepEqual(retries.map(({ created }) => created), [false, false]);
    assert.deepEqual(retries.map(({ message }) => message), [stored.message, other.message]);
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - ids another handle stored since this one's last commit are recognised", async () => {
  const { kv, committer } = await storeWith(["r"], {});
  const other = committerOn(kv);
  try {
    await committer.append("r", { id: "mine", author: "a", text: "mine" });
    const theirs = await Promise.all(
      ["t1", "t2", "t3"].map((id) => other.append("r", { id, author: "b", text: id })),
    );
    const retries = await Promise.all(
      ["t2", "mine", "t3"].map((id) => committer.append("r", { id, author: "a", text: "again" })),
    );
    assert.deepEqual(retries.map(({ created }) => created), [false, false, false]);
    assert.deepEqual(retries[0].message, theirs[1].message);
    assert.deepEqual(await stored(kv, "r"), ["1:mine", "2:t1", "3:t2", "4:t3"]);
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - messages retention deleted meanwhile are not taken for ids still known", async () => {
  const { kv, committer } = await storeWith(["r"], {});
  // Another handle keeps only the two newest messages of a room.
  const trimming = committerOn(kv, 2);
  try {
    await committer.append("r", { id: "early", author: "a", text: "early" });
    await Promise.all(
      ["x", "y", "z"].map((id) => trimming.append("r", { id, author: "b", text: id })),
    );
    const [early, z] = await Promise.all([
      committer.append("r", { id: "early", author: "a", text: "early again" }),
      committer.append("r", { id: "z", author: "a", text: "z again" }),
    ]);
    assert.equal(early.created, true, "its message is gone, so the id is new again");
    assert.equal(early.message.seq, 5);
    assert.equal(z.created, false);
    assert.equal(z.message.seq, 4);
  } finally {
    kv.close();
  }
});
