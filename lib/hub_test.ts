import assert from "node:assert/strict";
import { authorIdOf } from "../tests/author_ids.ts";
import { waitFor } from "../tests/wait_for.ts";
import { ParleyError } from "./errors.ts";
import { type Delivery, Hub, type HubOptions, MAX_HELD_BYTES, type Subscription } from "./hub.ts";
import { MessageLog } from "./message_log.ts";
import { Presence, presenceMarkKey, presenceVersion, type RoomPresence } from "./presence.ts";
import { replacing } from "../tests/replacing_kv.ts";
import { withConsoleErrors } from "../tests/console_errors.ts";
import type { Session } from "./session.ts";
import type { Message, NewMessage } from "./types.ts";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

function note(i: number): NewMessage {
  return { id: `m${i}`, author: "ada", text: `note ${i}` };
}

/** Polls until `condition` holds, failing with `what` after `timeoutMs`. */
function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  return waitFor(what, condition, timeoutMs, 5);
}

/** Records every delivery a listener gets. */
class Recorder {
  readonly deliveries: Delivery[] = [];
  readonly listener = (delivery: Delivery) => {
    this.deliveries.push(delivery);
  };

  get messages(): Message[] {
    return this.deliveries.flatMap((delivery) => delivery.messages);
  }

  get seqs(): number[] {
    return this.messages.map((message) => message.seq);
  }

  get last(): number {
    const seqs = this.seqs;
    return seqs.length === 0 ? 0 : seqs[seqs.length - 1];
  }

  /** Waits until the recorder has seen seq `seq`. */
  reach(seq: number): Promise<void> {
    return waitUntil(() => this.last >= seq, `seq ${seq} (at ${this.last})`);
  }
}

interface Setup {
  kv: Deno.Kv;
  log: MessageLog;
  hub: Hub;
}

/** Runs `fn` with a hub on a fresh in-memory store; `options` may be made from that store. */
async function withHub(
  fn: (setup: Setup) => Promise<void>,
  options: HubOptions | ((kv: Deno.Kv) => HubOptions) = {},
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const log = new MessageLog(kv);
  const hub = new Hub(kv, log, typeof options === "function" ? options(kv) : options);
  try {
    await fn({ kv, log, hub });
  } finally {
    hub.close();
    kv.close();
  }
}

function assertFrames(recorder: Recorder): void {
  for (const delivery of recorder.deliveries) {
    assert.ok(delivery.messages.length > 0, "an empty delivery");
    assert.equal(
      delivery.frame,
      JSON.stringify({ type: "messages", messages: delivery.messages }),
    );
  }
}

