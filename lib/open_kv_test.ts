import assert from "node:assert/strict";
import { isLocalFile, isLocalStore, openKv } from "./open_kv.ts";

Deno.test("openKv - retries an open that finds the file locked by another worker", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-open-" });
  let attempts = 0;
  const lockedTwice = (path?: string) => {
    attempts++;
    if (attempts <= 2) return Promise.reject(new Error("database is locked"));
    return Deno.openKv(path);
  };
  try {
    const kv = await openKv(`${dir}/data/parley.kv`, lockedTwice);
    await kv.set(["started"], true);
    kv.close();
    assert.equal(attempts, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openKv - any other failure names the path and is not retried", async () => {
  let attempts = 0;
  const broken = () => {
    attempts++;
    return Promise.reject(new Error("disk on fire"));
  };
  await assert.rejects(
    openKv(":memory:", broken),
    {
      message: 'Cannot open the message store at ":memory:" (PARLEY_KV_PATH): Error: disk on fire',
    },
  );
  assert.equal(attempts, 1);
});

Deno.test("openKv - a file SQLite cannot open says what to check, on one line", async () => {
  const refusals = [
    new Error("unable to open database file: /var/lib/parley/parley.kv"),
    new Error("attempt to write a readonly database"),
    new Deno.errors.PermissionDenied("Permission denied (os error 13): mkdir '/var/lib/parley'"),
  ];
  for (const refusal of refusals) {
    await assert.rejects(openKv("/var/lib/parley/parley.kv", () => Promise.reject(refusal)), {
      message: `Cannot open the message store at "/var/lib/parley/parley.kv" (PARLEY_KV_PATH): ` +
        `${refusal}; check that the user running Parley can read and write the file and ` +
        `create files in its folder "/var/lib/parley"`,
    });
  }
  await assert.rejects(openKv("parley.kv", () => Promise.reject(refusals[0])), {
    message: /create files in the working folder$/,
  });
});

Deno.test({
  name: "openKv - a folder this user may not write says what to check",
  // Root may write anywhere: run as another user to see it (setpriv --reuid=65534 …).
  ignore: Deno.uid() === 0,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "parley-open-" });
    try {
      await Deno.chmod(dir, 0o500);
      await assert.rejects(openKv(`${dir}/parley.kv`), {
        message: new RegExp(
          `^Cannot open the message store at "${dir}/parley\\.kv" \\(PARLEY_KV_PATH\\): .*; ` +
            `check that the user running Parley can read and write the file and create files ` +
            `in its folder "${dir}"$`,
        ),
      });
    } finally {
      await Deno.chmod(dir, 0o700);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("openKv - a file this user may only read is refused, saying what to check", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-open-" });
  const path = `${dir}/parley.kv`;
  const real = await Deno.openKv(path);
  let closed = false;
  // What SQLite makes of a file it could open only for reading (a restored backup root owns).
  const readOnly = (): Promise<Deno.Kv> =>
    Promise.resolve(Object.assign(Object.create(real), {
      atomic: () => ({
        commit: () => Promise.reject(new TypeError("Can not write to a read-only database.")),
      }),
      close: () => {
        closed = true;
        real.close();
      },
    }));
  try {
    await assert.rejects(openKv(path, readOnly), {
      message: `Cannot open the message store at "${path}" (PARLEY_KV_PATH): TypeError: Can not ` +
        `write to a read-only database.; check that the user running Parley can read and write ` +
        `the file and create files in its folder "${dir}"`,
    });
    assert.equal(closed, true);
  } finally {
    if (!closed) real.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openKv - a writable file opens without a trace of the check", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-open-" });
  try {
    const kv = await openKv(`${dir}/parley.kv`);
    const entries = await Array.fromAsync(kv.list({ prefix: [] }));
    kv.close();
    assert.deepEqual(entries, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "openKv - a file this user may not write stops the start instead of failing every write",
  // Root may write anywhere: run as another user to see it (setpriv --reuid=65534 …).
  ignore: Deno.uid() === 0,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "parley-open-" });
    const path = `${dir}/parley.kv`;
    try {
      const kv = await Deno.openKv(path);
      await kv.set(["meta", "format"], 1);
      kv.close();
      await Deno.chmod(path, 0o444);
      await assert.rejects(openKv(path), {
        message: new RegExp(
          `^Cannot open the message store at "${dir}/parley\\.kv" \\(PARLEY_KV_PATH\\): .*` +
            `read-only database.*; check that the user running Parley can read and write the ` +
            `file and create files in its folder "${dir}"$`,
        ),
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("isLocalStore - files and :memory: are SQLite here, URLs are not", () => {
  assert.equal(isLocalStore("data/parley.kv"), true);
  assert.equal(isLocalStore("/var/lib/parley/parley.kv"), true);
  assert.equal(isLocalStore(":memory:"), true);
  assert.equal(isLocalStore("https://api.deno.com/databases/id/connect"), false);
  assert.equal(isLocalFile(":memory:"), false);
  assert.equal(isLocalFile("data/parley.kv"), true);
});
