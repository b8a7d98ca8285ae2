import assert from "node:assert/strict";
import {
  DEFAULT_DELIVERY_INTERVAL_MS,
  DEFAULT_HISTORY_LIMIT,
  parseAllowedOrigins,
  parseHosts,
  parseSwitch,
  readConfig,
} from "./config.ts";
import { DEFAULT_LIMITS } from "./limits.ts";

Deno.test("readConfig - allows no other origin by default", () => {
  assert.deepEqual(readConfig(() => undefined).allowedOrigins, []);
});

Deno.test("readConfig - reads PARLEY_ALLOWED_ORIGINS", () => {
  const env: Record<string, string> = { PARLEY_ALLOWED_ORIGINS: "https://chat.example.com" };
  assert.deepEqual(readConfig((name) => env[name]).allowedOrigins, ["https://chat.example.com"]);
});

Deno.test("parseAllowedOrigins - normalises each origin as URL serialises it", () => {
  const cases: Array<[string, string[]]> = [
    ["", []],
    [" , ,", []],
    ["https://chat.example.com", ["https://chat.example.com"]],
    ["https://Chat.Example.COM/", ["https://chat.example.com"]],
    ["https://chat.example.com:443, http://chat.example.com:80", [
      "https://chat.example.com",
      "http://chat.example.com",
    ]],
    ["http://localhost:8000,http://localhost:8000/", ["http://localhost:8000"]],
    [" http://127.0.0.1:3000 ,\thttps://[::1]:8443 ", [
      "http://127.0.0.1:3000",
      "https://[::1]:8443",
    ]],
    ["https://bücher.example", ["https://xn--bcher-kva.example"]],
  ];
  for (const [input, expected] of cases) {
    assert.deepEqual(parseAllowedOrigins(input), expected, JSON.stringify(input));
  }
});

Deno.test("parseAllowedOrigins - refuses anything but a bare http(s) origin", () => {
  const cases: Array<[string, RegExp]> = [
    ["*", /wildcards are not supported/],
    ["https://*.example.com", /wildcards are not supported/],
    ["null", /not a URL/],
    ["chat.example.com", /not a URL/],
    ["http://localhost:80001", /not a URL/],
    ["ws://chat.example.com", /scheme must be http or https/],
    ["file:///tmp", /scheme must be http or https/],
    ["https://user:pass@chat.example.com", /credentials/],
    ["https://chat.example.com/app", /no path, query or fragment/],
    ["https://chat.example.com?", /no path, query or fragment/],
    ["https://chat.example.com#top", /no path, query or fragment/],
  ];
  for (const [entry, why] of cases) {
    assert.throws(() => parseAllowedOrigins(`https://ok.example, ${entry}`), (error: Error) => {
      assert.ok(error.message.startsWith(`Invalid PARLEY_ALLOWED_ORIGINS entry "${entry}": `));
      assert.match(error.message, why);
      assert.doesNotMatch(error.message, /\.$/);
      return true;
    });
  }
});

Deno.test("readConfig - limits are on by default and PARLEY_LIMITS=off turns them all off", () => {
  assert.deepEqual(readConfig(() => undefined).limits, DEFAULT_LIMITS);
  assert.equal(readConfig((name) => name === "PARLEY_LIMITS" ? "off" : undefined).limits, null);
  const env: Record<string, string> = { PARLEY_MESSAGE_RATE: "3", PARLEY_CONNECTIONS_PER_IP: "7" };
  assert.deepEqual(readConfig((name) => env[name]).limits, {
    ...DEFAULT_LIMITS,
    messagesPerSecond: 3,
    connectionsPerIp: 7,
  });
});

Deno.test("readConfig - reads the history limit and refuses a setting that is not a number", () => {
  assert.equal(readConfig(() => undefined).historyLimit, DEFAULT_HISTORY_LIMIT);
  assert.equal(
    readConfig((name) => name === "PARLEY_HISTORY_LIMIT" ? "50" : undefined).historyLimit,
    50,
  );
  for (const bad of ["0", "-1", "1e3", "ten", "1.5"]) {
    assert.throws(
      () => readConfig((name) => name === "PARLEY_HISTORY_LIMIT" ? bad : undefined),
      new RegExp(
        `Invalid PARLEY_HISTORY_LIMIT "${
          bad.replace(".", "\\.")
        }": expected a positive whole number`,
      ),
    );
  }
});

Deno.test("readConfig - reads the delivery interval, 0 included, and refuses one out of range", () => {
  const interval = (value: string | undefined) =>
    readConfig((name) => name === "PARLEY_DELIVERY_INTERVAL_MS" ? value : undefined)
      .deliveryIntervalMs;
  assert.equal(interval(undefined), DEFAULT_DELIVERY_INTERVAL_MS);
  assert.equal(interval("0"), 0);
  assert.equal(interval("50"), 50);
  assert.equal(interval("1000"), 1000);
  for (const bad of ["1001", "-1", "05", "1.5", "fast"]) {
    assert.throws(
      () => interval(bad),
      new RegExp(
        `Invalid PARLEY_DELIVERY_INTERVAL_MS "${bad.replace(".", "\\.")}": expected a ` +
          `whole number from 0 to 1000`,
      ),
    );
  }
});

