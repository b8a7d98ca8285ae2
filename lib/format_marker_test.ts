import assert from "node:assert/strict";
import { SettingError } from "./config.ts";
import { markStoreFormat } from "./format_marker.ts";
import { FORMAT_KEY } from "./keys.ts";
import { MessageLog } from "./message_log.ts";
import { STORE_FORMAT } from "./store_format.ts";

/** Runs `fn` with the path of a KV file in a folder of its own, removed afterwards. */
async function withStoreFile(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "parley-format-" });
  try {
    await fn(`${dir}/parley.kv`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `fn` on the KV file at `path`, closing it afterwards. */
async function withKv<T>(path: string, fn: (kv: Deno.Kv) => Promise<T>): Promise<T> {
  const kv = await Deno.openKv(path);
  try {
    return await fn(kv);
  } finally {
    kv.close();
  }
}

Deno.test("markStoreFormat - a new store is marked with this version's format", async () => {
  await withStoreFile(async (path) => {
    await withKv(path, (kv) => markStoreFormat(kv, path));
    const marker = await withKv(path, (kv) => kv.get(FORMAT_KEY));
    assert.equal(marker.value, STORE_FORMAT);
  });
});

Deno.test("markStoreFormat - a store from before markers is marked and reads as it did", async () => {
  await withStoreFile(async (path) => {
    await withKv(path, async (kv) => {
      const log = new MessageLog(kv);
      await log.createRoom("lobby", "Lobby");
      await log.append("lobby", { author: "ada", text: "written before markers" });
    });
    await withKv(path, async (kv) => {
      await markStoreFormat(kv, path);
      assert.equal((await kv.get(FORMAT_KEY)).value, STORE_FORMAT);
      const messages = await new MessageLog(kv).readAfter("lobby", 0, 10);
      assert.deepEqual(messages.map((message) => message.text), ["written before markers"]);
    });
  });
});

Deno.test("markStoreFormat - a store of this format is left as it is", async () => {
  await withStoreFile(async (path) => {
    await withKv(path, async (kv) => {
      await markStoreFormat(kv, path);
      const before = await kv.get(FORMAT_KEY);
      await markStoreFormat(kv, path);
      assert.deepEqual(await kv.get(FORMAT_KEY), before);
    });
  });
});

Deno.test("markStoreFormat - a store of a later format is refused, naming it and both formats", async () => {
  await withStoreFile(async (path) => {
    await withKv(path, async (kv) => {
      await kv.set(FORMAT_KEY, STORE_FORMAT + 1);
      await assert.rejects(markStoreFormat(kv, path), (error) => {
        assert.ok(error instanceof SettingError);
        assert.equal(
          error.message,
          `Cannot use the message store at "${path}" (PARLEY_KV_PATH): it is in format ` +
            `${
              STORE_FORMAT + 1
            }, and this version of Parley reads formats up to ${STORE_FORMAT}; ` +
            `run the version that wrote it or a later one, or restore a backup taken before the ` +
            `upgrade (see docs/DEPLOY.md#upgrading)`,
        );
        return true;
      });
      assert.equal((await kv.get(FORMAT_KEY)).value, STORE_FORMAT + 1, "the marker is kept");
    });
  });
});

Deno.test("markStoreFormat - a marker that is not a format number is refused", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    for (const marker of [0, 1.5, "1"]) {
      await kv.set(FORMAT_KEY, marker);
      await assert.rejects(markStoreFormat(kv, ":memory:"), (error) => {
        assert.ok(error instanceof SettingError);
        assert.ok(
          error.message.includes(`it is in format ${Deno.inspect(marker)},`),
          error.message,
        );
        return true;
      });
    }
  } finally {
    kv.close();
  }
});

Deno.test("markStoreFormat - a later version marking the store first, between the read and the write, wins", async () => {
  await withStoreFile(async (path) => {
    await withKv(path, async (kv) => {
      // This worker reads no marker; another process, a later version, writes its own before
      // this one writes.
      const get = kv.get.bind(kv);
      let reads = 0;
      kv.get = (async (key: Deno.KvKey) => {
        const entry = await get(key);
        if (reads++ > 0) return entry;
        await withKv(path, (other) => other.set(FORMAT_KEY, STORE_FORMAT + 1));
        return { key, value: null, versionstamp: null };
      }) as typeof kv.get;
      await assert.rejects(markStoreFormat(kv, path), { name: "SettingError" });
      assert.equal((await get(FORMAT_KEY)).value, STORE_FORMAT + 1);
    });
  });
});
