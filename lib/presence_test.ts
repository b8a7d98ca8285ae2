import assert from "node:assert/strict";
import { Presence, presenceMarkKey, presenceVersion } from "./presence.ts";
import type { Session } from "./session.ts";
import { authorIdOf, TEST_SESSIONS } from "../tests/author_ids.ts";
import { replacing } from "../tests/replacing_kv.ts";
import { waitFor } from "../tests/wait_for.ts";

function session(name: string, sid = `sid-${name}`): Session {
  return { sid, name, iat: Date.now() };
}

/**
 * `kv` whose commits, counted from 0, each wait for the gate `gates` holds for their number, if
 * any; `commits()` says how many have begun.
 */
function gatedCommits(kv: Deno.Kv, gates: Map<number, Promise<void>>) {
  let commits = 0;
  const gated = replacing(kv, {
    atomic: () => {
      const op = kv.atomic();
      const commit = op.commit.bind(op);
      op.commit = async () => {
        await gates.get(commits++);
        return await commit();
      };
      return op;
    },
  });
  return { kv: gated, commits: () => commits };
}

async function withPresence(fn: (presence: Presence, kv: Deno.Kv) => Promise<void>) {
  const kv = await Deno.openKv(":memory:");
  const presence = new Presence(kv, { authorIdOf });
  try {
    await fn(presence, kv);
  } finally {
    presence.close();
    kv.close();
  }
}

Deno.test("Presence - a person with two connections counts once, and leaves when both close", async () => {
  await withPresence(async (presence) => {
    const ann = session("ann");
    const { leave: leaveTab1 } = presence.join("lobby", ann, "tab-1");
    const { leave: leaveTab2 } = presence.join("lobby", ann, "tab-2");
    const { leave: leaveBob } = presence.join("lobby", session("bob"), "tab-1");
    presence.join("other", session("cat"), "tab-1");
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual((await presence.read("lobby")).presence.online, ["ann", "bob"]);
    await leaveTab1();
    assert.deepEqual((await presence.read("lobby")).presence.online, ["ann", "bob"]);
    await leaveTab2();
    await leaveBob();
    assert.deepEqual((await presence.read("lobby")).presence.online, []);
    assert.deepEqual(await presence.onlineCounts(), new Map([["other", 1]]));
  });
});

