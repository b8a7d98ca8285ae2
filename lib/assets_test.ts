import assert from "node:assert/strict";
import { withLobby } from "../tests/server.ts";
import { IMMUTABLE, REVALIDATE } from "./assets.ts";
import { PAGE_CACHING } from "./render_page.tsx";

Deno.test("assets - pages link to versioned files, kept a year; other URLs of them are asked again", async () => {
  await withLobby(async (server) => {
    const page = await (await fetch(`${server.origin}/rooms/lobby`)).text();
    const links = [...page.matchAll(/(?:href|src)="(\/static\/[^"]+)"/g)].map(([, url]) => url);
    const bundle = links.find((url) => url.startsWith("/static/build/islands.js"));
    const styles = links.find((url) => url.startsWith("/static/styles.css"));
    for (const url of [bundle, styles]) {
      assert.match(url ?? "", /\?v=[0-9a-f]{8}$/, `no version in ${url}`);
      const response = await fetch(`${server.origin}${url}`);
      await response.body?.cancel();
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("cache-control"), IMMUTABLE, url);
    }
    const bytes = await Deno.readFile(new URL("../static/styles.css", import.meta.url));
    for (const url of ["/static/styles.css", "/static/styles.css?v=00000000"]) {
      const response = await fetch(`${server.origin}${url}`);
      assert.deepEqual(new Uint8Array(await response.arrayBuffer()), bytes);
      assert.equal(response.headers.get("cache-control"), REVALIDATE, url);
    }
    const missing = await fetch(`${server.origin}/static/nothing.css?v=00000000`);
    await missing.body?.cancel();
    assert.equal(missing.status, 404);
    // The not-found page, not a file to keep.
    assert.equal(missing.headers.get("cache-control"), PAGE_CACHING);
  });
});

Deno.test("assets - pages and static files are gzipped for browsers that take it, API answers are not", async () => {
  await withLobby(async (server) => {
    const bytes = await Deno.readFile(new URL("../static/styles.css", import.meta.url));
    const gzip = { headers: { "accept-encoding": "gzip" } };
    for (const path of ["/", "/rooms/lobby", "/static/styles.css"]) {
      const response = await fetch(`${server.origin}${path}`, gzip);
      const body = new Uint8Array(await response.arrayBuffer());
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get("content-encoding"), "gzip", path);
      assert.match(response.headers.get("vary") ?? "", /accept-encoding/i, path);
      // Deno's fetch unpacks it: what arrives is the file, byte for byte.
      if (path === "/static/styles.css") assert.deepEqual(body, bytes);
    }
    const plain = await fetch(`${server.origin}/static/styles.css`, {
      headers: { "accept-encoding": "identity" },
    });
    assert.deepEqual(new Uint8Array(await plain.arrayBuffer()), bytes);
    assert.equal(plain.headers.get("content-encoding"), null);
    const history = await fetch(`${server.origin}/api/rooms/lobby/messages`, gzip);
    await history.body?.cancel();
    assert.equal(history.status, 200);
    assert.equal(history.headers.get("content-encoding"), null);
  });
});
