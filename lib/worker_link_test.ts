import assert from "node:assert/strict";
import { ParleyError } from "./errors.ts";
import { MessageLog } from "./message_log.ts";
import type { Message, NewMessage } from "./types.ts";
import { ID_WINDOW } from "./recent_ids.ts";
import { FORWARD_TIMEOUT_MS, WorkerLink } from "./worker_link.ts";

/** Two workers on one KV file, each with its own handle, log and link, like `--parallel`. */
async function twoWorkers() {
  const path = await Deno.makeTempFile({ suffix: ".kv" });
  const channel = `test:${path}`;
  const workers = await Promise.all([0, 1].map(async () => {
    const kv = await Deno.openKv(path);
    const log = new MessageLog(kv);
    return { kv, log, link: new WorkerLink(log, channel) };
  }));
  while (workers.some(({ link }) => link.peers < 1)) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const writerId = workers[0].link.writer;
  const writer = workers.find(({ link }) => link.id === writerId)!;
  const forwarder = workers.find(({ link }) => link.id !== writerId)!;
  await writer.log.createRoom("lobby", "Lobby");
  return {
    path,
    writer,
    forwarder,
    async [Symbol.asyncDispose]() {
      for (const { kv, link } of workers) {
        link.close();
        kv.close();
      }
      await Deno.remove(path);
    },
  };
}

Deno.test("WorkerLink - both workers agree on one writer", async () => {
  await using pair = await twoWorkers();
  assert.equal(pair.forwarder.link.writer, pair.writer.link.id);
  assert.notEqual(pair.forwarder.link.id, pair.writer.link.id);
});

Deno.test("WorkerLink - appends made on any worker are committed by the writer, seqs dense", async () => {
  await using pair = await twoWorkers();
  const results = await Promise.all(
    Array.from(
      { length: 200 },
      (_, i) =>
        (i % 2 === 0 ? pair.writer : pair.forwarder).log.append("lobby", {
          id: `m${i}`,
          author: "ann",
          text: `hello ${i}`,
        }),
    ),
  );
  assert.deepEqual(
    results.map(({ message }) => message.seq).sort((a, b) => a - b),
    Array.from({ length: 200 }, (_, i) => i + 1),
  );
  assert.equal(pair.writer.log.stats.appended, 200);
  assert.equal(pair.forwarder.log.stats.appended, 0);
  assert.deepEqual(pair.forwarder.link.stats, { forwarded: 100, timedOut: 0 });
  assert.deepEqual(pair.writer.link.stats, { forwarded: 0, timedOut: 0 });
  const stored = await pair.forwarder.log.readAfter("lobby", 0, 500);
  assert.deepEqual(stored.map(({ seq }) => seq), results.map((_, i) => i + 1));
});

Deno.test("WorkerLink - a repeated client id through the forwarder is stored once", async () => {
  await using pair = await twoWorkers();
  const first = await pair.forwarder.log.append("lobby", { id: "once", author: "ann", text: "hi" });
  const again = await pair.forwarder.log.append("lobby", { id: "once", author: "ann", text: "hi" });
  assert.equal(first.created, true);
  assert.equal(again.created, false);
  assert.deepEqual(again.message, first.message);
});

Deno.test("WorkerLink - through the forwarder, a same-session repeat gets the stored message; another session's id_taken", async () => {
  await using pair = await twoWorkers();
  const ann = { author: "ann", authorId: "ann-id" };
  const first = await pair.writer.log.append("lobby", { id: "c-1", ...ann, text: "hi" });
  const again = await pair.forwarder.log.append("lobby", { id: "c-1", ...ann, text: "hi" });
  assert.deepEqual(again, { message: first.message, created: false });
  await assert.rejects(
    pair.forwarder.log.append("lobby", { id: "c-1", author: "bob", authorId: "bob-id", text: "b" }),
    (error: ParleyError) => error.code === "id_taken",
  );
  assert.deepEqual(await pair.forwarder.log.readAfter("lobby", 0, 10), [first.message]);
});

