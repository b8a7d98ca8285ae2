import assert from "node:assert/strict";
import { readConfig } from "../lib/config.ts";
import {
  combinationWarnings,
  kvPathWarnings,
  SERVER_SETTINGS,
  settingsSummary,
  unknownSettingWarnings,
  unreadLimitWarnings,
} from "./launch_notes.ts";
import { readLaunchSettings } from "./launch_settings.ts";

function launch(env: Record<string, string>) {
  const settings = readLaunchSettings((name) => env[name], 2);
  return { settings, config: readConfig((name) => env[name]) };
}

Deno.test("unknownSettingWarnings - a misspelt PARLEY_ name is named, with the setting it is closest to", () => {
  assert.deepEqual(
    unknownSettingWarnings(["PATH", "PARLEY_TRUSTPROXY", "PARLEY_LIMIT", "PARLEY_COLOUR", "PORT"]),
    [
      "Warning: PARLEY_COLOUR is not a Parley setting and is ignored; see docs/DEPLOY.md#settings",
      "Warning: PARLEY_LIMIT is not a Parley setting and is ignored (did you mean PARLEY_LIMITS?); " +
      "see docs/DEPLOY.md#settings",
      "Warning: PARLEY_TRUSTPROXY is not a Parley setting and is ignored (did you mean " +
      "PARLEY_TRUST_PROXY?); see docs/DEPLOY.md#settings",
    ],
  );
});

Deno.test("unknownSettingWarnings - the settings of the server, the tests and the bench pass", () => {
  const names = [
    ...SERVER_SETTINGS,
    "PARLEY_CHROMIUM",
    "PARLEY_UPDATE_SCREENSHOTS",
    "PARLEY_CEILING_LAYOUT",
  ];
  assert.deepEqual(unknownSettingWarnings(names), []);
});

Deno.test("SERVER_SETTINGS - names every PARLEY_ setting in the settings table of docs/DEPLOY.md", async () => {
  const deploy = await Deno.readTextFile(new URL("../docs/DEPLOY.md", import.meta.url));
  const table = deploy.slice(deploy.indexOf("## Settings"));
  const documented = new Set(
    [...table.matchAll(/^\| `(PARLEY_[A-Z_]+)`/gm)].map(([, name]) => name),
  );
  assert.deepEqual([...documented].sort(), [...SERVER_SETTINGS].sort());
});

Deno.test("combinationWarnings - proxy headers trusted on every interface are warned about", () => {
  const open = launch({ PARLEY_TRUST_PROXY: "on" });
  assert.match(
    combinationWarnings(open.settings, open.config).join("\n"),
    /^Warning: PARLEY_TRUST_PROXY=on while listening on every IPv4 interface \(0\.0\.0\.0\)/,
  );
  const dualStack = launch({ PARLEY_TRUST_PROXY: "on", PARLEY_HOST: "::" });
  assert.match(
    combinationWarnings(dualStack.settings, dualStack.config).join("\n"),
    /^Warning: PARLEY_TRUST_PROXY=on while listening on every interface \(\[::\]\)/,
  );
  const local = launch({ PARLEY_TRUST_PROXY: "on", PARLEY_HOST: "127.0.0.1" });
  assert.deepEqual(combinationWarnings(local.settings, local.config), []);
  const direct = launch({});
  assert.deepEqual(combinationWarnings(direct.settings, direct.config), []);
});

Deno.test("unreadLimitWarnings - a limit set while PARLEY_LIMITS=off is named, as it is not read", () => {
  const env: Record<string, string> = {
    PARLEY_LIMITS: "off",
    PARLEY_MESSAGE_RATE: "5",
    PARLEY_ROOMS_PER_MINUTE: "",
  };
  assert.deepEqual(unreadLimitWarnings((name) => env[name], launch(env).config), [
    "Warning: PARLEY_MESSAGE_RATE is ignored: PARLEY_LIMITS=off turns every rate limit and " +
    "connection cap off",
  ]);
  const on: Record<string, string> = { PARLEY_MESSAGE_RATE: "5" };
  assert.deepEqual(unreadLimitWarnings((name) => on[name], launch(on).config), []);
});

Deno.test("settingsSummary - says where it listens, where messages go, the limits, and which Host it answers", () => {
  const { settings, config } = launch({ PORT: "8080", PARLEY_LIMITS: "off" });
  assert.equal(
    settingsSummary(settings, config),
    "Parley: 1 worker on 0.0.0.0:8080, messages in data/parley.kv, 10000 kept per room, " +
      "limits off, X-Forwarded-For not trusted, any Host answered (PARLEY_HOSTS unset)",
  );
  const named = launch({ PARLEY_HOSTS: "chat.example.com,192.168.1.5:8000" });
  assert.match(
    settingsSummary(named.settings, named.config),
    /, Host chat\.example\.com or 192\.168\.1\.5:8000 only$/,
  );
  const limited = launch({ PARLEY_MESSAGE_RATE: "3" });
  assert.match(
    settingsSummary(limited.settings, limited.config),
    /limits on \(3 messages\/s, burst 20, 50 connections per address, 10 new rooms\/min\)/,
  );
});

Deno.test("kvPathWarnings - a host name for the KV file is warned about; file paths and URLs pass", () => {
  for (const host of ["kv.example.com", "localhost:4512", "denokv.internal:4512"]) {
    assert.match(
      kvPathWarnings(launch({ PARLEY_KV_PATH: host }).config).join(),
      /^Warning: PARLEY_KV_PATH ".*" looks like a host name/,
      host,
    );
  }
  for (
    const path of [
      "data/parley.kv",
      "parley.kv",
      "chat.db",
      "/var/lib/parley/p",
      "https://kv.example.com",
    ]
  ) {
    assert.deepEqual(kvPathWarnings(launch({ PARLEY_KV_PATH: path }).config), [], path);
  }
});
