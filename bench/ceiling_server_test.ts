import assert from "node:assert/strict";
import { TestSocket } from "../tests/server.ts";
import { waitFor } from "../tests/wait_for.ts";
import { createCeiling } from "./ceiling_server.ts";
import type { CeilingMessage } from "./ceiling_store.ts";

/** A store that keeps each message until the test lets it land, or fails it. */
class HeldStore {
  readonly held: Array<{ message: CeilingMessage } & PromiseWithResolvers<void>> = [];

  persist(message: CeilingMessage): Promise<void> {
    const landing = Promise.withResolvers<void>();
    this.held.push({ message, ...landing });
    return landing.promise;
  }

  /** Waits until it holds this many messages. */
  untilHolding(count: number): Promise<void> {
    return waitFor(`the store to hold ${count} messages`, () => this.held.length >= count);
  }
}

async function withCeiling(
  store: HeldStore | undefined,
  fn: (socket: TestSocket, other: TestSocket) => Promise<void>,
): Promise<void> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    createCeiling({ store }).fetch,
  );
  const url = `ws://127.0.0.1:${server.addr.port}/api/rooms/r/ws?name=ada`;
  const socket = new TestSocket(url);
  const other = new TestSocket(url);
  try {
    await socket.until(({ frames }) => frames.some(({ type }) => type === "welcome"));
    await other.until(({ frames }) => frames.some(({ type }) => type === "welcome"));
    await fn(socket, other);
  } finally {
    await socket.close();
    await other.close();
    await server.shutdown();
  }
}

const delivered = ({ messages }: TestSocket) => messages.length > 0;

Deno.test("createCeiling - acks and delivers at once without a store", async () => {
  await withCeiling(undefined, async (socket, other) => {
    socket.send({ type: "send", id: "m1", text: "hi" });
    await socket.until(({ frames }) => frames.some(({ type }) => type === "ack"));
    await other.until(delivered);
    assert.deepEqual(socket.frames.find(({ type }) => type === "ack"), {
      type: "ack",
      id: "m1",
      seq: 1,
    });
    assert.equal(other.messages[0].text, "hi");
  });
});

Deno.test("createCeiling - with a store, acks and delivers a message only once it landed", async () => {
  const store = new HeldStore();
  await withCeiling(store, async (socket, other) => {
    socket.send({ type: "send", id: "m1", text: "hi" });
    await store.untilHolding(1);
    assert.equal(store.held[0].message.text, "hi");
    // Nothing goes out while the message is held.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(socket.frames.map(({ type }) => type), ["welcome"]);
    assert.deepEqual(other.frames.map(({ type }) => type), ["welcome"]);
    store.held[0].resolve();
    await socket.until(({ frames }) => frames.some(({ type }) => type === "ack"));
    await other.until(delivered);
    assert.equal(other.messages[0].seq, 1);
  });
});

Deno.test("createCeiling - with a store, a failed commit answers with an error and delivers nothing", async () => {
  const store = new HeldStore();
  await withCeiling(store, async (socket, other) => {
    socket.send({ type: "send", id: "m1", text: "hi" });
    socket.send({ type: "send", id: "m2", text: "there" });
    await store.untilHolding(2);
    store.held[0].reject(new Error("disk full"));
    store.held[1].resolve();
    await other.until(delivered);
    await socket.until(({ frames }) => frames.filter(({ type }) => type !== "welcome").length >= 3);
    const error = socket.frames.find(({ type }) => type === "error");
    assert.equal(error?.id, "m1");
    assert.equal(error?.code, "storage_unavailable");
    assert.equal(error?.message, 'Cannot store message "m1" in room "r": Error: disk full');
    assert.deepEqual(other.messages.map(({ text }) => text), ["there"]);
  });
});