Deno.test("WorkerLink - the other worker hears each commit without reading it back", async () => {
  await using pair = await twoWorkers();
  const heard: Array<[string, Message[], boolean]> = [];
  pair.forwarder.log.onCommitted((room, messages, byPeer) => heard.push([room, messages, byPeer]));
  const { message } = await pair.writer.log.append("lobby", { author: "ann", text: "hi" });
  while (heard.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(heard, [["lobby", [message], true]]);
});

Deno.test("WorkerLink - the writer's errors reach the forwarding worker intact", async () => {
  await using pair = await twoWorkers();
  await assert.rejects(
    pair.forwarder.log.append("nowhere", { author: "ann", text: "hi" }),
    (error) =>
      error instanceof ParleyError && error.status === 404 && error.code === "room_not_found" &&
      error.message === 'Room "nowhere" does not exist',
  );
});

Deno.test("WorkerLink - an append the leaving writer did not take is committed by the next writer", async () => {
  await using pair = await twoWorkers();
  const pending = pair.forwarder.log.append("lobby", { id: "late", author: "ann", text: "hi" });
  pair.writer.link.leave();
  const { created, message } = await pending;
  assert.equal(created, true);
  assert.equal(message.seq, 1);
  assert.equal(pair.forwarder.link.writer, pair.forwarder.link.id);
  assert.equal(pair.forwarder.log.stats.appended, 1);
  assert.equal(pair.writer.log.stats.appended, 0);
});

Deno.test("WorkerLink - a leaving writer still answers the appends it took", async () => {
  await using pair = await twoWorkers();
  const pending = pair.forwarder.log.append("lobby", { author: "ann", text: "hi" });
  // Let the writer take the append, then leave while it commits.
  while (pair.writer.log.stats.commits === 0) await new Promise((resolve) => setTimeout(resolve));
  pair.writer.link.leave();
  const { created } = await pending;
  assert.equal(created, true);
  assert.equal(pair.writer.log.stats.appended, 1);
  assert.equal(pair.forwarder.log.stats.appended, 0);
});

Deno.test("WorkerLink - appends sent to a writer as it closes come back and are committed", async () => {
  await using pair = await twoWorkers();
  const pending = pair.forwarder.log.append("lobby", { author: "ann", text: "hi" });
  pair.writer.link.close();
  const { created } = await pending;
  assert.equal(created, true);
  assert.equal(pair.writer.log.stats.appended, 0);
  assert.equal(pair.forwarder.log.stats.appended, 1);
});

/** One real worker on a KV file with a room "lobby", and a raw channel playing another worker. */
interface LoneWorker {
  log: MessageLog;
  link: WorkerLink;
  /** The other worker's end of the channel. */
  peer: BroadcastChannel;
  path: string;
}

/** Runs `test` with a {@link LoneWorker}; `peerHears` answers what the real worker says. */
async function withLoneWorker(
  test: (setup: LoneWorker) => Promise<void>,
  peerHears: (data: Record<string, unknown>, peer: BroadcastChannel) => void = () => {},
) {
  const path = await Deno.makeTempFile({ suffix: ".kv" });
  const channel = `test:${path}`;
  const kv = await Deno.openKv(path);
  const log = new MessageLog(kv);
  await log.createRoom("lobby", "Lobby");
  const peer = new BroadcastChannel(channel);
  peer.onmessage = (event) => peerHears(event.data, peer);
  const link = new WorkerLink(log, channel);
  try {
    await test({ log, link, peer, path });
  } finally {
    link.close();
    peer.close();
    kv.close();
    await Deno.remove(path);
  }
}

/**
 * One worker linked with a fake writer (id "0", smaller than any UUID) whose answers never
 * arrive, as when Deno's channel drops them; `forwarded` collects what was sent to it.
 */
async function withSilentWriter(
  test: (setup: LoneWorker & { forwarded: Array<{ room: string; input: NewMessage }> }) => Promise<
    void
  >,
) {
  const forwarded: Array<{ room: string; input: NewMessage }> = [];
  await withLoneWorker(async (setup) => {
    while (setup.link.writer !== "0") await new Promise((resolve) => setTimeout(resolve, 5));
    await test({ ...setup, forwarded });
  }, (data, peer) => {
    if (data.kind === "hello") peer.postMessage({ kind: "here", from: "0" });
    if (data.kind !== "append") return;
    const items = data.items as [number, string, NewMessage][];
    forwarded.push(...items.map(([, room, input]) => ({ room, input })));
  });
}

Deno.test("WorkerLink - an append the writer never answers is committed here after a second", async () => {
  await withSilentWriter(async ({ log, link, forwarded }) => {
    const started = performance.now();
    const { message, created } = await log.append("lobby", { author: "ann", text: "hi" });
    assert.ok(performance.now() - started >= FORWARD_TIMEOUT_MS);
    assert.equal(forwarded.length, 1, "it was forwarded first");
    assert.equal(created, true);
    assert.equal(message.seq, 1);
    assert.match(message.id, /^srv\./);
    assert.equal(log.stats.appended, 1);
    assert.deepEqual(link.stats, { forwarded: 1, timedOut: 1 });
  });
});

Deno.test("WorkerLink - an append whose answer was lost is stored once, and reported created", async () => {
  await withSilentWriter(async ({ log, forwarded, path }) => {
    const pending = log.append("lobby", { author: "ann", text: "hi" });
    while (forwarded.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // The writer commits it, but its answer never arrives.
    const writerKv = await Deno.openKv(path);
    try {
      const [{ room, input }] = forwarded;
      await new MessageLog(writerKv).appendHere(room, input);
    } finally {
      writerKv.close();
    }
    const { message, created } = await pending;
    assert.equal(created, true);
    assert.equal(message.id, forwarded[0].input.id);
    assert.equal(log.stats.appended, 0, "this worker found it stored");
    assert.deepEqual(
      (await log.readAfter("lobby", 0, 10)).map(({ id }) => id),
      [forwarded[0].input.id],
    );
  });
});

Deno.test("WorkerLink - a lost answer in a room busier than the id window is still stored once", async () => {
  await withSilentWriter(async ({ log, forwarded, path }) => {
    const pending = log.append("lobby", { id: "mine", author: "ann", text: "hi" });
    while (forwarded.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // The writer commits it and then more than ID_WINDOW other messages of the room; its
    // answer never arrives.
    const writerKv = await Deno.openKv(path);
    try {
      const writer = new MessageLog(writerKv);
      await writer.appendHere(forwarded[0].room, forwarded[0].input);
      await Promise.all(
        Array.from(
          { length: ID_WINDOW + 10 },
          (_, i) => writer.appendHere("lobby", { id: `o${i}`, author: "bob", text: "x" }),
        ),
      );
    } finally {
      writerKv.close();
    }
    const { message, created } = await pending;
    assert.equal(created, false, "the client chose the id, so it learns it was stored before");
    assert.equal(message.seq, 1);
    const stored = await log.readAfter("lobby", 0, 2 * ID_WINDOW);
    assert.equal(stored.filter(({ id }) => id === "mine").length, 1);
  });
});

Deno.test("WorkerLink - a room's appends wait for its unanswered ones, so a lost one cannot be overtaken", async () => {
  await withSilentWriter(async ({ log, link, forwarded }) => {
    const first = log.append("lobby", { id: "m1", author: "ann", text: "one" });
    while (forwarded.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const later = [
      log.append("lobby", { id: "m2", author: "ann", text: "two" }),
      log.append("lobby", { id: "m3", author: "ann", text: "three" }),
    ];
    await new Promise((resolve) => setTimeout(resolve, FORWARD_TIMEOUT_MS / 2));
    assert.deepEqual(forwarded.map(({ input }) => input.id), ["m1"], "m2 and m3 wait for m1");
    // No answer comes: this worker commits m1 itself, then sends m2 and m3, then commits them.
    const results = await Promise.all([first, ...later]);
    assert.deepEqual(results.map(({ message }) => [message.id, message.seq]), [
      ["m1", 1],
      ["m2", 2],
      ["m3", 3],
    ]);
    assert.deepEqual(forwarded.map(({ input }) => input.id), ["m1", "m2", "m3"]);
    assert.deepEqual(link.stats, { forwarded: 3, timedOut: 3 });
  });
});

Deno.test("WorkerLink - the same id sent twice at once through the forwarder is stored once", async () => {
  await using pair = await twoWorkers();
  const [first, second] = await Promise.all([
    pair.forwarder.log.append("lobby", { id: "same", author: "ann", text: "hi" }),
    pair.forwarder.log.append("lobby", { id: "same", author: "ann", text: "hi" }),
  ]);
  assert.deepEqual([first.created, second.created], [true, false]);
  assert.deepEqual(second.message, first.message);
  assert.equal(pair.forwarder.link.stats.timedOut, 0);
  assert.equal(pair.writer.log.stats.appended, 1);
});

Deno.test("WorkerLink - a writer that sends appends back is dropped even when its goodbye was lost", async () => {
  // A writer that is leaving: it answers every append with "ask someone else", and its "bye"
  // never arrived.
  await withLoneWorker(async ({ log, link }) => {
    while (link.writer !== "0") await new Promise((resolve) => setTimeout(resolve, 5));
    const started = performance.now();
    const { created, message } = await log.append("lobby", { author: "ann", text: "hi" });
    assert.ok(performance.now() - started < FORWARD_TIMEOUT_MS, "answered without a timeout");
    assert.equal(created, true);
    assert.equal(message.seq, 1);
    assert.equal(link.writer, link.id);
    assert.deepEqual(link.stats, { forwarded: 1, timedOut: 0 });
  }, (data, peer) => {
    if (data.kind === "hello") peer.postMessage({ kind: "here", from: "0" });
    if (data.kind !== "append") return;
    const items = data.items as [number][];
    const answers = items.map(([request]) => [request, { redirect: true }]);
    peer.postMessage({ kind: "appended", from: "0", to: data.from, items: answers });
  });
});

Deno.test("WorkerLink - a worker that missed the writer's announcement learns of it from its next message", async () => {
  // A writer whose "here" was lost: the first this worker hears of it is a commit broadcast.
  await withLoneWorker(async ({ link, peer }) => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(link.writer, link.id);
    peer.postMessage({ kind: "committed", from: "0", rooms: [] });
    while (link.writer !== "0") await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(link.peers, 1);
  });
});

Deno.test("WorkerLink - an append committed here as writer is not overtaken once another worker writes", async () => {
  // A writer with a smaller id that this worker hears of only later, and that commits at once.
  let writerLog: MessageLog | undefined;
  await withLoneWorker(async ({ log, link, peer, path }) => {
    const writerKv = await Deno.openKv(path);
    writerLog = new MessageLog(writerKv);
    // This worker's first commit is slow (say, waiting out another handle's lock).
    const appendHere = log.appendHere.bind(log);
    let slow = true;
    log.appendHere = async (room, input) => {
      if (slow) {
        slow = false;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return await appendHere(room, input);
    };
    try {
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(link.writer, link.id);
      const first = log.append("lobby", { id: "m1", author: "ann", text: "one" });
      peer.postMessage({ kind: "here", from: "0" });
      while (link.writer !== "0") await new Promise((resolve) => setTimeout(resolve, 5));
      const second = log.append("lobby", { id: "m2", author: "ann", text: "two" });
      await Promise.all([first, second]);
      const stored = await log.readAfter("lobby", 0, 10);
      assert.deepEqual(stored.map(({ seq, id }) => [seq, id]), [[1, "m1"], [2, "m2"]]);
    } finally {
      writerKv.close();
    }
  }, async (data, peer) => {
    if (data.kind !== "append" || data.to !== "0" || !writerLog) return;
    const answers = [];
    for (const [request, room, input] of data.items as [number, string, NewMessage][]) {
      answers.push([request, { ok: await writerLog.appendHere(room, input) }]);
    }
    peer.postMessage({ kind: "appended", from: "0", to: data.from, items: answers });
  });
});

Deno.test("WorkerLink - a worker that said goodbye is not taken for a peer again by a late message", async () => {
  await using pair = await twoWorkers();
  pair.writer.link.leave();
  while (pair.forwarder.link.peers > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  // A message the leaving writer sent before its goodbye, or an answer it still owes.
  const late = new BroadcastChannel(`test:${pair.path}`);
  late.postMessage({ kind: "here", from: pair.writer.link.id });
  await new Promise((resolve) => setTimeout(resolve, 20));
  late.close();
  assert.equal(pair.forwarder.link.writer, pair.forwarder.link.id);
  const started = performance.now();
  await pair.forwarder.log.append("lobby", { author: "ann", text: "hi" });
  assert.ok(performance.now() - started < FORWARD_TIMEOUT_MS, "committed without a timeout");
});

Deno.test("WorkerLink - an append forwarded just before its worker leaves is answered without a timeout", async () => {
  await using pair = await twoWorkers();
  const pending = pair.forwarder.log.append("lobby", { author: "ann", text: "hi" });
  while (pair.forwarder.link.stats.forwarded === 0) {
    await new Promise((resolve) => setTimeout(resolve));
  }
  // Its goodbye reaches the writer while the writer still commits the append.
  const started = performance.now();
  pair.forwarder.link.leave();
  const { created, message } = await pending;
  assert.ok(performance.now() - started < FORWARD_TIMEOUT_MS, "answered without a timeout");
  assert.equal(created, true);
  assert.equal(message.seq, 1);
  assert.equal(pair.writer.log.stats.appended, 1);
  assert.deepEqual(pair.forwarder.link.stats, { forwarded: 1, timedOut: 0 });
});
