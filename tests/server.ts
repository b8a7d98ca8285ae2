/**
 * Test helpers: a real Parley server on port 0 over real KV, and a WebSocket client that
 * records every frame.
 *
 * @module
 */
import { createApp } from "../app.tsx";
import { readConfig } from "../lib/config.ts";
import { openKv } from "../lib/open_kv.ts";
import { closeServices, closeStore, createServices, type Services } from "../lib/services.ts";
import type { Message } from "../lib/types.ts";
import { parseAuthor } from "../lib/validation.ts";

/** A running test server. */
export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  services: Services;
  /** Stops the server (closing open sockets), the hub and KV. */
  close(): Promise<void>;
}

/** Starts Parley on a free port over KV at `kvPath` (default `:memory:`). */
export async function startServer(
  options: { kvPath?: string; env?: Record<string, string> } = {},
): Promise<TestServer> {
  const env: Record<string, string> = { PARLEY_LOG: "off", ...options.env };
  const config = readConfig((name) => env[name]);
  const kv = await openKv(options.kvPath ?? ":memory:");
  const services = await createServices(kv, { ...config, kvPath: options.kvPath ?? ":memory:" });
  const app = createApp(services);
  const controller = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: controller.signal, onListen() {} },
    app.fetch,
  );
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    services,
    async close() {
      closeServices(services);
      controller.abort();
      await server.finished;
      closeStore(services);
    },
  };
}

/**
 * Runs `fn` against a fresh test server (see {@link startServer} for `kvPath` and `env`) with the
 * room "lobby" titled `title` (default "Lobby"), then closes the server.
 */
export async function withLobby(
  fn: (server: TestServer) => Promise<void>,
  options: { kvPath?: string; env?: Record<string, string>; title?: string } = {},
): Promise<void> {
  const server = await startServer({ kvPath: options.kvPath, env: options.env });
  try {
    const { status } = await requestJson(server, "/api/rooms", {
      body: { id: "lobby", title: options.title ?? "Lobby" },
    });
    // 201 for a new room, 200 when a reused KV file already has it.
    if (status !== 201 && status !== 200) {
      throw new Error(`Cannot create the room "lobby": status ${status}`);
    }
    await fn(server);
  } finally {
    await server.close();
  }
}

/** A JSON frame as received from the server. */
export type Frame = Record<string, unknown> & { type: string };

/** A WebSocket that records frames and lets a test wait for the one it expects. */
export class TestSocket {
  readonly frames: Frame[] = [];
  readonly closed: Promise<CloseEvent>;
  readonly socket: WebSocket;
  #waiters = new Set<() => void>();

  /** @param url the `ws://` URL to open */
  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.onmessage = (event) => {
      this.frames.push(JSON.parse(event.data));
      for (const wake of this.#waiters) wake();
    };
    this.closed = new Promise((resolve) => {
      this.socket.onclose = (event) => {
        resolve(event);
        for (const wake of this.#waiters) wake();
      };
    });
  }

  /** Opens a chat socket to a room on a test server; a `name` becomes a session token. */
  static open(
    server: TestServer,
    room: string,
    query: Record<string, string | number> = {},
  ): TestSocket {
    const url = new URL(`/api/rooms/${room}/ws`, server.origin.replace("http", "ws"));
    const { name, ...rest } = query;
    if (name !== undefined) url.searchParams.set("token", sessionToken(server, String(name)));
    for (const [key, value] of Object.entries(rest)) url.searchParams.set(key, String(value));
    return new TestSocket(url.href);
  }

  /** Every message received so far, across all `messages` frames, in arrival order. */
  get messages(): Message[] {
    return this.frames.flatMap((frame) => frame.type === "messages" ? frame.messages as [] : []);
  }

  /** Sends a JSON frame. */
  send(frame: unknown): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Waits until `predicate` holds over the frames received, or fails after `timeoutMs`. */
  async until(predicate: (socket: TestSocket) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`Timed out; frames so far: ${JSON.stringify(this.frames).slice(0, 500)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#waiters.add(done);
      }).finally(() => this.#waiters.clear());
    }
  }

  /** Closes the socket and waits for the close to complete. */
  async close(): Promise<void> {
    if (this.socket.readyState < WebSocket.CLOSING) this.socket.close();
    await this.closed;
  }
}

/** A session token for a display name, as `POST /api/session` would issue it (trimmed). */
export function sessionToken(server: TestServer, name: string): string {
  return server.services.sessions.issue(parseAuthor(name)).token;
}

/** Each test server's sessions for messages sent by {@link requestJson}, one per name. */
const people = new WeakMap<TestServer, Map<string, string>>();

/** The token of the one person of this name on `server`, or undefined for a name it refuses. */
export function personToken(server: TestServer, name: unknown): string | undefined {
  let tokens = people.get(server);
  if (!tokens) people.set(server, tokens = new Map());
  let token = tokens.get(name as string);
  if (token === undefined) {
    try {
      token = sessionToken(server, name as string);
    } catch {
      return undefined;
    }
    tokens.set(name as string, token);
  }
  return token;
}

/**
 * Sends a JSON request to the test server and returns status and parsed body. A message body
 * with an `author` is sent under the session of the one person of that name on the server, as
 * their browser would.
 */
export async function requestJson(
  server: TestServer,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const author = (init.body as { author?: unknown } | undefined)?.author;
  const token = path.includes("/messages") ? personToken(server, author) : undefined;
  const session: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const response = await fetch(new URL(path, server.origin), {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: { "content-type": "application/json", ...session, ...init.headers },
    body: init.body === undefined
      ? undefined
      : typeof init.body === "string"
      ? init.body
      : JSON.stringify(init.body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

/**
 * Checks that a long-poll answer carries presence (online and typing lists, each with its author
 * ids, and a version) and returns it without them, for comparing with an expected shape.
 */
export function withoutPresence(value: Record<string, unknown>): Record<string, unknown> {
  const { online, onlineAuthorIds, typing, typingAuthorIds, presence, ...rest } = value;
  const lists = [online, onlineAuthorIds, typing, typingAuthorIds];
  if (!lists.every(Array.isArray) || typeof presence !== "string") {
    throw new Error(`Expected presence in ${JSON.stringify(value)}`);
  }
  return rest;
}

/**
 * Checks that a frame or page names its log epoch (a non-empty string) and returns it without
 * the epoch, for comparing with an expected shape.
 */
export function withoutEpoch(value: unknown): Record<string, unknown> {
  const { epoch, ...rest } = value as Record<string, unknown>;
  if (typeof epoch !== "string" || epoch === "") {
    throw new Error(`Expected a log epoch in ${JSON.stringify(value)}`);
  }
  return rest;
}

/** Server options for burst tests on loopback: every rate limit and connection cap off. */
export const LIMITS_OFF = { env: { PARLEY_LIMITS: "off" } };
