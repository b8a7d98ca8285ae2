/**
 * Test helpers for the real server in a child process: `deno serve main.ts` (optionally
 * `--parallel`) or `scripts/serve.ts`, on a KV file, on a free port read from its
 * "Listening on" line; plus direct reads of that KV file for checking what is stored.
 *
 * @module
 */
import { roomKey } from "../lib/keys.ts";
import { readMessages } from "../lib/room_reader.ts";
import type { Message, Room } from "../lib/types.ts";

const ROOT = new URL("..", import.meta.url);
const START_TIMEOUT_MS = 15_000;
const LISTENING = /Listening on https?:\/\/[^\s/]*:(\d+)\//;
const RESEND_MS = 1_000;
/** Sessions are signed with this, so a restart on the same KV file keeps tokens valid. */
const SECRET = "parley-test-secret-0123456789abcdef";
const PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read", "--allow-write"];

/** How a child server exited, and how long after {@link ServerProcess.exit} was awaited. */
export interface ExitReport {
  code: number;
  signal: Deno.Signal | null;
  /** Milliseconds from the call to {@link ServerProcess.exit} until the process was gone. */
  ms: number;
}

/** A Parley server running in a child process. */
export interface ServerProcess {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Sends a signal (SIGTERM for a graceful stop, SIGKILL for a crash). */
  kill(signal: Deno.Signal): void;
  /**
   * Waits for the process to exit; kills it and throws when that takes over `timeoutMs`. With
   * `resend`, sends that signal again every second meanwhile, as `scripts/serve.ts` does: a
   * `--parallel` worker still starting when the first one came never saw it.
   */
  exit(timeoutMs: number, options?: { resend?: Deno.Signal }): Promise<ExitReport>;
  /** Kills the process if it still runs and waits until it and its output pipes are done. */
  close(): Promise<void>;
}

/** Options of {@link spawnServer}. */
export interface SpawnOptions {
  /** The KV file the server keeps its log in. */
  kvPath: string;
  /** Run `deno serve --parallel` with this many workers; default: one worker, no `--parallel`. */
  workers?: number;
  /** Run `scripts/serve.ts` (production's `deno task start`) instead of `deno serve` directly. */
  viaScript?: boolean;
  /** With `viaScript`, run it with `--dev`, as `deno task dev` does (one worker, `--watch`). */
  dev?: boolean;
}

/** Starts the server in a child process and waits until it listens. */
export async function spawnServer(options: SpawnOptions): Promise<ServerProcess> {
  const args = options.viaScript
    ? [
      "run",
      "--allow-env",
      "--allow-run",
      "--allow-read",
      "--allow-net",
      "scripts/serve.ts",
      ...(options.dev ? ["--dev"] : []),
    ]
    : [
      "serve",
      ...(options.workers === undefined ? [] : ["--parallel"]),
      ...PERMISSIONS,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "main.ts",
    ];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: {
      PARLEY_KV_PATH: options.kvPath,
      PARLEY_LIMITS: "off",
      // Set, so that workers starting together do not race to store a generated one.
      PARLEY_SECRET: SECRET,
      PORT: "0",
      DENO_JOBS: String(options.workers ?? 1),
      NO_COLOR: "1",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let text = "";
  let wake = () => {};
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      wake();
    }
  };
  const pipes = Promise.all([collect(child.stdout), collect(child.stderr)]);
  let exited = false;
  const status = child.status.then((status) => {
    exited = true;
    wake();
    return status;
  });

  const server: ServerProcess = {
    origin: "",
    output: () => text,
    kill(signal) {
      if (!exited) child.kill(signal);
    },
    async exit(timeoutMs, options = {}) {
      const start = performance.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((resolve) => timer = setTimeout(resolve, timeoutMs, "late"));
      const resend = options.resend;
      const again = resend && setInterval(() => server.kill(resend), RESEND_MS);
      const outcome = await Promise.race([status, late]);
      clearTimeout(timer);
      clearInterval(again);
      if (outcome === "late") {
        server.kill("SIGKILL");
        await status;
        throw new Error(
          `The server did not exit within ${timeoutMs} ms; its output:\n${text.slice(-2000)}`,
        );
      }
      return { code: outcome.code, signal: outcome.signal, ms: performance.now() - start };
    },
    async close() {
      server.kill("SIGKILL");
      await status;
      await pipes;
    },
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  let port: string | undefined;
  while ((port = LISTENING.exec(text)?.[1]) === undefined) {
    const left = deadline - Date.now();
    if (exited || left <= 0) {
      await server.close();
      throw new Error(`The server did not start; its output:\n${text.slice(-2000)}`);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, left);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  wake = () => {};
  return { ...server, origin: `http://127.0.0.1:${port}` };
}

/** Makes a temporary KV file path (the file itself is created by the server). */
export async function tempKvPath(): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "parley_test_" });
  return {
    path: `${dir}/parley.kv`,
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}

/** What a KV file holds for one room: the room record and every stored message in key order. */
export interface StoredRoom {
  room: Room | null;
  messages: Message[];
}

/** Reads a room and all its messages straight from a KV file (no server needed). */
export async function readStoredRoom(kvPath: string, room: string): Promise<StoredRoom> {
  const kv = await Deno.openKv(kvPath);
  try {
    const record = (await kv.get<Room>(roomKey(room))).value;
    const messages = await readMessages(kv, room, { limit: Number.MAX_SAFE_INTEGER });
    return { room: record, messages };
  } finally {
    kv.close();
  }
}

/** Creates a room over HTTP on a running server. */
export async function createRoom(origin: string, id: string): Promise<void> {
  const response = await fetch(new URL("/api/rooms", origin), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id, title: `Room ${id}` }),
  });
  await response.body?.cancel();
  if (response.status !== 201) throw new Error(`Cannot create room ${id}: ${response.status}`);
}

/** Starts a session under a display name and returns its token (for `?token=` or a bearer). */
export async function openSession(origin: string, name: string): Promise<string> {
  const response = await fetch(new URL("/api/session", origin), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  const body = await response.json();
  if (typeof body.token !== "string") {
    throw new Error(`Cannot start a session: ${response.status} ${JSON.stringify(body)}`);
  }
  return body.token;
}