Deno.test("Hub.subscribe - delivers messages appended after subscribing, in order", async () => {
  await withHub(async ({ log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    for (const i of range(1, 3)) await log.append("lobby", note(i));

    const recorder = new Recorder();
    const subscription = await hub.subscribe("lobby", recorder.listener);
    assert.equal(subscription.head, 3);
    assert.deepEqual(recorder.seqs, [], "messages from before subscribing were delivered");

    for (const i of range(4, 8)) await log.append("lobby", note(i));
    await Promise.all(range(9, 30).map((i) => log.append("lobby", note(i))));
    await recorder.reach(30);

    assert.deepEqual(recorder.seqs, range(4, 30));
    assert.deepEqual(recorder.messages.map((m) => m.text), range(4, 30).map((i) => `note ${i}`));
    assert.deepEqual(recorder.messages, await log.readAfter("lobby", 3, 500));
    assertFrames(recorder);
    subscription.close();
  });
});

Deno.test("Hub.subscribe - delivers appends made by another worker's log", async () => {
  await withHub(async ({ kv, log, hub }) => {
    const otherWorker = new MessageLog(kv);
    await log.createRoom("lobby", "Lobby");
    const recorder = new Recorder();
    const subscription = await hub.subscribe("lobby", recorder.listener);
    await Promise.all(range(1, 20).map((i) => otherWorker.append("lobby", note(i))));
    await recorder.reach(20);
    assert.deepEqual(recorder.seqs, range(1, 20));
    assertFrames(recorder);
    subscription.close();
  });
});

Deno.test("Hub.subscribe - after replays the missed messages, then continues live", async () => {
  await withHub(async ({ log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    await Promise.all(range(1, 10).map((i) => log.append("lobby", note(i))));

    const recorder = new Recorder();
    const subscription = await hub.subscribe("lobby", recorder.listener, { after: 4 });
    assert.equal(subscription.head, 10);
    // The backlog is delivered before subscribe resolves.
    assert.deepEqual(recorder.seqs, range(5, 10));

    await Promise.all(range(11, 15).map((i) => log.append("lobby", note(i))));
    await recorder.reach(15);
    assert.deepEqual(recorder.seqs, range(5, 15));
    assertFrames(recorder);

    // after: 0 replays everything; an after beyond the head replays nothing.
    const everything = new Recorder();
    const all = await hub.subscribe("lobby", everything.listener, { after: 0 });
    assert.deepEqual(everything.seqs, range(1, 15));
    const ahead = new Recorder();
    const beyond = await hub.subscribe("lobby", ahead.listener, { after: 99 });
    assert.deepEqual(ahead.seqs, []);

    await log.append("lobby", note(16));
    await everything.reach(16);
    await ahead.reach(16);
    await recorder.reach(16);
    assert.deepEqual(everything.seqs, range(1, 16));
    assert.deepEqual(ahead.seqs, [16]);
    assert.deepEqual(recorder.seqs, range(5, 16));
    subscription.close();
    all.close();
    beyond.close();
  });
});

Deno.test("Hub.subscribe - a backlog longer than a page arrives whole and in order", async () => {
  await withHub(async ({ log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    await Promise.all(range(1, 1203).map((i) => log.append("lobby", note(i))));
    const recorder = new Recorder();
    const subscription = await hub.subscribe("lobby", recorder.listener, { after: 1 });
    assert.deepEqual(recorder.seqs, range(2, 1203));
    assert.ok(recorder.deliveries.length >= 3, "expected the backlog in several pages");
    assertFrames(recorder);
    subscription.close();
  });
});

Deno.test("Hub.subscribe - no gaps or repeats while appends race with subscribing", async () => {
  await withHub(async ({ kv, log, hub }) => {
    const writer = new MessageLog(kv);
    await log.createRoom("race", "Race");
    await Promise.all(range(1, 20).map((i) => writer.append("race", note(i))));
    const total = 400;

    let next = 21;
    const appending = (async () => {
      // Mix single appends with small concurrent bursts so the head moves in steps of 1..6.
      while (next <= total) {
        const burst = range(next, Math.min(total, next + (next % 6)));
        next += burst.length;
        await Promise.all(burst.map((i) => writer.append("race", note(i))));
      }
    })();

    // Subscribe repeatedly while the appends run, with and without `after`.
    const subscribers: { recorder: Recorder; subscription: Subscription; first: number }[] = [];
    for (let k = 0; k < 12; k++) {
      const recorder = new Recorder();
      const after = k % 3 === 0 ? undefined : k % 3 === 1 ? 0 : Math.max(0, next - 15);
      const subscription = await hub.subscribe(
        "race",
        recorder.listener,
        after === undefined ? {} : { after },
      );
      subscribers.push({ recorder, subscription, first: (after ?? subscription.head) + 1 });
      await sleep(k % 4);
    }
    await appending;
    assert.ok(
      subscribers.some(({ first }) => first > 21 && first <= total),
      "no subscribe raced the appends",
    );

    for (const { recorder, subscription, first } of subscribers) {
      if (first <= total) await recorder.reach(total);
      assert.deepEqual(recorder.seqs, range(first, total), `subscriber from ${first}`);
      assertFrames(recorder);
      subscription.close();
    }
  });
});

Deno.test("Hub.subscribe - reconnecting with after = last seen misses nothing while appends race", async () => {
  await withHub(async ({ kv, log, hub }) => {
    const writer = new MessageLog(kv);
    await log.createRoom("race", "Race");
    const total = 300;
    const appending = (async () => {
      for (let i = 1; i <= total; i += 3) {
        await Promise.all(
          range(i, Math.min(total, i + 2)).map((j) => writer.append("race", note(j))),
        );
        // Spread the appends out, so the reconnects race them even on a busy machine.
        await sleep(1);
      }
    })();

    // The only subscriber leaves and comes back, so the room's feed is torn down and reopened.
    const recorder = new Recorder();
    let reconnects = 0;
    let subscription = await hub.subscribe("race", recorder.listener, { after: 0 });
    while (recorder.last < total) {
      await sleep(reconnects % 3);
      subscription.close();
      assert.equal(hub.watchedRooms, 0);
      subscription = await hub.subscribe("race", recorder.listener, { after: recorder.last });
      reconnects++;
      if (reconnects > 10_000) throw new Error("too many reconnects");
    }
    await appending;
    assert.ok(reconnects > 5, `only ${reconnects} reconnects`);
    assert.deepEqual(recorder.seqs, range(1, total));
    assertFrames(recorder);
    subscription.close();
  });
});

Deno.test("Hub.watchedRooms - counts rooms with subscribers, one watch per room", async () => {
  await withHub(async ({ log, hub }) => {
    await log.createRoom("a", "A");
    await log.createRoom("b", "B");
    assert.equal(hub.watchedRooms, 0);

    const first = new Recorder();
    const second = new Recorder();
    const subA1 = await hub.subscribe("a", first.listener);
    assert.equal(hub.watchedRooms, 1);
    const subA2 = await hub.subscribe("a", second.listener);
    assert.equal(hub.watchedRooms, 1);

    subA1.close();
    assert.equal(hub.watchedRooms, 1);
    // The closed subscriber gets nothing more; the other still gets everything.
    await log.append("a", note(1));
    await second.reach(1);
    assert.deepEqual(second.seqs, [1]);
    assert.deepEqual(first.seqs, []);

    subA2.close();
    assert.equal(hub.watchedRooms, 0);
    subA2.close();
    assert.equal(hub.watchedRooms, 0, "closing twice is harmless");

    const [again, inB] = await Promise.all([
      hub.subscribe("a", first.listener),
      hub.subscribe("b", second.listener),
    ]);
    assert.equal(hub.watchedRooms, 2);
    const [twice, alsoB] = await Promise.all([
      hub.subscribe("a", first.listener),
      hub.subscribe("b", second.listener),
    ]);
    assert.equal(hub.watchedRooms, 2);
    for (const subscription of [again, inB, twice]) subscription.close();
    assert.equal(hub.watchedRooms, 1);
    alsoB.close();
    assert.equal(hub.watchedRooms, 0);
  });
});

Deno.test("Hub.subscribe - a missing room rejects with room_not_found and watches nothing", async () => {
  await withHub(async ({ log, hub }) => {
    const isRoomNotFound = (error: unknown) => {
      assert.ok(error instanceof ParleyError, `expected a ParleyError, got ${error}`);
      assert.equal(error.code, "room_not_found");
      assert.equal(error.status, 404);
      return true;
    };
    const recorder = new Recorder();
    await assert.rejects(hub.subscribe("ghost", recorder.listener), isRoomNotFound);
    assert.equal(hub.watchedRooms, 0);

    const both = await Promise.allSettled([
      hub.subscribe("ghost", recorder.listener),
      hub.subscribe("ghost", recorder.listener, { after: 0 }),
    ]);
    for (const outcome of both) {
      assert.equal(outcome.status, "rejected");
      if (outcome.status === "rejected") isRoomNotFound(outcome.reason);
    }
    assert.equal(hub.watchedRooms, 0);

    // The failure is not cached: once the room exists, subscribing works.
    await log.createRoom("ghost", "Ghost");
    const subscription = await hub.subscribe("ghost", recorder.listener);
    assert.equal(hub.watchedRooms, 1);
    await log.append("ghost", note(1));
    await recorder.reach(1);
    assert.deepEqual(recorder.seqs, [1]);
    subscription.close();
  });
});

Deno.test("Hub.subscribe - rooms are isolated", async () => {
  await withHub(async ({ log, hub }) => {
    await log.createRoom("a", "A");
    await log.createRoom("b", "B");
    const inA = new Recorder();
    const inB = new Recorder();
    const subA = await hub.subscribe("a", inA.listener);
    const subB = await hub.subscribe("b", inB.listener);

    await Promise.all([
      ...range(1, 30).map((i) => log.append("a", { author: "ada", text: `a${i}` })),
      ...range(1, 10).map((i) => log.append("b", { author: "bob", text: `b${i}` })),
    ]);
    await inA.reach(30);
    await inB.reach(10);
    // Give any stray cross-room delivery a moment to show up.
    await log.append("a", { author: "ada", text: "a31" });
    await inA.reach(31);

    assert.deepEqual(inA.seqs, range(1, 31));
    assert.deepEqual(inB.seqs, range(1, 10));
    assert.ok(inA.messages.every((m) => m.room === "a" && m.text.startsWith("a")));
    assert.ok(inB.messages.every((m) => m.room === "b" && m.text.startsWith("b")));
    subA.close();
    subB.close();
  });
});

Deno.test("Hub.subscribe - a throwing listener does not stop delivery to others", async () => {
  await withHub(async ({ log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    const logged: unknown[][] = [];
    const originalError = console.error;
    console.error = (...args: unknown[]) => logged.push(args);
    try {
      let calls = 0;
      const failing = await hub.subscribe("lobby", () => {
        calls++;
        throw new Error("listener broke");
      });
      const healthy = new Recorder();
      const subscription = await hub.subscribe("lobby", healthy.listener);

      await log.append("lobby", note(1));
      await healthy.reach(1);
      await log.append("lobby", note(2));
      await healthy.reach(2);
      assert.deepEqual(healthy.seqs, [1, 2]);
      assert.equal(calls, 2);
      assert.equal(logged.length, 2);
      failing.close();
      subscription.close();
    } finally {
      console.error = originalError;
    }
  });
});

Deno.test("Hub.close - stops every watch and all deliveries", async () => {
  await withHub(async ({ kv, log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    const control = new Hub(kv, log);
    try {
      const stopped = new Recorder();
      const live = new Recorder();
      const subscription = await hub.subscribe("lobby", stopped.listener);
      await control.subscribe("lobby", live.listener);
      assert.equal(hub.watchedRooms, 1);

      hub.close();
      assert.equal(hub.watchedRooms, 0);
      await log.append("lobby", note(1));
      await live.reach(1);
      await log.append("lobby", note(2));
      await live.reach(2);
      assert.deepEqual(stopped.seqs, []);
      subscription.close();
      assert.equal(hub.watchedRooms, 0);
    } finally {
      control.close();
    }
  });
});

Deno.test({
  name: "Hub.subscribe - joining while the room's last subscriber leaves still goes live",
  async fn() {
    // Close the other subscriber after 0..7 microtask hops, so one of them hits the gap.
    for (let hops = 0; hops < 8; hops++) {
      await withHub(async ({ log, hub }) => {
        await log.createRoom("lobby", "Lobby");
        const leaving = await hub.subscribe("lobby", () => {});
        const joining = new Recorder();
        const joined = hub.subscribe("lobby", joining.listener);
        (async () => {
          for (let i = 0; i < hops; i++) await null;
          leaving.close();
        })();
        const subscription = await joined;
        const control = new Recorder();
        const controlSubscription = await hub.subscribe("lobby", control.listener);

        await log.append("lobby", note(1));
        await control.reach(1);
        await log.append("lobby", note(2));
        await control.reach(2);
        assert.deepEqual(joining.seqs, [1, 2], `closing after ${hops} microtask hops`);
        assert.equal(hub.watchedRooms, 1);
        subscription.close();
        controlSubscription.close();
        assert.equal(hub.watchedRooms, 0);
      });
    }
  },
});

Deno.test("Hub.poll - a poll behind the feed is answered by its own read, never with a gap", async () => {
  const kv = await Deno.openKv(":memory:");
  // The poll's own read of what the feed already passed is slow; a newer batch arrives first.
  class SlowCatchUp extends MessageLog {
    override async readAfter(room: string, after: number, limit: number): Promise<Message[]> {
      if (after === 5) await new Promise((resolve) => setTimeout(resolve, 150));
      return await super.readAfter(room, after, limit);
    }
  }
  const log = new SlowCatchUp(kv);
  const hub = new Hub(kv, log);
  try {
    await log.createRoom("lobby", "Lobby");
    for (let i = 1; i <= 6; i++) await log.append("lobby", note(i));
    const watcher = await hub.subscribe("lobby", () => {});
    const polled = hub.poll("lobby", 5, { limit: 100, waitMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await log.append("lobby", note(7));
    const { messages } = await polled;
    assert.deepEqual(messages.map((message) => message.seq), [6, 7]);
    watcher.close();
  } finally {
    hub.close();
    kv.close();
  }
});

Deno.test("Hub - messages this worker commits are delivered without reading any of them back", async () => {
  const kv = await Deno.openKv(":memory:");
  class CountingLog extends MessageLog {
    reads = 0;
    override readAfter(room: string, after: number, limit: number): Promise<Message[]> {
      this.reads++;
      return super.readAfter(room, after, limit);
    }
  }
  const log = new CountingLog(kv);
  const hub = new Hub(kv, log);
  try {
    await log.createRoom("lobby", "Lobby");
    const seen: number[] = [];
    const subscription = await hub.subscribe("lobby", (delivery) => {
      seen.push(...delivery.messages.map((message) => message.seq));
    });
    const readsBefore = log.reads;
    for (let i = 1; i <= 20; i++) await log.append("lobby", note(i));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(seen, range(1, 20));
    // Without the hand-over every one of the 20 batches is read back; with it, none is: a watch
    // wake-up that runs before the commit's own continuation waits for the hand-over.
    assert.equal(log.reads - readsBefore, 0, "batches were read back");
    subscription.close();
  } finally {
    hub.close();
    kv.close();
  }
});

Deno.test("Hub - a commit its watch reports first is delivered in memory, though retention trimmed it", async () => {
  const kv = await Deno.openKv(":memory:");
  // The store answers each commit only after a pause: the room's watch sees it land first.
  const slowCommits = replacing(kv, {
    atomic: () => {
      const op = kv.atomic();
      const commit = op.commit.bind(op);
      op.commit = async () => {
        const outcome = await commit();
        await sleep(50);
        return outcome;
      };
      return op;
    },
  });
  const log = new MessageLog(slowCommits, { historyLimit: 10 });
  const hub = new Hub(kv, log);
  try {
    await log.createRoom("lobby", "Lobby");
    const recorder = new Recorder();
    let gaps = 0;
    const subscription = await hub.subscribe("lobby", recorder.listener, { onGap: () => gaps++ });
    // Seq 1 commits alone, seqs 2-30 together, trimming seqs up to 20 as they land.
    await Promise.all(range(1, 30).map((i) => log.append("lobby", note(i))));
    await waitUntil(() => recorder.last === 30 || gaps > 0, "seq 30 or a gap");
    assert.equal(gaps, 0, "the subscriber was told of a gap");
    assert.deepEqual(recorder.seqs, range(1, 30));
    subscription.close();
  } finally {
    hub.close();
    kv.close();
  }
});

Deno.test("Hub - without a watch, a commit that skips past the cursor makes the feed read the gap", async () => {
  await withHub(async ({ kv, log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    const recorder = new Recorder();
    const subscription = await hub.subscribe("lobby", recorder.listener);
    // Stored by another log on the store: no commit of this log announces it.
    await new MessageLog(kv).append("lobby", note(1));
    await sleep(50);
    assert.deepEqual(recorder.seqs, [], "nothing tells the feed of seq 1");
    await log.append("lobby", note(2));
    await recorder.reach(2);
    assert.deepEqual(recorder.seqs, [1, 2]);
    subscription.close();
  }, { watch: false });
});

Deno.test("Hub.poll - without a watch, a commit announced while the room's feed opens wakes the poll", async () => {
  const kv = await Deno.openKv(":memory:");
  // The feed reads the room's record, and this log commits seq 1 before the feed is open.
  class CommitsWhileOpening extends MessageLog {
    committing = false;
    override async getRoom(id: string) {
      const room = await super.getRoom(id);
      if (this.committing) {
        this.committing = false;
        await this.append("lobby", note(1));
      }
      return room;
    }
  }
  const log = new CommitsWhileOpening(kv);
  const hub = new Hub(kv, log, { watch: false });
  try {
    await log.createRoom("lobby", "Lobby");
    log.committing = true;
    const started = performance.now();
    const { messages } = await hub.poll("lobby", 0, { limit: 100, waitMs: 2000 });
    assert.deepEqual(messages.map((message) => message.seq), [1]);
    assert.ok(performance.now() - started < 1000, "answered by the commit, not the wait");
  } finally {
    hub.close();
    kv.close();
  }
});

/**
 * Stores seqs `from` to `to` of "lobby" through another log on the store, keeping 5 messages:
 * no commit of the hub's own log announces them, and retention has deleted all but the last 5
 * by the time a feed reads them.
 */
async function storeUnannounced(kv: Deno.Kv, from: number, to: number): Promise<void> {
  const other = new MessageLog(kv, { historyLimit: 5 });
  for (let i = from; i <= to; i++) await other.append("lobby", note(i));
}

Deno.test("Hub - a feed that retention passed tells its subscribers and polls, and delivers no gap", async () => {
  await withHub(async ({ kv, log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    const recorder = new Recorder();
    let gaps = 0;
    const subscription = await hub.subscribe("lobby", recorder.listener, { onGap: () => gaps++ });
    const polled = hub.poll("lobby", 0, { limit: 100, waitMs: 5000 });
    await sleep(20);
    // Another log on the store, keeping 5 messages, stores 8 that no commit of this one
    // announces: by the time the feed reads, seqs 1-3 are gone.
    await storeUnannounced(kv, 1, 8);
    await log.append("lobby", note(9));
    assert.deepEqual((await polled).messages, [], "the waiting poll got messages past a gap");
    await waitUntil(() => gaps === 1, "the subscriber to be told");
    await log.append("lobby", note(10));
    await sleep(50);
    assert.deepEqual(recorder.seqs, [], "the subscriber got messages past a gap");
    // A new subscriber is served from the head the feed moved on to.
    const next = new Recorder();
    const again = await hub.subscribe("lobby", next.listener);
    await log.append("lobby", note(11));
    await next.reach(11);
    assert.deepEqual(next.seqs, [11]);
    again.close();
    subscription.close();
  }, { watch: false });
});

Deno.test("Hub - a feed that retention passed leaves a subscriber still reading its backlog alone", async () => {
  await withHub(async ({ kv, log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    let gaps = 0;
    const first = await hub.subscribe("lobby", new Recorder().listener, { onGap: () => gaps++ });
    await storeUnannounced(kv, 1, 8);
    // The second subscriber has joined the feed but not yet read the head it starts from.
    const gate = Promise.withResolvers<void>();
    const getRoom = log.getRoom.bind(log);
    log.getRoom = async (room) => {
      await gate.promise;
      return await getRoom(room);
    };
    const late = new Recorder();
    let lateGaps = 0;
    const joining = hub.subscribe("lobby", late.listener, {
      after: 8,
      onGap: () => lateGaps++,
    });
    await log.append("lobby", note(9));
    await waitUntil(() => gaps === 1, "the first subscriber to be told of the gap");
    gate.resolve();
    const second = await joining;
    await late.reach(9);
    assert.deepEqual(late.seqs, [9]);
    assert.equal(lateGaps, 0);
    first.close();
    second.close();
  }, { watch: false });
});

Deno.test("Hub - a subscriber whose start retention passes while it loads is told, not skipped ahead", async () => {
  await withHub(async ({ kv, log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    const recorder = new Recorder();
    let gaps = 0;
    // Joining at the head (0), it has no backlog; while its welcome goes out, another process
    // stores 12 messages (keeping 8-12) and this one a 13th, which the feed reads on to.
    const subscription = await hub.subscribe("lobby", recorder.listener, {
      onGap: () => gaps++,
      onStart: async () => {
        await storeUnannounced(kv, 1, 12);
        await log.append("lobby", note(13));
        await sleep(50);
      },
    });
    await waitUntil(() => gaps === 1, "the subscriber to be told of the gap");
    await log.append("lobby", note(14));
    await sleep(50);
    assert.deepEqual(recorder.seqs, [], "messages were delivered past a gap");
    subscription.close();
  }, { watch: false });
});

Deno.test("Hub - without a watch, a head check leaves a trimmed commit to its broadcast on the way", async () => {
  const kv = await Deno.openKv(":memory:");
  let checked = () => {};
  const checkedKv = replacing(kv, {
    getMany: ((...args: Parameters<Deno.Kv["getMany"]>) =>
      kv.getMany(...args).then((entries) => {
        checked();
        return entries;
      })) as Deno.Kv["getMany"],
  });
  // A linked worker writes, keeping 10 messages; its broadcasts are held back here.
  const writer = new MessageLog(kv, { historyLimit: 10 });
  const held: Array<[string, Message[]]> = [];
  writer.onCommitted((room, messages) => held.push([room, messages]));
  const log = new MessageLog(kv);
  const hub = new Hub(checkedKv, log, { watch: false, headCheckMs: 50 });
  const release = () => {
    for (const [room, messages] of held.splice(0)) log.publish(room, messages);
  };
  try {
    await writer.createRoom("lobby", "Lobby");
    const recorder = new Recorder();
    let gaps = 0;
    const subscription = await hub.subscribe("lobby", recorder.listener, { onGap: () => gaps++ });
    await writer.append("lobby", note(1));
    release();
    await recorder.reach(1);
    // Seqs 2-30 land, trimming seqs up to 20, and a head check reads the room before the
    // broadcasts arrive.
    await Promise.all(range(2, 30).map((i) => writer.append("lobby", note(i))));
    await new Promise<void>((resolve) => checked = resolve);
    await sleep(20);
    release();
    await waitUntil(() => recorder.last === 30 || gaps > 0, "seq 30 or a gap");
    assert.equal(gaps, 0, "the subscriber was told of a gap");
    assert.deepEqual(recorder.seqs, range(1, 30));
    subscription.close();
  } finally {
    hub.close();
    kv.close();
  }
});

Deno.test("Hub - a feed that retention passed reads on from the first kept message for those ahead", async () => {
  await withHub(async ({ kv, log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    const behind = new Recorder();
    let gaps = 0;
    const first = await hub.subscribe("lobby", behind.listener, { onGap: () => gaps++ });
    // As above, seqs 1-3 are gone before the feed reads; a second subscriber joins from the head
    // (8), past what is gone, so it has missed nothing.
    await storeUnannounced(kv, 1, 8);
    const ahead = new Recorder();
    let aheadGaps = 0;
    const second = await hub.subscribe("lobby", ahead.listener, { onGap: () => aheadGaps++ });
    await log.append("lobby", note(9));
    await ahead.reach(9);
    assert.deepEqual(ahead.seqs, [9]);
    assert.equal(aheadGaps, 0);
    assert.equal(gaps, 1);
    assert.deepEqual(behind.seqs, []);
    first.close();
    second.close();
  }, { watch: false });
});

Deno.test("Hub - without a watch, the head check delivers what no commit announced", async () => {
  await withHub(async ({ kv, log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    const recorder = new Recorder();
    const subscription = await hub.subscribe("lobby", recorder.listener);
    await new MessageLog(kv).append("lobby", note(1));
    await recorder.reach(1);
    assert.deepEqual(recorder.seqs, [1]);
    subscription.close();
  }, { watch: false, headCheckMs: 50 });
});

Deno.test("Hub - the head check comes round to every room", async () => {
  await withHub(async ({ kv, log, hub }) => {
    const rooms = range(1, 25).map((i) => `room-${i}`);
    const recorders = new Map(rooms.map((room) => [room, new Recorder()]));
    const subscriptions = [];
    for (const room of rooms) {
      await log.createRoom(room, room);
      subscriptions.push(await hub.subscribe(room, recorders.get(room)!.listener));
    }
    const otherProcess = new MessageLog(kv);
    for (const room of rooms) await otherProcess.append(room, note(1));
    for (const room of rooms) await recorders.get(room)!.reach(1);
    for (const subscription of subscriptions) subscription.close();
  }, { watch: false, headCheckMs: 100 });
});

/** Reads of room records by room, and the most of them in flight at once. */
interface RoomReads {
  reads: Map<string, number>;
  inFlight: number;
  peak: number;
}

/**
 * Runs `fn` with a hub without watches, checking heads every `headCheckMs`, whose store counts
 * its reads of room records; the log reads and writes past the count.
 */
async function withCountingHub(
  headCheckMs: number,
  fn: (setup: Setup & { counts: RoomReads }) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const counts: RoomReads = { reads: new Map(), inFlight: 0, peak: 0 };
  const { reads } = counts;
  const store = replacing(kv, {
    getMany: (async (keys: Deno.KvKey[]) => {
      const rooms = keys.filter((key) => key[0] === "rooms").map((key) => String(key[1]));
      for (const room of rooms) reads.set(room, (reads.get(room) ?? 0) + 1);
      counts.inFlight += rooms.length;
      counts.peak = Math.max(counts.peak, counts.inFlight);
      try {
        return await kv.getMany(keys);
      } finally {
        counts.inFlight -= rooms.length;
      }
    }) as Deno.Kv["getMany"],
  });
  const log = new MessageLog(kv);
  const hub = new Hub(store, log, { watch: false, headCheckMs });
  try {
    await fn({ kv, log, hub, counts });
  } finally {
    hub.close();
    kv.close();
  }
}

/**
 * Keeps the log clock moving, as another process's appends would, by appending to a room nobody
 * here follows every 10 ms; the returned function stops it.
 */
async function moveClock(log: MessageLog): Promise<() => Promise<void>> {
  await log.createRoom("elsewhere", "Elsewhere");
  let moving = true;
  const done = (async () => {
    for (let i = 1; moving; i++) {
      await log.append("elsewhere", note(i));
      await sleep(10);
    }
  })();
  return () => {
    moving = false;
    return done;
  };
}

Deno.test("Hub - the head check reads a slice of the rooms at a time, each about every interval", async () => {
  await withCountingHub(200, async ({ log, hub, counts }) => {
    const rooms = range(1, 25).map((i) => `room-${i}`);
    const subscriptions = [];
    for (const room of rooms) {
      await log.createRoom(room, room);
      subscriptions.push(await hub.subscribe(room, () => {}));
    }
    const stop = await moveClock(log);
    // Ten slices of 200 ms: every room twice in about 400 ms.
    await waitUntil(
      () => rooms.every((room) => (counts.reads.get(room) ?? 0) >= 2),
      "every room checked twice",
      2000,
    );
    await stop();
    assert.ok(counts.peak <= 6, `${counts.peak} rooms read at once`);
    for (const subscription of subscriptions) subscription.close();
  });
});

Deno.test("Hub - the head check reads no room records while the log clock stands still", async () => {
  await withCountingHub(50, async ({ kv, log, hub, counts }) => {
    const rooms = range(1, 5).map((i) => `room-${i}`);
    const recorder = new Recorder();
    for (const room of rooms) await log.createRoom(room, room);
    const subscriptions = await Promise.all(
      rooms.map((room) => hub.subscribe(room, recorder.listener)),
    );
    await waitUntil(() => rooms.every((room) => counts.reads.has(room)), "every room checked");
    // A check that was reading when the last room was first read may still land.
    await sleep(100);
    const reads = structuredClone(counts.reads);
    await sleep(250);
    assert.deepEqual(counts.reads, reads);
    // Another process's append moves the clock: every room is read again, and the message
    // arrives although nothing announced it here.
    await new MessageLog(kv).append("room-3", note(1));
    await recorder.reach(1);
    await waitUntil(
      () => rooms.every((room) => counts.reads.get(room)! > reads.get(room)!),
      "every room checked again",
    );
    for (const subscription of subscriptions) subscription.close();
  });
});

Deno.test("Hub - the head check stops for a room once nobody follows it", async () => {
  await withCountingHub(20, async ({ log, hub, counts }) => {
    await log.createRoom("left", "Left");
    await log.createRoom("stays", "Stays");
    const left = await hub.subscribe("left", () => {});
    const stays = await hub.subscribe("stays", () => {});
    const stop = await moveClock(log);
    await waitUntil(() => (counts.reads.get("left") ?? 0) > 0, "a check of the room");
    left.close();
    const leftReads = counts.reads.get("left");
    const staysReads = counts.reads.get("stays") ?? 0;
    await waitUntil(() => counts.reads.get("stays")! >= staysReads + 3, "the other room's checks");
    await stop();
    assert.equal(counts.reads.get("left"), leftReads);
    stays.close();
  });
});

// The delivery interval tests run without a watch: a watch wake-up that reads the new messages
// may run before the commit's own announcement, and deliver them a moment after the append
// resolves, where these tests look for them at once.
Deno.test(
  "Hub.subscribe - a busy room's deliveries wait out the interval, together",
  async () => {
    await withHub(async ({ log, hub }) => {
      await log.createRoom("lobby", "Lobby");
      const recorder = new Recorder();
      const subscription = await hub.subscribe("lobby", recorder.listener);

      const first = performance.now();
      await log.append("lobby", note(1));
      assert.deepEqual(recorder.seqs, [1], "the first message after a quiet spell waited");
      for (const i of range(2, 6)) await log.append("lobby", note(i));
      assert.deepEqual(recorder.seqs, [1], "a message within the interval went out at once");

      await recorder.reach(6);
      assert.ok(performance.now() - first >= 190, "the second delivery came before the interval");
      assert.deepEqual(recorder.deliveries.map((delivery) => delivery.messages.length), [1, 5]);
      assertFrames(recorder);

      await sleep(250);
      await log.append("lobby", note(7));
      assert.deepEqual(recorder.seqs, range(1, 7), "a message after a quiet spell waited");
      subscription.close();
    }, { deliveryIntervalMs: 200, watch: false });
  },
);

Deno.test(
  "Hub.poll - a waiting poll is answered at once, whatever the interval",
  async () => {
    await withHub(async ({ log, hub }) => {
      await log.createRoom("lobby", "Lobby");
      const recorder = new Recorder();
      const subscription = await hub.subscribe("lobby", recorder.listener);
      await log.append("lobby", note(1));

      const polled = hub.poll("lobby", 1, { limit: 10, waitMs: 5000 });
      await sleep(10);
      const sent = performance.now();
      await log.append("lobby", note(2));
      const { messages } = await polled;
      assert.deepEqual(messages.map((message) => message.seq), [2]);
      assert.ok(performance.now() - sent < 300, "the poll waited for the delivery interval");
      assert.deepEqual(recorder.seqs, [1], "the subscriber got message 2 within the interval");
      await recorder.reach(2);
      subscription.close();
    }, { deliveryIntervalMs: 600, watch: false });
  },
);

Deno.test("Hub.subscribe - a subscriber joining while messages wait gets each one once", async () => {
  await withHub(async ({ log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    const early = new Recorder();
    const first = await hub.subscribe("lobby", early.listener);
    for (const i of range(1, 3)) await log.append("lobby", note(i));
    assert.deepEqual(early.seqs, [1], "messages 2 and 3 did not wait");

    const late = new Recorder();
    const second = await hub.subscribe("lobby", late.listener, { after: 0 });
    await early.reach(3);
    await late.reach(3);
    await sleep(250);
    assert.deepEqual(late.seqs, [1, 2, 3]);
    assert.deepEqual(early.seqs, [1, 2, 3]);
    first.close();
    second.close();
  }, { deliveryIntervalMs: 200, watch: false });
});

Deno.test("Hub.close - messages waiting out the interval are dropped, and no timer is left", async () => {
  await withHub(async ({ log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    const recorder = new Recorder();
    await hub.subscribe("lobby", recorder.listener);
    await log.append("lobby", note(1));
    await log.append("lobby", note(2));
    hub.close();
    await sleep(300);
    assert.deepEqual(recorder.seqs, [1], "a message reached a subscriber after the hub closed");
  }, { deliveryIntervalMs: 200, watch: false });
});

interface PresenceSetup {
  kv: Deno.Kv;
  hub: Hub;
  /** Writes presence on the store as another process would. */
  elsewhere: Presence;
  /** Every presence the hub told a subscriber of "lobby", in order. */
  seen: RoomPresence[];
}

/**
 * Runs `fn` with a hub without watches that checks every 50 ms and follows presence, on a store
 * whose `list` is the one `listOf` makes, with a subscriber of the room "lobby".
 */
async function withPresenceHub(
  listOf: (kv: Deno.Kv) => Deno.Kv["list"],
  fn: (setup: PresenceSetup) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const store = replacing(kv, { list: listOf(kv) });
  const log = new MessageLog(kv);
  const hub = new Hub(store, log, {
    watch: false,
    headCheckMs: 50,
    presence: new Presence(store, { authorIdOf }),
  });
  const elsewhere = new Presence(kv, { authorIdOf });
  try {
    await log.createRoom("lobby", "Lobby");
    const seen: RoomPresence[] = [];
    const subscription = await hub.subscribe("lobby", () => {}, {
      onPresence: (presence) => seen.push(presence),
    });
    await fn({ kv, hub, elsewhere, seen });
    subscription.close();
  } finally {
    elsewhere.close();
    hub.close();
    kv.close();
  }
}

function ann(): Session {
  return { sid: "sid-ann", name: "ann", iat: Date.now() };
}

Deno.test("Hub - presence is read again only when the room's mark moves or an entry runs out", async () => {
  let lists = 0;
  const counting = (kv: Deno.Kv) =>
    ((selector: Deno.KvListSelector, options?: Deno.KvListOptions) => {
      if ("prefix" in selector && selector.prefix[0] === "presence") lists++;
      return kv.list(selector, options);
    }) as Deno.Kv["list"];
  await withPresenceHub(counting, async ({ kv, elsewhere, seen }) => {
    // Opening reads presence once, and the first check once more after reading the mark.
    await sleep(300);
    assert.ok(lists <= 2, `${lists} presence reads of a room where nothing changed`);

    elsewhere.join("lobby", ann(), "tab-1");
    await waitUntil(() => seen.at(-1)?.online.includes("ann") === true, "ann online");
    // Zed's entry lasts 300 ms, and nothing moves the mark when it runs out.
    await kv.atomic()
      .set(["presence", "lobby", "sid-zed", "c"], { name: "zed", expiresAt: Date.now() + 300 })
      .sum(presenceMarkKey("lobby"), 1n)
      .commit();
    await waitUntil(() => seen.at(-1)?.online.includes("zed") === true, "zed online");
    const beforeRunOut = lists;
    await waitUntil(() => seen.at(-1)?.online.join() === "ann", "zed's entry run out", 2000);
    assert.ok(lists - beforeRunOut <= 2, `${lists - beforeRunOut} reads for one run-out`);
  });
});

Deno.test("Hub - a presence read that finishes after a newer one is dropped", async () => {
  let hold: Promise<void> | undefined;
  const holding = (kv: Deno.Kv) =>
    ((selector: Deno.KvListSelector, options?: Deno.KvListOptions) => {
      // The entries are read now, but handed over only once `hold` settles.
      const read = Array.fromAsync(kv.list(selector, options));
      const waitFor = hold;
      hold = undefined;
      return (async function* () {
        await waitFor;
        yield* await read;
      })();
    }) as unknown as Deno.Kv["list"];
  await withPresenceHub(holding, async ({ hub, elsewhere, seen }) => {
    const { promise: held, resolve: release } = Promise.withResolvers<void>();
    hold = held;
    const slow = hub.refreshPresence("lobby");
    await waitUntil(() => hold === undefined, "the slow read to start");
    elsewhere.join("lobby", ann(), "tab-1");
    await waitUntil(() => seen.at(-1)?.online.includes("ann") === true, "ann online");
    release();
    await slow;
    await sleep(100);
    // Once ann showed, the older read's empty room must never be shown.
    const shown = seen.findIndex(({ online }) => online.includes("ann"));
    assert.deepEqual(seen.slice(shown).map(({ online }) => online), [["ann"]]);
  });
});

Deno.test("Hub - a catch-up that failed is tried again while the log clock stands still", async () => {
  await withHub(async ({ kv, log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    const recorder = new Recorder();
    const subscription = await hub.subscribe("lobby", recorder.listener);
    const readAfter = log.readAfter.bind(log);
    let failures = 1;
    log.readAfter = (...args) =>
      failures-- > 0 ? Promise.reject(new Error("disk on fire")) : readAfter(...args);
    await new MessageLog(kv).append("lobby", note(1));
    await recorder.reach(1);
    assert.ok(failures < 0, "the read that fails was never made");
    subscription.close();
  }, { watch: false, headCheckMs: 50 });
});

Deno.test("Hub.subscribe - a backlog is read no faster than the subscriber takes it", async () => {
  await withHub(async ({ log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    await Promise.all(range(1, 120).map((i) => log.append("lobby", note(i))));
    const recorder = new Recorder();
    const room = Promise.withResolvers<boolean>();
    let asked = 0;
    const subscribing = hub.subscribe("lobby", recorder.listener, {
      after: 0,
      backlogRoom: () => {
        asked++;
        return room.promise;
      },
    });
    await waitUntil(() => asked === 1, "the backlog to wait for room");
    await sleep(50);
    // One page (50 small messages, one delivery) is out; the next is not read until there is
    // room, and never once the subscriber has ended.
    assert.deepEqual(recorder.seqs, range(1, 50));
    room.resolve(false);
    const subscription = await subscribing;
    await sleep(50);
    assert.equal(asked, 1);
    assert.deepEqual(recorder.seqs, range(1, 50));
    subscription.close();
  });
});

Deno.test("Hub.subscribe - a backlog paced by a slow reader holds at most 1 MiB of the live room", async () => {
  await withHub(async ({ log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    await Promise.all(range(1, 100).map((i) => log.append("lobby", note(i))));
    const live = new Recorder();
    const watching = await hub.subscribe("lobby", live.listener);
    const slow = new Recorder();
    const room = Promise.withResolvers<boolean>();
    const subscribing = hub.subscribe("lobby", slow.listener, {
      after: 0,
      backlogRoom: () => room.promise,
    });
    await slow.reach(50);
    // While the reader takes its first page, the room gets about 5 MB of messages.
    const long = (i: number) => ({ id: `m${i}`, author: "ada", text: "x".repeat(4000) });
    await Promise.all(range(101, 500).map((i) => log.append("lobby", long(i))));
    await live.reach(500);
    room.resolve(true);
    const subscription = await subscribing;
    await slow.reach(500);
    assert.deepEqual(slow.seqs, range(1, 500));
    // What it was handed as the live subscriber was, it held all along; the rest it read again.
    const liveMessages = new Set(live.messages);
    const held = slow.messages.filter((message) => liveMessages.has(message));
    const heldBytes = held.reduce((sum, { text, author }) => sum + 3 * (text + author).length, 0);
    assert.ok(heldBytes <= MAX_HELD_BYTES, `${held.length} live messages held`);
    watching.close();
    subscription.close();
  });
});

Deno.test("Hub - a subscriber whose join is written only after the hub closed is told nothing", async () => {
  await withHub(async ({ log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    const joined = Promise.withResolvers<void>();
    const seen: RoomPresence[] = [];
    await hub.subscribe("lobby", () => {}, {
      onPresence: (presence) => seen.push(presence),
      joined: joined.promise,
    });
    hub.close();
    joined.resolve();
    await sleep(100);
    // Closing promised subscribers nothing more: least of all a view without their own session.
    assert.deepEqual(seen, []);
  }, (kv) => ({ watch: false, presence: new Presence(kv, { authorIdOf }) }));
});

Deno.test("Hub - a subscriber that throws on its first presence or a change is logged, and keeps it from no one", async () => {
  await withHub(async ({ kv, log, hub }) => {
    await log.createRoom("lobby", "Lobby");
    // Another worker's presence, on the same store.
    const elsewhere = new Presence(kv, { authorIdOf });
    await withConsoleErrors(async (logged) => {
      const broken = await hub.subscribe("lobby", () => {}, {
        onPresence: () => {
          throw new Error("The socket is gone");
        },
      });
      const seen: RoomPresence[] = [];
      const here = await hub.subscribe("lobby", () => {}, {
        onPresence: (presence) => seen.push(presence),
      });
      await waitUntil(() => seen.length > 0 && logged.length > 0, "both told");
      assert.match(String(logged[0][0]), /^Cannot tell a subscriber of room "lobby" who is there/);
      const seenPresence = presenceVersion(seen[0]);
      const poll = hub.poll("lobby", 0, { seenPresence, limit: 10, waitMs: 10_000 });
      const { written, leave } = elsewhere.join("lobby", ann(), "tab-1");
      await written;
      await hub.refreshPresence("lobby");
      assert.deepEqual(seen.at(-1)?.online, ["ann"]);
      assert.deepEqual((await poll).messages, []);
      await leave();
      broken.close();
      here.close();
    });
    elsewhere.close();
  }, (kv) => ({ watch: false, presence: new Presence(kv, { authorIdOf }) }));
});
