import assert from "node:assert/strict";
import { isLocalFile, isLocalStore, openKv } from "./open_kv.ts";

Deno.test("openKv - retries an open that finds the file locked by another worker", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-open-" });
  let attempts = 0;
  const lockedTwice = (path?: string) => {
    attempts++;
    if (attempts <= 2) return Promise.reject(new Error("database is locked"));
    return Deno.openKv(path);
  };
  try {
    const kv = await openKv(`${dir}/data/parley.kv`, lockedTwice);
    await kv.set(["started"], true);
    kv.close();
    assert.equal(attempts, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openKv - any other failure names the path and is not retried", async () => {
  let attempts = 0;
  const broken = () => {
    attempts++;
    return Promise.reject(new Error("disk on fire"));
  };
  await assert.rejects(
    openKv(":memory:", broken),
    {
      message: 'Cannot open the message store at ":memory:" (PARLEY_KV_PATH): Error: disk on fire',
    },
  );
  assert.equal(attempts, 1);
});

Deno.test("isLocalStore - files and :memory: are SQLite here, URLs are not", () => {
  assert.equal(isLocalStore("data/parley.kv"), true);
  assert.equal(isLocalStore("/var/lib/parley/parley.kv"), true);
  assert.equal(isLocalStore(":memory:"), true);
  assert.equal(isLocalStore("https://api.deno.com/databases/id/connect"), false);
  assert.equal(isLocalFile(":memory:"), false);
  assert.equal(isLocalFile("data/parley.kv"), true);
});
