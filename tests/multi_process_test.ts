import assert from "node:assert/strict";
import { requestJson, startServer, TestSocket } from "./server.ts";

const LOG_MODULE = new URL("../lib/message_log.ts", import.meta.url).href;

/** Appends one message from a separate Deno process on the same KV file. */
async function appendFromAnotherProcess(kvPath: string, text: string): Promise<void> {
  const script = `
    import { MessageLog } from ${JSON.stringify(LOG_MODULE)};
    const kv = await Deno.openKv(${JSON.stringify(kvPath)});
    await new MessageLog(kv).append("lobby", { author: "other", text: ${JSON.stringify(text)} });
    kv.close();
  `;
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--unstable-kv", script],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
}

Deno.test("hub - a message appended by another process on the same KV file is delivered", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/parley.kv`;
  const server = await startServer({ kvPath });
  try {
    await requestJson(server, "/api/rooms", { body: { id: "lobby", title: "Lobby" } });
    const listener = TestSocket.open(server, "lobby");
    try {
      await listener.until((s) => s.frames.some((frame) => frame.type === "welcome"));
      const started = Date.now();
      await appendFromAnotherProcess(kvPath, "from elsewhere");
      await listener.until((s) => s.messages.some((m) => m.text === "from elsewhere"), 5000);
      assert.ok(Date.now() - started < 5000);
      assert.deepEqual(listener.messages.map((m) => m.seq), [1]);
    } finally {
      await listener.close();
    }
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
