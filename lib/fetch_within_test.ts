import assert from "node:assert/strict";
import { fetchWithin } from "./fetch_within.ts";

/** Runs `test` against a server that starts its answer after `startMs`, then trickles its body. */
async function withSlowServer(
  startMs: number,
  test: (url: URL) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number) => new Promise<void>((resolve) => timers.add(setTimeout(resolve, ms)));
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: controller.signal, onListen() {} },
    async () => {
      await later(startMs);
      const body = ReadableStream.from((async function* () {
        for (const part of ["[1,", "2]"]) {
          await later(150);
          yield new TextEncoder().encode(part);
        }
      })());
      return new Response(body);
    },
  );
  try {
    await test(new URL(`http://127.0.0.1:${server.addr.port}/slow`));
  } finally {
    for (const timer of timers) clearTimeout(timer);
    controller.abort();
    await server.finished;
  }
}

Deno.test("fetchWithin - an answer that does not start in time is given up as a timeout", async () => {
  await withSlowServer(2_000, async (url) => {
    const started = performance.now();
    await assert.rejects(fetchWithin(url, 100), { name: "TimeoutError" });
    assert.ok(performance.now() - started < 1_000);
  });
});

Deno.test("fetchWithin - a body slower than the time is read whole once the answer starts", async () => {
  await withSlowServer(0, async (url) => {
    const response = await fetchWithin(url, 100);
    assert.deepEqual(await response.json(), [1, 2]);
  });
});

Deno.test("fetchWithin - the caller's own signal still aborts it", async () => {
  await withSlowServer(2_000, async (url) => {
    const controller = new AbortController();
    const request = fetchWithin(url, 5_000, { signal: controller.signal });
    controller.abort();
    await assert.rejects(request, { name: "AbortError" });
  });
});
