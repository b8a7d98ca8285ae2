/**
 * The store's format marker as a real server process starts: written to a new store, started on
 * again, and a later version's store refused before anything is served.
 *
 * @module
 */
import assert from "node:assert/strict";
import { FORMAT_KEY } from "../lib/keys.ts";
import { STORE_FORMAT } from "../lib/store_format.ts";
import { spawnServer, tempKvPath } from "./server_process.ts";

/** The value of the format marker in the KV file at `path`. */
async function storedFormat(path: string): Promise<unknown> {
  const kv = await Deno.openKv(path);
  try {
    return (await kv.get(FORMAT_KEY)).value;
  } finally {
    kv.close();
  }
}

Deno.test("startup - a new store is marked with this version's format, and starts again marked", async () => {
  const store = await tempKvPath();
  try {
    for (const start of ["new", "marked"]) {
      const server = await spawnServer({ kvPath: store.path });
      try {
        const health = await fetch(new URL("/healthz", server.origin));
        assert.equal(health.status, 200, `${start}: ${await health.text()}`);
        assert.equal(await storedFormat(store.path), STORE_FORMAT, start);
        server.kill("SIGTERM");
        assert.equal((await server.exit(10_000)).code, 0, start);
      } finally {
        await server.close();
      }
    }
  } finally {
    await store.remove();
  }
});

Deno.test("startup - a store a later version wrote is refused before anything is served, naming it", async () => {
  const store = await tempKvPath();
  try {
    const kv = await Deno.openKv(store.path);
    await kv.set(FORMAT_KEY, STORE_FORMAT + 1);
    kv.close();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["serve", "--parallel", "--allow-all", "--host", "127.0.0.1", "--port", "0", "main.ts"],
      cwd: new URL("..", import.meta.url),
      env: { PARLEY_KV_PATH: store.path, DENO_JOBS: "2", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // A server that starts anyway is stopped, and fails the test by its exit code.
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const { code, stdout, stderr } = await child.output();
    clearTimeout(timer);
    const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 1, output);
    assert.doesNotMatch(output, /Listening/);
    // Under `--parallel`, `deno serve` puts each worker's name before its lines.
    const lines = output.trim().split("\n").map((line) =>
      line.replace(/^\[serve-worker-\d+ *\] /, "")
    );
    for (const line of lines) {
      assert.equal(
        line,
        `Cannot start Parley: Cannot use the message store at "${store.path}" (PARLEY_KV_PATH): ` +
          `it is in format ${STORE_FORMAT + 1}, and this version of Parley reads formats up to ` +
          `${STORE_FORMAT}; run the version that wrote it or a later one, or restore a backup ` +
          `taken before the upgrade (see docs/DEPLOY.md#upgrading)`,
      );
    }
    assert.equal(await storedFormat(store.path), STORE_FORMAT + 1, "the marker is kept");
  } finally {
    await store.remove();
  }
});
