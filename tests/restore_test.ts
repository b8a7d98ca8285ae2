/**
 * A store restored from a backup, as DEPLOY.md says to restore one: the server stopped, the backup
 * put in place as `parley.kv`, and started again. Its rooms keep their epochs and give the seqs
 * after the backup's head out again, to new messages.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect, type Message } from "../lib/client.ts";
import type { TransportName } from "../lib/transports/transport.ts";
import { requestJson, startServer, type TestServer } from "./server.ts";
import { waitFor } from "./wait_for.ts";

/** Posts `texts` to the lobby, one after another. */
async function post(server: TestServer, texts: string[]): Promise<void> {
  for (const text of texts) {
    await requestJson(server, "/api/rooms/lobby/messages", { body: { author: "ann", text } });
  }
}

/** Copies the store at `from` (its `-wal` and `-shm` files with it, or without any left) to `to`. */
async function copyStore(from: string, to: string): Promise<void> {
  for (const suffix of ["", "-wal", "-shm"]) {
    await Deno.remove(to + suffix).catch(() => {});
    await Deno.copyFile(from + suffix, to + suffix).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}

/** Where a page is in the lobby, as its connection's getters of the same names say. */
interface PageCursor {
  last?: number;
  lastId?: string;
  epoch?: string;
}

/** Connects to the lobby over `transport` from a cursor, and collects what it is given. */
function follow(server: TestServer, transport: TransportName, cursor: PageCursor) {
  const chat = connect("lobby", {
    transport,
    baseUrl: server.origin,
    after: cursor.last,
    lastId: cursor.lastId,
    epoch: cursor.epoch,
  });
  const seen = { messages: [] as Message[], resync: undefined as Message[] | undefined };
  chat.on("messages", (messages) => seen.messages.push(...messages));
  chat.on("resync", (messages) => (seen.resync = messages));
  return { chat, seen };
}

for (const transport of ["ws", "sse", "poll"] as TransportName[]) {
  Deno.test(`client (${transport}) - a page asleep through a restore, whose cursor new messages passed since, is resynced`, async () => {
    const dir = await Deno.makeTempDir();
    const store = `${dir}/parley.kv`;
    try {
      let server = await startServer({ kvPath: store });
      await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
      await post(server, ["one", "two", "three"]);
      await server.close();
      await copyStore(store, `${dir}/backup.kv`);

      // The page reads on to seq 5, then sleeps: its cursor is 5, and what it has there.
      server = await startServer({ kvPath: store });
      const before = await requestJson(server, "/api/rooms/lobby/messages?limit=1");
      const epoch = before.body.epoch as string;
      const awake = follow(server, transport, { last: 3, epoch });
      await waitFor("live", () => awake.chat.status.state === "live");
      await post(server, ["four", "five"]);
      await waitFor("seq 5", () => awake.chat.last === 5);
      const { last, lastId, epoch: itsEpoch } = awake.chat;
      const asleep: PageCursor = { last, lastId, epoch: itsEpoch };
      awake.chat.close();
      await server.close();

      // Restored: "four" and "five" are gone, and seqs 4 to 7 go to new messages.
      await copyStore(`${dir}/backup.kv`, store);
      server = await startServer({ kvPath: store });
      try {
        await post(server, ["new four", "new five", "new six", "new seven"]);
        const woken = follow(server, transport, asleep);
        try {
          await waitFor("the resync", () => woken.seen.resync !== undefined);
          const texts = woken.seen.resync!.map((message) => message.text);
          assert.deepEqual(texts, [
            "one",
            "two",
            "three",
            "new four",
            "new five",
            "new six",
            "new seven",
          ]);
          assert.deepEqual(woken.seen.messages, []);
          assert.equal(woken.chat.last, 7);
          assert.equal(woken.chat.lastId, woken.seen.resync!.at(-1)!.id);
        } finally {
          woken.chat.close();
        }
      } finally {
        await server.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("client (poll) - only the poll that opens names the message at its cursor", async () => {
  const server = await startServer();
  const fetchOf = globalThis.fetch;
  const urls: URL[] = [];
  globalThis.fetch = (input, init) => {
    urls.push(new URL(input instanceof Request ? input.url : input));
    return fetchOf(input, init);
  };
  try {
    await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
    await post(server, ["one"]);
    const { body } = await requestJson(server, "/api/rooms/lobby/messages?limit=1");
    const [first] = body.messages as Message[];
    const cursor = { last: 1, lastId: first.id, epoch: body.epoch as string };
    const { chat } = follow(server, "poll", cursor);
    try {
      await waitFor("live", () => chat.status.state === "live");
      await post(server, ["two", "three"]);
      await waitFor("seq 3", () => chat.last === 3);
      const polls = urls.filter((url) => url.searchParams.has("after"));
      assert.deepEqual(polls.map((url) => url.searchParams.get("last")).slice(0, 2), [
        first.id,
        null,
      ]);
      assert.ok(polls.slice(1).every((url) => !url.searchParams.has("last")));
    } finally {
      chat.close();
    }
  } finally {
    globalThis.fetch = fetchOf;
    await server.close();
  }
});
