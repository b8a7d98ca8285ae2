import assert from "node:assert/strict";
import { SettingError } from "../lib/config.ts";
import { readLaunchSettings, serveArgs } from "./launch_settings.ts";

function read(env: Record<string, string>, cores = 4) {
  return readLaunchSettings((name) => env[name], cores);
}

Deno.test("readLaunchSettings - defaults: port 8000, every IPv4 interface, one worker per core but one", () => {
  assert.deepEqual(read({}), { port: 8000, host: "0.0.0.0", jobs: 3 });
});

Deno.test("readLaunchSettings - PORT, PARLEY_HOST and DENO_JOBS are used as given", () => {
  assert.deepEqual(read({ PORT: "0", PARLEY_HOST: "127.0.0.1", DENO_JOBS: "2" }), {
    port: 0,
    host: "127.0.0.1",
    jobs: 2,
  });
  assert.equal(read({ PARLEY_HOST: "localhost" }).host, "localhost");
  // deno serve takes an IPv6 address in brackets only.
  assert.equal(read({ PARLEY_HOST: "::1" }).host, "[::1]");
  assert.equal(read({ PARLEY_HOST: "[::1]" }).host, "[::1]");
  assert.equal(read({ PARLEY_HOST: "::" }).host, "[::]");
});

Deno.test("readLaunchSettings - a bad value names its variable", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: "65536" }, /^Invalid PORT "65536": expected a whole number from 0 to 65535$/],
    [{ PORT: "80a" }, /^Invalid PORT/],
    [{ DENO_JOBS: "0" }, /^Invalid DENO_JOBS "0": expected a whole number from 1 to 256$/],
    [{ DENO_JOBS: "abc" }, /^Invalid DENO_JOBS/],
    [{ DENO_JOBS: "100000" }, /^Invalid DENO_JOBS/],
    [{ PARLEY_HOST: "127.0.0.1 --allow-all" }, /^Invalid PARLEY_HOST "127\.0\.0\.1 --allow-all"/],
    [{ PARLEY_HOST: "--allow-all" }, /^Invalid PARLEY_HOST/],
    [{ PARLEY_HOST: "[::1" }, /^Invalid PARLEY_HOST/],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => read(env), (error: Error) => {
      assert.ok(error instanceof SettingError, `${JSON.stringify(env)}: ${error}`);
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("readLaunchSettings - a store in memory runs one worker, and refuses more", () => {
  assert.equal(read({ PARLEY_KV_PATH: ":memory:" }, 8).jobs, 1);
  assert.equal(read({ PARLEY_KV_PATH: ":memory:", DENO_JOBS: "1" }, 8).jobs, 1);
  assert.throws(
    () => read({ PARLEY_KV_PATH: ":memory:", DENO_JOBS: "3" }),
    /^SettingError: PARLEY_KV_PATH=:memory: gives every worker a store of its own; run one worker \(DENO_JOBS=1\), got DENO_JOBS=3$/,
  );
});

Deno.test("serveArgs - listens where the settings say, in parallel or watching", () => {
  const settings = { port: 9000, host: "127.0.0.1", jobs: 2 };
  const args = serveArgs(settings, false);
  assert.deepEqual(args.slice(0, 2), ["serve", "--parallel"]);
  assert.deepEqual(args.slice(-5), ["--host", "127.0.0.1", "--port", "9000", "main.ts"]);
  assert.equal(serveArgs(settings, true)[1], "--watch");
});
