/**
 * Sessions: a display name bound to a session id, signed with HMAC-SHA256 so the server, not
 * the client, decides who is speaking. The signed token travels as an `HttpOnly` cookie for
 * browsers, or as `Authorization: Bearer` (or `?token=` on WebSocket and SSE URLs) for scripts.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import { ParleyError } from "./errors.ts";
import { retryLocked } from "./kv_locks.ts";

/** Who is speaking: a stable session id and the current display name. */
export interface Session {
  sid: string;
  name: string;
  /** When the token was issued, in ms since the epoch. */
  iat: number;
}

/**
 * Who speaks in a room: a session's display name, and its author id there (see
 * {@link Sessions.authorId}).
 */
export interface Speaker {
  name: string;
  authorId: string;
}

/** How many characters of a keyed hash an author id keeps: 48 bits. */
const AUTHOR_ID_LENGTH = 8;

/** The cookie that carries the session token. */
export const SESSION_COOKIE = "parley_session";
/** How long a session lasts without being renewed. */
export const SESSION_MAX_AGE_SECONDS = 400 * 24 * 60 * 60;

const SECRET_KEY: Deno.KvKey = ["config", "session_secret"];
const VERSION = "v1";
const encoder = new TextEncoder();
// How many verified tokens a worker remembers (so a busy sender is not re-verified on every
// request) before it starts over.
const MAX_VERIFIED = 10_000;

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function isSession(value: unknown): value is Session {
  const session = value as Partial<Session> | null;
  return typeof session?.sid === "string" && typeof session.name === "string" &&
    typeof session.iat === "number";
}

function isFresh(session: Session): boolean {
  return Date.now() - session.iat < SESSION_MAX_AGE_SECONDS * 1000;
}

/**
 * The secret sessions are signed with: `PARLEY_SECRET` when set (`readConfig` checked its length),
 * else one generated on first start and kept in KV, so every worker and every restart signs alike.
 */
export async function loadSecret(kv: Deno.Kv, fromEnv: string | undefined): Promise<string> {
  if (fromEnv) return fromEnv;
  const existing = (await kv.get<string>(SECRET_KEY)).value;
  if (existing !== null) return existing;
  const generated = base64url(crypto.getRandomValues(new Uint8Array(32)));
  // Every --parallel worker starts at once: the first write wins, the others read it.
  await retryLocked(() =>
    kv.atomic().check({ key: SECRET_KEY, versionstamp: null }).set(SECRET_KEY, generated).commit()
  );
  const stored = (await kv.get<string>(SECRET_KEY)).value;
  if (stored === null) throw new Error("Cannot keep the session secret in KV");
  return stored;
}

/** Issues and verifies signed session tokens. */
export class Sessions {
  #secret: string;
  #verified = new Map<string, Session>();

  /** @param secret the signing secret, from {@link loadSecret} */
  constructor(secret: string) {
    this.#secret = secret;
  }

  /** Issues a token for a display name, keeping `sid` when renaming an existing session. */
  issue(name: string, sid: string = crypto.randomUUID()): { session: Session; token: string } {
    const session: Session = { sid, name, iat: Date.now() };
    const payload = base64url(encoder.encode(JSON.stringify(session)));
    return { session, token: `${VERSION}.${payload}.${this.#sign(payload)}` };
  }

  /** The session a token stands for, or null when it is missing, malformed, tampered or old. */
  verify(token: string | null | undefined): Session | null {
    if (!token) return null;
    const known = this.#verified.get(token);
    if (known) return isFresh(known) ? known : null;
    const [version, payload, signature, extra] = token.split(".");
    if (version !== VERSION || !payload || !signature || extra !== undefined) return null;
    const expected = encoder.encode(this.#sign(payload));
    const given = encoder.encode(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    let session: unknown;
    try {
      session = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    } catch {
      return null;
    }
    if (!isSession(session) || !isFresh(session)) return null;
    if (this.#verified.size >= MAX_VERIFIED) this.#verified.clear();
    this.#verified.set(token, session);
    return session;
  }

  /**
   * The session of a request: the first valid one of its cookie, a bearer token, and (only on
   * the WebSocket and event-stream URLs, which cannot carry headers) a `token` query param.
   */
  fromRequest(request: Request): Session | null {
    const cookie = readCookie(request.headers.get("cookie"), SESSION_COOKIE);
    const bearer = request.headers.get("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const url = new URL(request.url);
    const streams = request.method === "GET" &&
      /^\/api\/rooms\/[^/]+\/(ws|events)$/.test(url.pathname);
    const query = streams ? url.searchParams.get("token") : null;
    for (const token of [cookie, bearer, query]) {
      const session = token ? this.verify(token) : null;
      if (session) return session;
    }
    return null;
  }

  /** Like {@link fromRequest}, but 401 `session_required` when there is no valid session. */
  requireSession(request: Request): Session {
    const session = this.fromRequest(request);
    if (session === null) {
      throw new ParleyError(
        401,
        "session_required",
        'Pick a display name first: POST /api/session with {"name"}',
      );
    }
    return session;
  }

  /**
   * The public id of `session`'s messages in `room`, which tells two people of one name apart: a
   * keyed hash of the session id and the room, so it gives the session id away to no one, does
   * not link one person's names in different rooms, and stays when the session changes its name.
   */
  authorId(session: Pick<Session, "sid">, room: string): string {
    // Token payloads are base64url, so they never hold the NUL that sets these apart.
    return this.#sign(`author\u0000${room}\u0000${session.sid}`).slice(0, AUTHOR_ID_LENGTH);
  }

  /** The {@link Speaker} `session` is in `room`. */
  speaker(session: Session, room: string): Speaker {
    return { name: session.name, authorId: this.authorId(session, room) };
  }

  #sign(payload: string): string {
    return createHmac("sha256", this.#secret).update(payload).digest("base64url");
  }
}

/** Reads one cookie from a `Cookie` header. */
export function readCookie(header: string | null, name: string): string | undefined {
  for (const part of header?.split(";") ?? []) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=");
  }
  return undefined;
}

/** The `Set-Cookie` value for a session token (or for clearing it, with an empty token). */
export function sessionCookie(token: string, options: { secure: boolean }): string {
  const maxAge = token === "" ? 0 : SESSION_MAX_AGE_SECONDS;
  const secure = options.secure ? "; Secure" : "";
  return `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure}`;
}
