/**
 * `scripts/serve.ts` (what `deno task start` runs) before the server starts: what it tells the
 * operator, and the launches it stops with one line.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url);

/** The runner's values of these environment variables, those it has. */
function inherited(...names: string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((name) => {
    const value = Deno.env.get(name);
    return value === undefined ? [] : [[name, value]];
  }));
}

/** Runs the serve script with `env` until it exits (or for `seconds`), and returns its output. */
async function launch(env: Record<string, string>, seconds = 20) {
  const kvDir = await Deno.makeTempDir({ prefix: "parley-launch-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-env", "--allow-run", "--allow-read", "--allow-net", "scripts/serve.ts"],
    cwd: ROOT,
    // Only what the test gives, and what Deno needs: no PARLEY_ setting of the runner's.
    clearEnv: true,
    env: {
      ...inherited("PATH", "HOME", "DENO_DIR"),
      PARLEY_KV_PATH: `${kvDir}/parley.kv`,
      NO_COLOR: "1",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGTERM"), seconds * 1000);
  try {
    const { code, stdout, stderr } = await child.output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code, stdout: decode(stdout), stderr: decode(stderr) };
  } finally {
    clearTimeout(timer);
    await Deno.remove(kvDir, { recursive: true });
  }
}

Deno.test("serve script - a port in use stops the launch with one line naming it", async () => {
  using listener = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const { code, stderr } = await launch({ PORT: String(port) });
  assert.equal(code, 1);
  assert.equal(
    stderr,
    `Cannot start Parley: Port ${port} on 0.0.0.0 is in use by another program: stop it, or ` +
      `set PORT\n`,
  );
});

Deno.test("serve script - a host that is not this machine's stops the launch with one line", async () => {
  const refusals = [
    // 192.0.2.1 is reserved for documentation (RFC 5737): no machine has it.
    [
      "192.0.2.1",
      "192.0.2.1 is not an address of this machine: set PARLEY_HOST to one of its addresses, " +
      "or leave it unset for every IPv4 interface",
    ],
    // `.invalid` never resolves (RFC 2606).
    [
      "chat.invalid",
      'PARLEY_HOST "chat.invalid" is a name this machine cannot resolve: set it to one of the ' +
      "machine's addresses or names, or leave it unset for every IPv4 interface",
    ],
  ];
  for (const [host, problem] of refusals) {
    const { code, stderr } = await launch({ PORT: "0", PARLEY_HOST: host });
    assert.equal(code, 1, host);
    assert.equal(stderr, `Cannot start Parley: ${problem}\n`);
  }
});

Deno.test("serve script - a misspelt setting is warned about, and the settings are summed up", async () => {
  const { stdout, stderr } = await launch(
    { PORT: "0", PARLEY_HOST: "127.0.0.1", PARLEY_TRUSTPROXY: "on", DENO_JOBS: "1" },
    3,
  );
  const lines = stderr.split("\n");
  assert.equal(
    lines[0],
    "Warning: PARLEY_TRUSTPROXY is not a Parley setting and is ignored (did you mean " +
      "PARLEY_TRUST_PROXY?); see docs/DEPLOY.md#settings",
  );
  assert.match(lines[1], /^Parley: 1 worker on 127\.0\.0\.1:\(a free port\), messages in /);
  assert.doesNotMatch(stdout, /Warning|Parley:/, "standard output is for JSON log lines");
});
