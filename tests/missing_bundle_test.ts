/**
 * A server started from a checkout where `deno task build` was never run: its pages load but
 * their script is missing, so it says so on standard error as it starts, once, however many
 * workers find it missing.
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

/** The runner's values of these environment variables, those it has. */
function inherited(...names: string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((name) => {
    const value = Deno.env.get(name);
    return value === undefined ? [] : [[name, value]];
  }));
}

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

/**
 * Runs `deno serve main.ts` in `cwd` (with `--parallel` when `parallel`, and `DENO_JOBS` set to
 * `jobs` when given) until it listens and has warned, then stops it with SIGTERM, and returns all
 * it wrote on stderr.
 */
async function startupErrors(
  cwd: string,
  options: { parallel: boolean; jobs?: number },
): Promise<string> {
  const parallel = options.parallel ? ["--parallel"] : [];
  const jobs: Record<string, string> = options.jobs === undefined
    ? {}
    : { DENO_JOBS: String(options.jobs) };
  const child = new Deno.Command(Deno.execPath(), {
    args: ["serve", ...parallel, "--allow-all", "--host", "127.0.0.1", "--port", "0", "main.ts"],
    cwd,
    // Only what Deno needs and what the test gives: DENO_JOBS is the runner's otherwise.
    clearEnv: true,
    env: {
      ...inherited("PATH", "HOME", "DENO_DIR"),
      PARLEY_KV_PATH: `${cwd}/parley.kv`,
      NO_COLOR: "1",
      ...jobs,
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const kill = setTimeout(() => child.kill("SIGKILL"), START_TIMEOUT_MS);
  let stop: ReturnType<typeof setInterval> | undefined;
  let text = "";
  try {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      if (stop === undefined && text.includes("Listening on") && text.includes("Warning:")) {
        // Again every second: a `--parallel` worker still starting misses the first (Deno 2.9).
        child.kill("SIGTERM");
        stop = setInterval(() => child.kill("SIGTERM"), 1_000);
      }
    }
  } finally {
    clearTimeout(kill);
    clearInterval(stop);
    await child.status;
  }
  return text;
}

/** The warning a server started in `dir`, a checkout without the bundle, gives. */
function warningFor(dir: string): string {
  return `Warning: the islands bundle ${dir}/${BUNDLE_PATH} is missing, so pages load but chat ` +
    `does not work: build it with "deno task build" in ${dir}`;
}

/** Runs `fn` with a copy of the checkout's server files, without the bundle, in a temporary folder. */
async function withUnbuiltCheckout(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "parley_unbuilt_" });
  try {
    for (const name of SERVER_FILES) {
      const slash = (await Deno.stat(new URL(name, ROOT))).isDirectory ? "/" : "";
      await copy(new URL(`${name}${slash}`, ROOT), new URL(`${name}${slash}`, `file://${dir}/`));
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The warning lines of a server's standard error, without the worker's name `--parallel` puts first. */
function warnings(errors: string): string[] {
  return errors.split("\n").map((line) => line.replace(/^\[serve-worker-\d+ *\] /, ""))
    .filter((line) => line.startsWith("Warning:"));
}

Deno.test("deno serve main.ts - a checkout without the islands bundle says so as it starts", async () => {
  await withUnbuiltCheckout(async (dir) => {
    const errors = await startupErrors(dir, { parallel: false, jobs: 1 });
    assert.match(errors, /Listening on/);
    assert.deepEqual(warnings(errors), [warningFor(dir)]);
  });
});

Deno.test("deno serve --parallel main.ts - a checkout without the islands bundle says so once, not once per worker", async () => {
  await withUnbuiltCheckout(async (dir) => {
    const errors = await startupErrors(dir, { parallel: true, jobs: 3 });
    assert.match(errors, /Listening on .* with 3 threads/);
    assert.deepEqual(warnings(errors), [warningFor(dir)]);
  });
});

Deno.test({
  name:
    "deno serve --parallel main.ts without DENO_JOBS - a checkout without the islands bundle says so once, with a worker a core",
  // One core runs one worker, which says it once anyway.
  ignore: navigator.hardwareConcurrency < 2,
  fn: async () => {
    await withUnbuiltCheckout(async (dir) => {
      const errors = await startupErrors(dir, { parallel: true });
      assert.match(
        errors,
        new RegExp(`Listening on .* with ${navigator.hardwareConcurrency} threads`),
      );
      assert.deepEqual(warnings(errors), [warningFor(dir)]);
    });
  },
});

Deno.test("deno serve main.ts without DENO_JOBS - a checkout without the islands bundle still says so", async () => {
  await withUnbuiltCheckout(async (dir) => {
    const errors = await startupErrors(dir, { parallel: false });
    assert.match(errors, /Listening on/);
    assert.deepEqual(warnings(errors), [warningFor(dir)]);
  });
});
