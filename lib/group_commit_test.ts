import assert from "node:assert/strict";
import {
  type AppendResult,
  type CommitStats,
  type CommittedListener,
  GroupCommitter,
} from "./group_commit.ts";
import { messagesPrefix, roomKey } from "./keys.ts";
import type { Message, Room } from "./types.ts";

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
  for (const id of ids) {
    const room: Room = {
      id,
      title: id,
      createdAt: 0,
      head: 0,
      lastAt: null,
      epoch: "e",
      trimmed: 0,
    };
    await kv.set(roomKey(id), room);
  }
  const faulty = new Proxy(kv, {
    get(target, property) {
      if (property === "getMany" && faults.getMany) {
        return (keys: Deno.KvKey[]) => faults.getMany!(keys, () => target.getMany(keys));
      }
      if (property === "atomic" && faults.commit) {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => faults.commit!(commit);
          return op;
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const stats: CommitStats = { commits: 0, conflicts: 0, locked: 0, appended: 0 };
  const committer = new GroupCommitter(faulty, { stats, historyLimit: 10_000, onCommitted });
  return { kv, committer };
}

async function stored(kv: Deno.Kv, room: string): Promise<string[]> {
  const texts: string[] = [];
  for await (const entry of kv.list<Message>({ prefix: messagesPrefix(room) })) {
    texts.push(`${entry.value.seq}:${entry.value.text}`);
  }
  return texts;
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
