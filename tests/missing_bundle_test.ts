/**
 * A server started from a checkout where `deno task build` was never run: its pages load but
 * their script is missing, so it says so on standard error as it starts.
 *
 * @module
 */
import assert from "node:assert/strict";
import { BUNDLE_PATH } from "../lib/bundle_check.ts";

const ROOT = new URL("..", import.meta.url);
/** What `deno serve main.ts` needs of the checkout, the built bundle aside. */
const SERVER_FILES = [
  "main.ts",
  "app.tsx",
  "deno.json",
  "deno.lock",
  "lib",
  "routes",
  "components",
  "islands",
  "static",
];
const START_TIMEOUT_MS = 15_000;

/** Copies `from` into `to`, folders and all, leaving out `static/build`. */
async function copy(from: URL, to: URL): Promise<void> {
  if (!(await Deno.stat(from)).isDirectory) return await Deno.copyFile(from, to);
  if (from.pathname.endsWith("/static/build/")) return;
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const slash = entry.isDirectory ? "/" : "";
    await copy(new URL(`${entry.name}${slash}`, from), new URL(`${entry.name}${slash}`, to));
  }
}

/** Runs `deno serve main.ts` in `cwd` until it listens, and returns what it wrote on stderr. */
async function startupErrors(cwd: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["serve", "--allow-all", "--host", "127.0.0.1", "--port", "0", "main.ts"],
    cwd,
    env: { PARLEY_KV_PATH: ":memory:", NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), START_TIMEOUT_MS);
  let text = "";
  try {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      if (text.includes("Listening on")) break;
    }
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGKILL");
    } catch {
      // It has exited already.
    }
    await child.status;
  }
  return text;
}

Deno.test("deno serve main.ts - a checkout without the islands bundle says so as it starts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley_unbuilt_" });
  try {
    for (const name of SERVER_FILES) {
      const slash = (await Deno.stat(new URL(name, ROOT))).isDirectory ? "/" : "";
      await copy(new URL(`${name}${slash}`, ROOT), new URL(`${name}${slash}`, `file://${dir}/`));
    }
    const errors = await startupErrors(dir);
    assert.match(errors, /Listening on/);
    const warnings = errors.split("\n").filter((line) => line.startsWith("Warning:"));
    assert.deepEqual(warnings, [
      `Warning: the islands bundle ${dir}/${BUNDLE_PATH} is missing, so pages load but chat ` +
      `does not work: build it with "deno task build" in ${dir}`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