Deno.test("Presence - two people of one name are listed and counted twice", async () => {
  await withPresence(async (presence) => {
    presence.join("lobby", session("sam", "sid-1"), "tab-1");
    presence.join("lobby", session("sam", "sid-2"), "tab-1");
    await presence.typing("lobby", session("sam", "sid-1"));
    await presence.typing("lobby", session("sam", "sid-2"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const { online, typing } = (await presence.read("lobby")).presence;
    assert.deepEqual({ online, typing }, { online: ["sam", "sam"], typing: ["sam", "sam"] });
    assert.deepEqual(await presence.onlineCounts(), new Map([["lobby", 2]]));
  });
});

Deno.test("Presence - expired entries are ignored even before KV deletes them", async () => {
  await withPresence(async (presence, kv) => {
    await kv.set(["presence", "lobby", "sid-old", "c"], {
      name: "ghost",
      expiresAt: Date.now() - 1,
    });
    await kv.set(["presence", "lobby", "sid-old", "typing"], {
      name: "ghost",
      expiresAt: Date.now() - 1,
    });
    await presence.typing("lobby", session("ann"));
    assert.deepEqual((await presence.read("lobby")).presence, {
      online: [],
      onlineAuthorIds: [],
      typing: ["ann"],
      typingAuthorIds: [authorIdOf("sid-ann", "lobby")],
    });
    assert.deepEqual(await presence.onlineCounts(), new Map());
  });
});

Deno.test("Presence - a long-poll touch counts as online, and repeats write at most every 10 s", async () => {
  await withPresence(async (presence, kv) => {
    presence.touch("lobby", session("ann"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const first = await kv.get(["presence", "lobby", "sid-ann", "poll"]);
    presence.touch("lobby", session("ann"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const second = await kv.get(["presence", "lobby", "sid-ann", "poll"]);
    assert.equal(second.versionstamp, first.versionstamp);
    assert.deepEqual((await presence.read("lobby")).presence.online, ["ann"]);
  });
});

Deno.test("presenceVersion - equal presences share a version, different ones do not", () => {
  const ann = { online: ["ann"], onlineAuthorIds: ["a1"], typing: [], typingAuthorIds: [] };
  const a = presenceVersion(ann);
  assert.equal(a, presenceVersion({ ...ann }));
  assert.notEqual(a, presenceVersion({ ...ann, typing: ["ann"], typingAuthorIds: ["a1"] }));
  assert.notEqual(a, presenceVersion({ ...ann, online: ["bob"] }));
  assert.notEqual(a, presenceVersion({ ...ann, onlineAuthorIds: ["a2"] }));
  // Which session of a shared name is typing.
  const sams = { online: ["sam", "sam"], onlineAuthorIds: ["s1", "s2"], typing: ["sam"] };
  assert.notEqual(
    presenceVersion({ ...sams, typingAuthorIds: ["s1"] }),
    presenceVersion({ ...sams, typingAuthorIds: ["s2"] }),
  );
});

Deno.test("Presence.read - lists each session's author id beside its name, never its session id", async () => {
  await withPresence(async (presence) => {
    presence.join("lobby", session("sam", "sid-2"), "tab-1");
    presence.join("lobby", session("ann", "sid-3"), "tab-1");
    presence.join("lobby", session("sam", "sid-1"), "tab-1");
    presence.join("lobby", session("sam", "sid-1"), "tab-2");
    await presence.typing("lobby", session("sam", "sid-1"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const id = (sid: string) => TEST_SESSIONS.authorId({ sid }, "lobby");
    const sams = [id("sid-1"), id("sid-2")].sort();
    const read = (await presence.read("lobby")).presence;
    assert.deepEqual(read, {
      online: ["ann", "sam", "sam"],
      onlineAuthorIds: [id("sid-3"), ...sams],
      typing: ["sam"],
      typingAuthorIds: [id("sid-1")],
    });
    assert.doesNotMatch(JSON.stringify(read), /sid-/);
  });
});

Deno.test("Presence.read - orders one name's sessions by author id, alike on every worker", async () => {
  await withPresence(async (presence, kv) => {
    const other = new Presence(kv, { authorIdOf });
    try {
      for (let i = 0; i < 8; i++) presence.join("lobby", session("sam", `sid-${i}`), "tab-1");
      await new Promise((resolve) => setTimeout(resolve, 10));
      const { onlineAuthorIds } = (await presence.read("lobby")).presence;
      assert.deepEqual(onlineAuthorIds, [...onlineAuthorIds].sort());
      assert.deepEqual((await other.read("lobby")).presence.onlineAuthorIds, onlineAuthorIds);
    } finally {
      other.close();
    }
  });
});

Deno.test("Presence.read - lists each typing session's author id beside its name, as online does", async () => {
  await withPresence(async (presence) => {
    const typists = [session("sam", "sid-2"), session("ann", "sid-3"), session("sam", "sid-1")];
    for (const typist of typists) {
      presence.join("lobby", typist, "tab-1");
      await presence.typing("lobby", typist);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
    const id = (sid: string) => TEST_SESSIONS.authorId({ sid }, "lobby");
    const read = (await presence.read("lobby")).presence;
    assert.deepEqual(read.typing, ["ann", "sam", "sam"]);
    assert.deepEqual(read.typingAuthorIds, [id("sid-3"), ...[id("sid-1"), id("sid-2")].sort()]);
    // One session has one author id, online and typing alike.
    assert.deepEqual(read.typingAuthorIds, read.onlineAuthorIds);
    assert.doesNotMatch(JSON.stringify(read), /sid-/);
  });
});

Deno.test("Presence.read - orders one name's typing sessions by author id, alike on every worker", async () => {
  await withPresence(async (presence, kv) => {
    const other = new Presence(kv, { authorIdOf });
    try {
      for (let i = 0; i < 8; i++) await presence.typing("lobby", session("sam", `sid-${i}`));
      const { typing, typingAuthorIds } = (await presence.read("lobby")).presence;
      assert.equal(typing.length, 8);
      assert.equal(new Set(typingAuthorIds).size, 8);
      assert.deepEqual(typingAuthorIds, [...typingAuthorIds].sort());
      assert.deepEqual((await other.read("lobby")).presence.typingAuthorIds, typingAuthorIds);
    } finally {
      other.close();
    }
  });
});

Deno.test("Presence.read - orders names alike whatever the worker's locale", async () => {
  // The locale is the process's: each read runs in a process of its own.
  const script = `
    import { Presence } from ${JSON.stringify(import.meta.resolve("./presence.ts"))};
    const kv = await Deno.openKv(":memory:");
    const presence = new Presence(kv, { authorIdOf: (sid) => sid });
    for (const name of ["zoe", "öda", "oa"]) {
      presence.join("lobby", { sid: name, name, iat: Date.now() }, "tab-1");
    }
    let online = [];
    while (online.length < 3) online = (await presence.read("lobby")).presence.online;
    console.log(JSON.stringify(online));
    presence.close();
    kv.close();
  `;
  const online = async (lang: string) => {
    const { stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--unstable-kv", script],
      env: { LANG: lang, LC_ALL: lang },
    }).output();
    return new TextDecoder().decode(stdout).trim();
  };
  assert.equal(await online("sv_SE.UTF-8"), await online("en_US.UTF-8"));
  assert.equal(await online("en_US.UTF-8"), '["oa","öda","zoe"]');
});

Deno.test("Presence.read - one list reads a room's online and typing", async () => {
  await withPresence(async (_presence, kv) => {
    let lists = 0;
    const counted = replacing(kv, {
      list: ((selector: Deno.KvListSelector, options?: Deno.KvListOptions) => {
        lists++;
        return kv.list(selector, options);
      }) as Deno.Kv["list"],
    });
    const presence = new Presence(counted, { authorIdOf });
    presence.join("lobby", session("ann"), "tab-1");
    await presence.typing("lobby", session("bob"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const { online, typing } = (await presence.read("lobby")).presence;
    assert.deepEqual({ online, typing }, { online: ["ann"], typing: ["bob"] });
    assert.equal(lists, 1);
    presence.close();
  });
});

Deno.test("Presence - joins, leaves and a spell of typing's first keystroke move the room's mark", async () => {
  await withPresence(async (presence, kv) => {
    const mark = async () => (await kv.get(presenceMarkKey("lobby"))).versionstamp;
    const marks = [await mark()];
    const { leave } = presence.join("lobby", session("ann"), "tab-1");
    await new Promise((resolve) => setTimeout(resolve, 10));
    marks.push(await mark());
    await presence.typing("lobby", session("ann"));
    marks.push(await mark());
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    // A keystroke a second later only extends the spell: the entry moves, the mark does not.
    const typingKey = ["presence", "lobby", "sid-ann", "typing"];
    const spell = (await kv.get(typingKey)).versionstamp;
    await presence.typing("lobby", session("ann"));
    assert.notEqual((await kv.get(typingKey)).versionstamp, spell);
    assert.equal(await mark(), marks[2]);
    await leave();
    marks.push(await mark());
    assert.equal(new Set(marks).size, 4, `marks ${marks.join(", ")}`);
    assert.equal(await presence.read("other").then(({ expires }) => expires), Infinity);
  });
});

Deno.test("Presence - a message ends the sender's spell, and its next keystroke starts one", async () => {
  await withPresence(async (presence, kv) => {
    const mark = async () => (await kv.get(presenceMarkKey("lobby"))).versionstamp;
    const typingKey = ["presence", "lobby", "sid-ann", "typing"];
    assert.equal(await presence.stoppedTyping("lobby", session("ann")), false);
    assert.equal(await mark(), null, "a sender that was not typing writes nothing");
    await presence.typing("lobby", session("ann"));
    const started = await mark();
    assert.equal(await presence.stoppedTyping("lobby", session("ann")), true);
    assert.equal((await kv.get(typingKey)).value, null);
    const ended = await mark();
    assert.notEqual(ended, started);
    // The next keystroke comes within the second that would otherwise be ignored.
    await presence.typing("lobby", session("ann"));
    assert.notEqual((await kv.get(typingKey)).value, null);
    assert.notEqual(await mark(), ended);
    assert.deepEqual((await presence.read("lobby")).presence.typing, ["ann"]);
  });
});

Deno.test("Presence - a typing write that lands after its spell ended is taken back", async () => {
  await withPresence(async (_presence, kv) => {
    // The first commit (the keystroke's write) waits until the message has ended the spell.
    const gate = Promise.withResolvers<void>();
    const presence = new Presence(gatedCommits(kv, new Map([[0, gate.promise]])).kv, {
      authorIdOf,
    });
    const typing = presence.typing("lobby", session("ann"));
    assert.equal(await presence.stoppedTyping("lobby", session("ann")), true);
    gate.resolve();
    await typing;
    assert.deepEqual((await presence.read("lobby")).presence.typing, []);
    presence.close();
  });
});

Deno.test("Presence - taking back a late typing write leaves a newer spell alone", async () => {
  await withPresence(async (_presence, kv) => {
    // Commit 0 is the first keystroke's write, held until the message ended its spell; commit 2
    // is taking that write back, held until the next keystroke has written its own.
    const first = Promise.withResolvers<void>();
    const takeBack = Promise.withResolvers<void>();
    const gated = gatedCommits(kv, new Map([[0, first.promise], [2, takeBack.promise]]));
    const presence = new Presence(gated.kv, { authorIdOf });
    const firstSpell = presence.typing("lobby", session("ann"));
    assert.equal(await presence.stoppedTyping("lobby", session("ann")), true);
    first.resolve();
    await waitFor("the take-back to be on its way", () => gated.commits() === 3);
    await presence.typing("lobby", session("ann"));
    takeBack.resolve();
    await firstSpell;
    assert.deepEqual((await presence.read("lobby")).presence.typing, ["ann"]);
    presence.close();
  });
});

Deno.test("Presence.read - hashes a session's author id once while it is read", async () => {
  await withPresence(async (_presence, kv) => {
    const hashed: string[] = [];
    const presence = new Presence(kv, {
      authorIdOf: (sid, room) => (hashed.push(sid), authorIdOf(sid, room)),
    });
    presence.join("lobby", session("ann"), "tab-1");
    presence.join("lobby", session("bob"), "tab-1");
    await new Promise((resolve) => setTimeout(resolve, 10));
    await presence.read("lobby");
    await presence.read("lobby");
    assert.deepEqual(hashed.sort(), ["sid-ann", "sid-bob"]);
    presence.close();
  });
});

Deno.test("Presence.read - says when the first live entry runs out", async () => {
  await withPresence(async (presence, kv) => {
    const now = Date.now();
    await kv.set(["presence", "lobby", "sid-old", "c"], { name: "ghost", expiresAt: now - 1 });
    await kv.set(["presence", "lobby", "sid-ann", "c"], { name: "ann", expiresAt: now + 9_000 });
    await kv.set(["presence", "lobby", "sid-bob", "typing"], {
      name: "bob",
      expiresAt: now + 4_000,
    });
    assert.deepEqual(await presence.read("lobby"), {
      presence: {
        online: ["ann"],
        onlineAuthorIds: [TEST_SESSIONS.authorId({ sid: "sid-ann" }, "lobby")],
        typing: ["bob"],
        typingAuthorIds: [TEST_SESSIONS.authorId({ sid: "sid-bob" }, "lobby")],
      },
      expires: now + 4_000,
    });
  });
});

/** `kv`, whose atomic commits fail (with an error that is not a lock) while `failing.on`. */
function failingCommits(kv: Deno.Kv, failing: { on: boolean }): Deno.Kv {
  return replacing(kv, {
    atomic: () => {
      const op = kv.atomic();
      const commit = op.commit.bind(op);
      op.commit = () => failing.on ? Promise.reject(new Error("disk on fire")) : commit();
      return op;
    },
  });
}

Deno.test("Presence - a long-poll client's first touch moves the room's mark", async () => {
  await withPresence(async (presence, kv) => {
    presence.touch("lobby", session("ann"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.notEqual((await kv.get(presenceMarkKey("lobby"))).versionstamp, null);
  });
});

Deno.test("Presence - a typing write that failed does not count as the start of a spell", async () => {
  await withPresence(async (_presence, kv) => {
    const failing = { on: true };
    const presence = new Presence(failingCommits(kv, failing), { authorIdOf });
    await presence.typing("lobby", session("ann"));
    assert.equal((await kv.get(presenceMarkKey("lobby"))).versionstamp, null);
    failing.on = false;
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    await presence.typing("lobby", session("ann"));
    assert.notEqual((await kv.get(presenceMarkKey("lobby"))).versionstamp, null);
    presence.close();
  });
});

Deno.test("Presence - a join whose write failed moves the mark when a refresh lands it", async () => {
  await withPresence(async (_presence, kv) => {
    const failing = { on: true };
    const presence = new Presence(failingCommits(kv, failing), { authorIdOf, refreshMs: 50 });
    presence.join("lobby", session("ann"), "tab-1");
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal((await kv.get(presenceMarkKey("lobby"))).versionstamp, null);
    failing.on = false;
    const deadline = Date.now() + 2_000;
    while ((await kv.get(presenceMarkKey("lobby"))).versionstamp === null) {
      assert.ok(Date.now() < deadline, "no refresh moved the mark");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const landed = await kv.get(presenceMarkKey("lobby"));
    assert.deepEqual((await presence.read("lobby")).presence.online, ["ann"]);
    // Later refreshes of an entry that has kept landing leave the mark alone.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await kv.get(presenceMarkKey("lobby"))).versionstamp, landed.versionstamp);
    presence.close();
  });
});

/**
 * Leaves by `leave` while `gate` holds a write of the connection's entry back, lets the write go
 * once a delete that did not wait for it would have landed, and checks that nobody is left online.
 */
async function assertLeftWhileHeld(
  presence: Presence,
  leave: () => Promise<void>,
  gate: PromiseWithResolvers<void>,
): Promise<void> {
  const left = leave();
  await new Promise((resolve) => setTimeout(resolve, 50));
  gate.resolve();
  await left;
  assert.deepEqual((await presence.read("lobby")).presence.online, []);
}

Deno.test("Presence - a connection that leaves while its join is still being written leaves nothing", async () => {
  await withPresence(async (_presence, kv) => {
    // The first commit (the join's write) waits until the connection has left.
    const gate = Promise.withResolvers<void>();
    const presence = new Presence(gatedCommits(kv, new Map([[0, gate.promise]])).kv, {
      authorIdOf,
    });
    try {
      const { leave } = presence.join("lobby", session("ann"), "tab-1");
      await assertLeftWhileHeld(presence, leave, gate);
    } finally {
      presence.close();
    }
  });
});

Deno.test("Presence - a connection that leaves while a refresh of its entry is being written leaves nothing", async () => {
  await withPresence(async (_presence, kv) => {
    // The second commit (the first refresh, after the join) waits until the connection has left.
    const gate = Promise.withResolvers<void>();
    const gated = gatedCommits(kv, new Map([[1, gate.promise]]));
    const presence = new Presence(gated.kv, { authorIdOf, refreshMs: 20 });
    try {
      const { written, leave } = presence.join("lobby", session("ann"), "tab-1");
      await written;
      await waitFor("the refresh to start", () => gated.commits() === 2);
      await assertLeftWhileHeld(presence, leave, gate);
    } finally {
      presence.close();
    }
  });
});