Deno.test("readConfig - counts the workers from DENO_JOBS, and not from a value Deno would not take", () => {
  const workersFor = (jobs: string | undefined) =>
    readConfig((name) => name === "DENO_JOBS" ? jobs : undefined).workers;
  assert.equal(workersFor("3"), 3);
  assert.equal(workersFor(undefined), undefined);
  for (const jobs of ["", "0", "-1", "two", "1.5"]) assert.equal(workersFor(jobs), undefined, jobs);
});

Deno.test("parseSwitch - takes on and off, falls back when unset, and refuses anything else", () => {
  assert.equal(parseSwitch(undefined, "PARLEY_LOG", true), true);
  assert.equal(parseSwitch("", "PARLEY_TRUST_PROXY", false), false);
  assert.equal(parseSwitch("on", "PARLEY_TRUST_PROXY", false), true);
  assert.equal(parseSwitch("off", "PARLEY_LOG", true), false);
  for (const value of ["true", "OFF", "0", "yes", " on"]) {
    assert.throws(
      () => parseSwitch(value, "PARLEY_TRUST_PROXY", false),
      { message: `Invalid PARLEY_TRUST_PROXY "${value}": expected on or off` },
    );
  }
});

Deno.test("readConfig - on/off settings refuse a value that is neither", () => {
  for (const name of ["PARLEY_LIMITS", "PARLEY_TRUST_PROXY", "PARLEY_LOG"]) {
    const env: Record<string, string> = { [name]: "true" };
    assert.throws(() => readConfig((key) => env[key]), {
      message: `Invalid ${name} "true": expected on or off`,
    });
  }
  const env: Record<string, string> = { PARLEY_TRUST_PROXY: "on", PARLEY_LOG: "off" };
  const config = readConfig((key) => env[key]);
  assert.equal(config.trustProxy, true);
  assert.equal(config.log, false);
});

Deno.test("readConfig - the WebSocket idle timeout is at most a day", () => {
  const read = (value: string) =>
    readConfig((name) => name === "PARLEY_WS_IDLE_TIMEOUT" ? value : undefined).wsIdleTimeout;
  assert.equal(read("86400"), 86_400);
  assert.throws(() => read("86401"), {
    message: 'Invalid PARLEY_WS_IDLE_TIMEOUT "86401": expected a whole number from 1 to 86400',
  });
  assert.throws(() => read("4294968"), /PARLEY_WS_IDLE_TIMEOUT/);
});

Deno.test("readConfig - the body timeout is 10 s unless set, from 1 s to an hour", () => {
  const read = (value?: string) =>
    readConfig((name) => name === "PARLEY_BODY_TIMEOUT" ? value : undefined).bodyTimeout;
  assert.equal(read(), 10);
  assert.equal(read("3600"), 3_600);
  assert.throws(() => read("0"), {
    message: 'Invalid PARLEY_BODY_TIMEOUT "0": expected a whole number from 1 to 3600',
  });
});

Deno.test("parseHosts - takes hosts as browsers send them, and refuses anything else", () => {
  assert.deepEqual(readConfig(() => undefined).hosts, []);
  assert.deepEqual(parseHosts(" Chat.Example.com, 192.168.1.5:8000,[::1]:8000,, "), [
    "chat.example.com",
    "192.168.1.5:8000",
    "[::1]:8000",
  ]);
  for (
    const bad of ["https://chat.example.com", "chat.example.com/", "a b", "x:80", "u@x", "x:99999"]
  ) {
    assert.throws(() => parseHosts(bad), { name: "SettingError" }, bad);
  }
  assert.throws(() => parseHosts("*.example.com"), /wildcards are not supported/);
});

Deno.test("readConfig - PARLEY_KV_PATH takes a file, :memory: or an http(s) URL, and no other scheme", () => {
  const kvPath = (value: string) =>
    readConfig((name) => name === "PARLEY_KV_PATH" ? value : undefined).kvPath;
  assert.equal(kvPath(""), "data/parley.kv");
  for (
    const good of [
      "/var/lib/parley/parley.kv",
      ":memory:",
      "https://kv.example.com",
      "http://localhost:4512",
    ]
  ) {
    assert.equal(kvPath(good), good);
  }
  for (
    const bad of ["HTTP://localhost:1", "Https://kv.example.com", "file:///tmp/p.kv", "ftp://x"]
  ) {
    assert.throws(() => kvPath(bad), /^SettingError: Invalid PARLEY_KV_PATH .*in lowercase/, bad);
  }
});

Deno.test("readConfig - refuses a PARLEY_SECRET under 32 characters, before any worker starts", () => {
  const env = (secret: string) => (name: string) => name === "PARLEY_SECRET" ? secret : undefined;
  assert.throws(() => readConfig(env("short")), /Invalid PARLEY_SECRET/);
  assert.throws(() => readConfig(env(` ${" ".repeat(40)}x `)), /Invalid PARLEY_SECRET/);
  assert.equal(readConfig(env("")).secret, undefined);
  assert.equal(readConfig(env("x".repeat(32))).secret, "x".repeat(32));
});
