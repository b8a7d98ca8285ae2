/**
 * Two servers in one process on one KV file, as `deno serve --parallel` runs its workers: they
 * link up, one of them writes the log, and each hears the other's commits over the link.
 *
 * @module
 */
import assert from "node:assert/strict";
import { requestJson, startServer, type TestServer, TestSocket } from "./server.ts";
import { waitFor } from "./wait_for.ts";

/** Runs `fn` against two linked workers on one KV file, then closes them and removes the file. */
async function withTwoWorkers(fn: (workers: TestServer[]) => Promise<void>): Promise<void> {
  const directory = await Deno.makeTempDir({ prefix: "parley-workers-" });
  const workers: TestServer[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const env = { PARLEY_LIMITS: "off" };
      workers.push(await startServer({ kvPath: `${directory}/parley.kv`, env }));
    }
    await waitFor(
      "the two workers to link",
      () => workers.every(({ services }) => (services.link?.peers ?? 0) >= 1),
    );
    await fn(workers);
  } finally {
    for (const worker of workers) await worker.close();
    await Deno.remove(directory, { recursive: true });
  }
}

Deno.test("parallel workers - one writes every message sent to either, and both deliver them all", async () => {
  await withTwoWorkers(async (workers) => {
    const sockets: TestSocket[] = [];
    try {
      const created = await requestJson(workers[0], "/api/rooms", {
        body: { id: "lobby", title: "Lobby" },
      });
      assert.equal(created.status, 201);
      for (const worker of workers) {
        const socket = TestSocket.open(worker, "lobby", { name: "ann" });
        await socket.until((s) => s.frames.some((frame) => frame.type === "welcome"));
        sockets.push(socket);
      }
      for (let i = 1; i <= 20; i++) {
        sockets[i % 2].send({ type: "send", id: `m${i}`, text: `hello ${i}` });
      }
      for (const socket of sockets) await socket.until((s) => s.messages.length === 20);
      for (const socket of sockets) {
        assert.deepEqual(
          socket.messages.map(({ seq }) => seq),
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
      }
      const appended = workers.map(({ services }) => services.log.stats.appended).sort();
      assert.deepEqual(appended, [0, 20], "one worker committed everything");
    } finally {
      for (const socket of sockets) await socket.close();
    }
  });
});

Deno.test("parallel workers - /metrics on either worker shows both, each under its worker label", async () => {
  await withTwoWorkers(async (workers) => {
    await requestJson(workers[0], "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
    for (const worker of workers) {
      const { status } = await requestJson(worker, "/api/rooms/lobby/messages", {
        body: { author: "ann", text: "hello" },
      });
      assert.equal(status, 201);
    }
    const ids = workers.map(({ services }) => services.link!.id.slice(0, 8)).sort();
    for (const worker of workers) {
      const metrics = await (await fetch(`${worker.origin}/metrics`)).text();
      const series = (name: string): [string, number][] =>
        [...metrics.matchAll(new RegExp(`^${name}\\{worker="(\\w+)"\\} (\\d+)$`, "gm"))]
          .map(([, id, value]) => [id, Number(value)]);
      assert.deepEqual(series("parley_worker_peers"), ids.map((id) => [id, 1]));
      assert.deepEqual(series("parley_forward_timeouts_total"), ids.map((id) => [id, 0]));
      // The writer stored both messages; the other forwarded its one.
      const forwarded = new Map(series("parley_appends_forwarded_total"));
      const appended = new Map(series("parley_messages_appended_total"));
      assert.deepEqual(ids.map((id) => [forwarded.get(id), appended.get(id)]).sort(), [
        [0, 2],
        [1, 0],
      ]);
      assert.equal(metrics.match(/^# TYPE parley_worker_peers gauge$/gm)?.length, 1);
    }
  });
});

Deno.test("parallel workers - of concurrent sends of one id by three people through both, one is stored and the others are 409", async () => {
  await withTwoWorkers(async (workers) => {
    await requestJson(workers[0], "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
    const senders: [TestServer, string][] = [
      [workers[0], "ann"],
      [workers[1], "bob"],
      [workers[1], "cy"],
    ];
    for (let trial = 0; trial < 30; trial++) {
      const id = `same-${trial}`;
      const answers = await Promise.all(
        senders.map(([worker, author]) =>
          requestJson(worker, "/api/rooms/lobby/messages", {
            body: { id, author, text: `${author} says ${trial}` },
          })
        ),
      );
      const created = answers.filter(({ status }) => status === 201);
      assert.equal(created.length, 1, `trial ${trial}: ${answers.map(({ status }) => status)}`);
      const stored = created[0].body.message as { author: string; text: string };
      assert.equal(stored.text, `${stored.author} says ${trial}`);
      // Nobody is told that another's message is theirs.
      for (const { status, body } of answers) {
        if (status !== 201) {
          assert.deepEqual([status, (body.error as { code: string }).code], [409, "id_taken"]);
        }
      }
    }
  });
});
