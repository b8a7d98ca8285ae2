import assert from "node:assert/strict";
import type { AppendResult } from "./commit_plan.ts";
import { type CommitStats, type CommittedListener, GroupCommitter } from "./group_commit.ts";
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
  const stats: CommitStats = { commits: 0, conflicts: 0, locked: 0, appended: 0 };
  const committer = new GroupCommitter(faulty, { stats, historyLimit: 10_000, onCommitted });
  return { kv, committer };
}

async function stored(kv: Deno.Kv, room: string): Promise<string[]> {
  const messages = await readMessages(kv, room, { limit: 10_000 });
  return messages.map((message) => `${message.seq}:${message.text}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("GroupCommitter - a room read that returns after a commit landed does not roll its head back", async () => {
  let roomReads = 0;
  const { kv, committer } = await storeWith(["r"], {
    // The second commit's read of the room is made at once but answered late, after the
    // first commit has landed.
    async getMany(keys, read) {
      const reading = read();
      if (keys.some((key) => key[0] === "rooms") && ++roomReads === 2) await sleep(100);
      return await reading;
    },
  });
  try {
    // The first append commits alone; 64 queue behind it, enough to prepare meanwhile.
    const results = await Promise.all(
      Array.from({ length: 65 }, (_, i) => committer.append("r", { author: "a", text: `m${i}` })),
    );
    assert.deepEqual(
      results.map(({ message }: AppendResult) => message.seq),
      Array.from({ length: 65 }, (_, i) => i + 1),
    );
    assert.deepEqual(await stored(kv, "r"), results.map((_, i) => `${i + 1}:m${i}`));
  } finally {
    kv.close();
  }
});

Deno.test("GroupCommitter - a commit that fails before its turn keeps the turns in order", async () => {
  let commits = 0;
  const { kv, committer } = await storeWith(["r", "q"], {
    getMany(keys, read) {
      if (keys.some((key) => key[0] === "rooms" && key[1] === "q")) {
        return Promise.reject(new Error("transient read error"));
      }
      return read();
    },
    // The first commit writes slowly, so the ones behind it are ready before it lands.
    async commit(commit) {
      if (++commits === 1) await sleep(100);
      return await commit();
    },
  });
  try {
    const first = committer.append("r", { author: "a", text: "m0" });
    const failing = committer.append("q", { author: "a", text: "x" });
    const rest = Array.from(
      { length: 64 },
      (_, i) => committer.append("r", { author: "a", text: `m${i + 1}` }),
    );
    await assert.rejects(failing, /transient read error/);
    await Promise.all([first, ...rest]);
    assert.deepEqual(
      await stored(kv, "r"),
      Array.from({ length: 65 }, (_, i) => `${i + 1}:m${i}`),
    );
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
  const stats: CommitStats = { commits: 0, conflicts: 0, locked: 0, appended: 0 };
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

Deno.test("GroupCommitter - a cache dropped while a batch reads its rooms does not fail the batch", async () => {
  const firstHeld = Promise.withResolvers<void>();
  const releaseFirst = Promise.withResolvers<void>();
  const secondHeld = Promise.withResolvers<void>();
  const releaseSecond = Promise.withResolvers<void>();
  const readingQ = Promise.withResolvers<void>();
  const releaseQ = Promise.withResolvers<void>();
  let commits = 0;
  const { kv, committer } = await storeWith(["r", "s", "w", "q"], {
    async getMany(keys, read) {
      if (keys.some((key) => key[0] === "rooms" && key[1] === "q")) {
        readingQ.resolve();
        await releaseQ.promise;
      }
      return await read();
    },
    async commit(commit) {
      const n = ++commits;
      if (n === 3) firstHeld.resolve(), await releaseFirst.promise;
      if (n === 4) secondHeld.resolve(), await releaseSecond.promise;
      return await commit();
    },
  });
  const other = committerOn(kv);
  try {
    // Rooms s and r are cached.
    await committer.append("s", { id: "s0", author: "a", text: "s0" });
    await committer.append("r", { id: "r0", author: "a", text: "r0" });
    // The third commit (room r) is held; a fourth (room w) prepares behind it.
    const r1 = committer.append("r", { id: "r1", author: "a", text: "r1" });
    await firstHeld.promise;
    const w1 = committer.append("w", { id: "w1", author: "a", text: "w1" });
    await sleep(20);
    // Then s (cached) and q (not cached) queue; their batch starts once the third lands, and
    // waits on its read of q while the fourth is about to write.
    const s1 = committer.append("s", { id: "s1", author: "a", text: "s1" });
    const q1 = committer.append("q", { id: "q1", author: "a", text: "q1" });
    releaseFirst.resolve();
    await r1;
    await readingQ.promise;
    await secondHeld.promise;
    // Another handle writes, so the fourth commit conflicts and drops the cache meanwhile.
    await other.append("r", { id: "b1", author: "b", text: "b1" });
    releaseSecond.resolve();
    await w1;
    releaseQ.resolve();
    const [inS, inQ] = await Promise.all([s1, q1]);
    assert.equal(inS.message.seq, 2);
    assert.equal(inQ.message.seq, 1);
    assert.deepEqual(await stored(kv, "s"), ["1:s0", "2:s1"]);
  } finally {
    kv.close();
  }
});
