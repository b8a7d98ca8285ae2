/**
 * Attack tests: one table of bad input across the JSON API, the WebSocket and Server-Sent Events,
 * each row with the exact answer it must get. After every row the server must be intact: nothing
 * stored or created that the row did not mean to, no live connection left behind, no polluted
 * prototype, and a normal client can still join the room and receive a POSTed message.
 *
 * What the table documents besides errors:
 * - Methods a route does not have (PUT, PATCH, DELETE, OPTIONS, POST on a stream) are 404
 *   `not_found`, like an unknown path; Parley never answers 405.
 * - Paths are matched as sent: dot segments are not resolved and `%2F` stays inside the room id,
 *   so every path trick is a 404 (`room_not_found` when it lands on a room route). A path that
 *   starts with `//` is not under `/api/`, so it gets the HTML 404 page.
 * - Extra JSON fields and prototype keys are ignored: the stored message has exactly the
 *   documented fields, with the server's own `seq`, `room` and `at`, and the session's name as
 *   `author` whatever the body or frame says.
 * - Only a token this server signed names a speaker: forged, foreign and malformed tokens, and a
 *   bare `?name=`, leave a request without a session.
 * - Markup is stored and returned verbatim, as text.
 *
 * Rows send message posts with ann's bearer token unless they are about sessions themselves.
 *
 * @module
 */
import assert from "node:assert/strict";
import { waitFor as waitUntil } from "./wait_for.ts";
import { maskedFrame, OPCODE_CLOSE, OPCODE_TEXT, RawSocket } from "./raw_socket.ts";
import type { ServerMessage } from "./ws_frames.ts";
import { Sessions } from "../lib/session.ts";
import type { Message, Room } from "../lib/types.ts";
import { rawRequest } from "./raw_http.ts";
import {
  type Frame,
  LIMITS_OFF,
  requestJson,
  sessionToken,
  startServer,
  type TestServer,
  TestSocket,
} from "./server.ts";

// ---------------------------------------------------------------------------------------------
// The table

type Query = Record<string, string>;
/** A WebSocket frame to send: a string as is, anything else as JSON. */
type OutFrame = string | Record<string, unknown>;

interface RowBase {
  /** What is wrong with the input, as a phrase ("a PUT on the messages route"). */
  when: string;
  /** Set, with a TODO, while a known server bug makes the row fail. */
  ignore?: boolean;
}

/** An HTTP request answered with a JSON error. */
interface HttpErrorRow extends RowBase {
  kind: "http";
  /** Default: POST with a body, else GET. */
  method?: string;
  path: string;
  /** Default for a body: `content-type: application/json`. */
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  /** Write the request by hand over TCP, because `fetch` would normalise the path. */
  raw?: boolean;
  /** False to send no session; by default the request carries ann's bearer token. */
  session?: false;
  status: number;
  code: string;
}

/** A page request answered with an HTML 404 page. */
interface PageRow extends RowBase {
  kind: "page";
  path: string;
  raw?: boolean;
  status: number;
  /** The page's `<h1>` content, as HTML. */
  heading: string;
}

/** A message POST that must be accepted, with the stored message exactly as documented. */
interface HttpStoredRow extends RowBase {
  kind: "http-stored";
  /** The session's display name; default "ann". */
  name?: string;
  body: string;
  stored: { author: string; text: string; id?: string };
}

/** A room POST that must be accepted, with the stored room exactly as documented. */
interface RoomStoredRow extends RowBase {
  kind: "room-stored";
  body: string;
  room: { id: string; title: string };
}

/** A WebSocket refused at the upgrade: it opens, then closes with a code and reason. */
interface WsRefusedRow extends RowBase {
  kind: "ws-refused";
  /** Default: `/api/rooms/lobby/ws`. */
  path?: string;
  query?: Query;
  raw?: boolean;
  close: number;
  reason: string;
}

/** Frames answered with one error frame, the socket staying open. */
interface WsErrorRow extends RowBase {
  kind: "ws-error";
  /** The session's display name, sent as `?token=`; default "ann", false for none. */
  session?: string | false;
  query?: Query;
  frames: OutFrame[];
  error: string;
  /** The id the error frame must echo; none when undefined. */
  id?: string;
}

/** A send frame that must be acked, with the stored message exactly as documented. */
interface WsStoredRow extends RowBase {
  kind: "ws-stored";
  /** The session's display name, sent as `?token=`; default "ann". */
  session?: string;
  frame: OutFrame;
  stored: { author: string; text: string; id: string };
}

/** A text frame of raw bytes that are not UTF-8, written over TCP. */
interface WsDroppedRow extends RowBase {
  kind: "ws-dropped";
  payload: Uint8Array;
}

/** A malformed WebSocket handshake, written over TCP, answered with a JSON error. */
interface WsHandshakeRow extends RowBase {
  kind: "ws-handshake";
  headers: Array<[string, string]>;
  status: number;
  code: string;
}

/** An event-stream request answered with a JSON error. */
interface SseErrorRow extends RowBase {
  kind: "sse";
  method?: string;
  /** Default: `/api/rooms/lobby/events`. */
  path?: string;
  headers?: Record<string, string>;
  raw?: boolean;
  status: number;
  code: string;
}

/** A HEAD request on the event stream: the head of a stream, and no stream left open. */
interface SseHeadRow extends RowBase {
  kind: "sse-head";
}

type Row =
  | HttpErrorRow
  | PageRow
  | HttpStoredRow
  | RoomStoredRow
  | WsRefusedRow
  | WsErrorRow
  | WsStoredRow
  | WsDroppedRow
  | WsHandshakeRow
  | SseErrorRow
  | SseHeadRow;

const MESSAGES = "/api/rooms/lobby/messages";
const EVENTS = "/api/rooms/lobby/events";
const SESSION = "/api/session";
const json = (value: unknown) => JSON.stringify(value);
const message = (fields: Record<string, unknown>) => json({ text: "hi", ...fields });
const utf8 = (text: string) => new TextEncoder().encode(text);
/** Bytes of a JSON message body whose text holds `bad` raw bytes. */
const badBytes = (...bad: number[]) =>
  new Uint8Array([...utf8('{"text":"'), ...bad, ...utf8('"}')]);
/** A session payload anyone can write: what they cannot do is sign it. */
const FORGED_PAYLOAD = btoa(json({ sid: "x", name: "admin", iat: Date.now() })).replace(/=+$/, "");
/** A well-formed token, signed with another server's secret. */
const FOREIGN_TOKEN = new Sessions(`${crypto.randomUUID()}${crypto.randomUUID()}`).issue("ann")
  .token;

const XSS_AUTHOR = "<img src=x onerror=alert(1)>";
const XSS_TEXT = `<script>alert("xss")</script><img src=x onerror=alert(1)>`;
const XSS_AUTHOR_2 = `"><svg/onload=alert(1)>`;
const XSS_TEXT_2 = "javascript:alert(document.cookie)//</textarea></p><!--";
/** 17 digits: past what a cursor or count may have (15). */
const HUGE = "99999999999999999";
/** 15 digits: parses, but is past every bound. */
const LARGE = "999999999999999";
const ASTRAL = "😀";

const ROWS: Row[] = [
  // --- HTTP: methods a route does not have -----------------------------------------------------
  {
    kind: "http",
    when: "a PUT on the messages route",
    method: "PUT",
    path: MESSAGES,
    body: message({}),
    status: 404,
    code: "not_found",
  },
  {
    kind: "http",
    when: "a PATCH on the messages route",
    method: "PATCH",
    path: MESSAGES,
    body: message({}),
    status: 404,
    code: "not_found",
  },
  {
    kind: "http",
    when: "a DELETE on the messages route",
    method: "DELETE",
    path: MESSAGES,
    status: 404,
    code: "not_found",
  },
  {
    kind: "http",
    when: "an OPTIONS on the messages route",
    method: "OPTIONS",
    path: MESSAGES,
    status: 404,
    code: "not_found",
  },
  {
    kind: "http",
    when: "a PUT on the rooms route",
    method: "PUT",
    path: "/api/rooms",
    body: json({ id: "fresh", title: "Fresh" }),
    status: 404,
    code: "not_found",
  },
  {
    kind: "http",
    when: "a DELETE on the rooms route",
    method: "DELETE",
    path: "/api/rooms",
    status: 404,
    code: "not_found",
  },
  {
    kind: "http",
    when: "a PUT on the session route",
    method: "PUT",
    path: SESSION,
    body: json({ name: "ann" }),
    status: 404,
    code: "not_found",
  },
  {
    kind: "http",
    when: "a POST on the WebSocket route",
    path: "/api/rooms/lobby/ws",
    body: message({}),
    status: 404,
    code: "not_found",
  },
  {
    kind: "sse",
    when: "a POST on the event-stream route",
    method: "POST",
    status: 404,
    code: "not_found",
  },
  { kind: "sse-head", when: "a HEAD on the event-stream route" },

  // --- HTTP: content types ---------------------------------------------------------------------
  {
    kind: "http",
    when: "a text/json body",
    path: MESSAGES,
    headers: { "content-type": "text/json" },
    body: message({}),
    status: 415,
    code: "unsupported_media_type",
  },
  {
    kind: "http",
    when: "an application/json-patch+json body",
    path: MESSAGES,
    headers: { "content-type": "application/json-patch+json" },
    body: message({}),
    status: 415,
    code: "unsupported_media_type",
  },
  {
    kind: "http",
    when: "an application/jsonx body",
    path: MESSAGES,
    headers: { "content-type": "application/jsonx" },
    body: message({}),
    status: 415,
    code: "unsupported_media_type",
  },
  {
    kind: "http",
    when: "a multipart body",
    path: MESSAGES,
    headers: { "content-type": "multipart/form-data; boundary=x" },
    body: message({}),
    status: 415,
    code: "unsupported_media_type",
  },
  {
    kind: "http",
    when: "a room as text/plain",
    path: "/api/rooms",
    headers: { "content-type": "text/plain" },
    body: json({ id: "fresh", title: "Fresh" }),
    status: 415,
    code: "unsupported_media_type",
  },
  {
    kind: "http",
    when: "a session as a form",
    path: SESSION,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "name=ann",
    status: 415,
    code: "unsupported_media_type",
  },

  // --- HTTP: bodies ----------------------------------------------------------------------------
  {
    kind: "http",
    when: "a whitespace-only body",
    path: MESSAGES,
    body: " \n\t ",
    status: 400,
    code: "invalid_json",
  },
  {
    kind: "http",
    when: "JSON followed by garbage",
    path: MESSAGES,
    body: `${message({})} trailing`,
    status: 400,
    code: "invalid_json",
  },
  {
    kind: "http",
    when: "an empty object",
    path: MESSAGES,
    body: "{}",
    status: 400,
    code: "invalid_text",
  },
  {
    kind: "http",
    when: "a 1 MiB body",
    path: MESSAGES,
    body: message({ text: "x".repeat(1024 * 1024) }),
    status: 413,
    code: "body_too_large",
  },
  {
    kind: "http",
    when: "a declared Content-Length of 10 GB",
    method: "POST",
    path: MESSAGES,
    raw: true,
    headers: { "content-type": "application/json", "content-length": "10000000000" },
    status: 413,
    code: "body_too_large",
  },
  {
    kind: "http",
    when: "an overlong UTF-8 encoding",
    path: MESSAGES,
    body: badBytes(0xc0, 0xaf),
    status: 400,
    code: "invalid_utf8",
  },
  {
    kind: "http",
    when: "a UTF-8-encoded surrogate",
    path: MESSAGES,
    body: badBytes(0xed, 0xa0, 0x80),
    status: 400,
    code: "invalid_utf8",
  },
  {
    kind: "http",
    when: "a truncated UTF-8 sequence",
    path: MESSAGES,
    body: badBytes(0xe2, 0x82),
    status: 400,
    code: "invalid_utf8",
  },
  {
    kind: "http",
    when: "a room body with invalid UTF-8",
    path: "/api/rooms",
    body: new Uint8Array([...utf8('{"id":"fresh","title":"'), 0xff, ...utf8('"}')]),
    status: 400,
    code: "invalid_utf8",
  },
  {
    kind: "http",
    when: "a session body with invalid UTF-8",
    path: SESSION,
    body: new Uint8Array([...utf8('{"name":"'), 0xc3, 0x28, ...utf8('"}')]),
    status: 400,
    code: "invalid_utf8",
  },

  // --- HTTP: texts -----------------------------------------------------------------------------
  {
    kind: "http",
    when: "text of 4001 astral characters",
    path: MESSAGES,
    body: message({ text: ASTRAL.repeat(4001) }),
    status: 400,
    code: "text_too_long",
  },
  {
    kind: "http",
    when: "text of only Unicode spaces",
    path: MESSAGES,
    body: message({ text: "\u00a0\u3000\u2028\u2003" }),
    status: 400,
    code: "empty_text",
  },
  {
    kind: "http",
    when: "text that is null",
    path: MESSAGES,
    body: message({ text: null }),
    status: 400,
    code: "invalid_text",
  },
  {
    kind: "http",
    when: "text that is an array",
    path: MESSAGES,
    body: message({ text: ["hi"] }),
    status: 400,
    code: "invalid_text",
  },
  {
    kind: "http",
    when: "text that is an object",
    path: MESSAGES,
    body: message({ text: { toString: "hi" } }),
    status: 400,
    code: "invalid_text",
  },
  {
    kind: "http",
    when: "text with a NUL",
    path: MESSAGES,
    body: message({ text: "a\u0000b" }),
    status: 400,
    code: "invalid_text",
  },
  {
    kind: "http",
    when: "text with an ANSI escape",
    path: MESSAGES,
    body: message({ text: "\u001b[31mred" }),
    status: 400,
    code: "invalid_text",
  },
  {
    kind: "http",
    when: "a duplicate text key whose last value is empty",
    path: MESSAGES,
    body: '{"text":"fine","text":""}',
    status: 400,
    code: "empty_text",
  },
  {
    kind: "http",
    when: "text with a lone surrogate escape",
    path: MESSAGES,
    body: '{"text":"x\\ud800y"}',
    status: 400,
    code: "invalid_text",
  },

  // --- HTTP: display names (POST /api/session) -------------------------------------------------
  {
    kind: "http",
    when: "a session without a name",
    path: SESSION,
    body: "{}",
    status: 400,
    code: "invalid_author",
  },
  {
    kind: "http",
    when: "a session name with a newline",
    path: SESSION,
    body: json({ name: "ann\nbob" }),
    status: 400,
    code: "invalid_author",
  },
  {
    kind: "http",
    when: "a session name of only Unicode spaces",
    path: SESSION,
    body: json({ name: "\u00a0\u3000" }),
    status: 400,
    code: "invalid_author",
  },
  {
    kind: "http",
    when: "a session name that is an array",
    path: SESSION,
    body: json({ name: ["ann"] }),
    status: 400,
    code: "invalid_author",
  },
  {
    kind: "http",
    when: "a session name of 33 astral characters",
    path: SESSION,
    body: json({ name: ASTRAL.repeat(33) }),
    status: 400,
    code: "invalid_author",
  },
  {
    kind: "http",
    when: "a session name only through __proto__",
    path: SESSION,
    body: '{"__proto__":{"name":"admin"}}',
    status: 400,
    code: "invalid_author",
  },

  // --- HTTP: forged and malformed sessions -----------------------------------------------------
  {
    kind: "http",
    when: "a token with an empty signature",
    path: MESSAGES,
    session: false,
    headers: { "content-type": "application/json", authorization: `Bearer v1.${FORGED_PAYLOAD}.` },
    body: message({}),
    status: 401,
    code: "session_required",
  },
  {
    kind: "http",
    when: "a token with a fourth part",
    path: MESSAGES,
    session: false,
    headers: {
      "content-type": "application/json",
      authorization: `Bearer v1.${FORGED_PAYLOAD}.sig.extra`,
    },
    body: message({}),
    status: 401,
    code: "session_required",
  },
  {
    kind: "http",
    when: "a token of another version",
    path: MESSAGES,
    session: false,
    headers: {
      "content-type": "application/json",
      authorization: `Bearer v0.${FORGED_PAYLOAD}.sig`,
    },
    body: message({}),
    status: 401,
    code: "session_required",
  },
  {
    kind: "http",
    when: "a token signed with another server's secret",
    path: MESSAGES,
    session: false,
    headers: { "content-type": "application/json", authorization: `Bearer ${FOREIGN_TOKEN}` },
    body: message({}),
    status: 401,
    code: "session_required",
  },
  {
    kind: "http",
    when: "a Basic authorization",
    path: MESSAGES,
    session: false,
    headers: { "content-type": "application/json", authorization: "Basic YW5uOmFubg==" },
    body: message({}),
    status: 401,
    code: "session_required",
  },
  {
    kind: "http",
    when: "a bearer of two tokens",
    path: MESSAGES,
    session: false,
    headers: { "content-type": "application/json", authorization: "Bearer a b" },
    body: message({}),
    status: 401,
    code: "session_required",
  },
  {
    kind: "http",
    when: "a name in the body instead of a session",
    path: MESSAGES,
    session: false,
    body: json({ author: "ann", name: "ann", text: "hi" }),
    status: 401,
    code: "session_required",
  },

  // --- HTTP: ids -------------------------------------------------------------------------------
  {
    kind: "http",
    when: "a message id of 10,000 characters",
    path: MESSAGES,
    body: message({ id: "i".repeat(10_000) }),
    status: 400,
    code: "invalid_id",
  },
  {
    kind: "http",
    when: "a message id with a non-ASCII letter",
    path: MESSAGES,
    body: message({ id: "caf\u00e9" }),
    status: 400,
    code: "invalid_id",
  },
  {
    kind: "http",
    when: "a message id with a path",
    path: MESSAGES,
    body: message({ id: "../lobby" }),
    status: 400,
    code: "invalid_id",
  },
  {
    kind: "http",
    when: "a message id that is an object",
    path: MESSAGES,
    body: message({ id: { id: "x" } }),
    status: 400,
    code: "invalid_id",
  },
  {
    kind: "http",
    when: "a room id of 49 characters",
    path: "/api/rooms",
    body: json({ id: "r".repeat(49), title: "Long" }),
    status: 400,
    code: "invalid_room_id",
  },
  {
    kind: "http",
    when: "a room id of 10,000 characters",
    path: "/api/rooms",
    body: json({ id: "r".repeat(10_000), title: "Long" }),
    status: 400,
    code: "invalid_room_id",
  },
  {
    kind: "http",
    when: "an uppercase room id",
    path: "/api/rooms",
    body: json({ id: "Lobby", title: "Lobby" }),
    status: 400,
    code: "invalid_room_id",
  },
  {
    kind: "http",
    when: "a room id with a path",
    path: "/api/rooms",
    body: json({ id: "../lobby", title: "Up" }),
    status: 400,
    code: "invalid_room_id",
  },
  {
    kind: "http",
    when: "a room id with a Cyrillic look-alike",
    path: "/api/rooms",
    body: json({ id: "l\u043ebby", title: "Lobby" }),
    status: 400,
    code: "invalid_room_id",
  },
  {
    kind: "http",
    when: "a title with a control character",
    path: "/api/rooms",
    body: json({ id: "fresh", title: "Fresh\u0007" }),
    status: 400,
    code: "invalid_title",
  },

  // --- HTTP: room ids and tricks in paths ------------------------------------------------------
  {
    kind: "http",
    when: "an uppercase room in a GET path",
    path: "/api/rooms/LOBBY/messages",
    status: 404,
    code: "room_not_found",
  },
  {
    kind: "http",
    when: "an uppercase room in a POST path",
    path: "/api/rooms/LOBBY/messages",
    body: message({}),
    status: 404,
    code: "room_not_found",
  },
  {
    kind: "http",
    when: "a 49-character room in the path",
    path: `/api/rooms/${"a".repeat(49)}/messages`,
    status: 404,
    code: "room_not_found",
  },
  {
    kind: "http",
    when: "a 5,000-character room in the path",
    path: `/api/rooms/${"a".repeat(5000)}/messages`,
    status: 404,
    code: "room_not_found",
  },
  {
    kind: "http",
    when: "a room with an encoded NUL",
    path: "/api/rooms/lobby%00/messages",
    status: 404,
    code: "room_not_found",
  },
  {
    kind: "http",
    when: "a room with an encoded trailing space",
    path: "/api/rooms/lobby%20/messages",
    body: message({}),
    status: 404,
    code: "room_not_found",
  },
  {
    kind: "http",
    when: "the path ..%2Flobby",
    path: "/api/rooms/..%2Flobby/messages",
    status: 404,
    code: "room_not_found",
  },
  {
    kind: "http",
    when: "the path ..%2Flobby on a POST",
    path: "/api/rooms/..%2Flobby/messages",
    body: message({}),
    status: 404,
    code: "room_not_found",
  },
  {
    kind: "http",
    when: "the path %2E%2E",
    path: "/api/rooms/%2E%2E/messages",
    raw: true,
    status: 404,
    code: "room_not_found",
  },
  {
    kind: "http",
    when: "the path %2E%2E on a POST",
    method: "POST",
    path: "/api/rooms/%2E%2E/messages",
    raw: true,
    body: message({}),
    status: 404,
    code: "room_not_found",
  },
  {
    kind: "http",
    when: "the path lobby%2Fx",
    path: "/api/rooms/lobby%2Fx/messages",
    body: message({}),
    status: 404,
    code: "room_not_found",
  },
  {
    kind: "http",
    when: "an unresolved dot segment",
    path: "/api/rooms/lobby/../lobby/messages",
    raw: true,
    status: 404,
    code: "not_found",
  },
  {
    kind: "http",
    when: "an empty room segment",
    path: "/api/rooms//messages",
    status: 404,
    code: "not_found",
  },
  {
    kind: "http",
    when: "a double slash after /api",
    path: "/api//rooms/lobby/messages",
    body: message({}),
    status: 404,
    code: "not_found",
  },
  { kind: "http", when: "a trailing slash", path: `${MESSAGES}/`, status: 404, code: "not_found" },
  {
    kind: "page",
    when: "a leading double slash",
    path: "//api/rooms/lobby/messages",
    raw: true,
    status: 404,
    heading: "Page not found",
  },
  {
    kind: "page",
    when: "the page /rooms/..",
    path: "/rooms/..",
    raw: true,
    status: 404,
    heading: "No room has this address",
  },
  {
    kind: "page",
    when: "the page /rooms/%2E%2E",
    path: "/rooms/%2E%2E",
    raw: true,
    status: 404,
    heading: "No room has this address",
  },
  {
    kind: "page",
    when: "the page /rooms//lobby",
    path: "/rooms//lobby",
    raw: true,
    status: 404,
    heading: "Page not found",
  },
  {
    kind: "page",
    when: "an uppercase room page",
    path: "/rooms/LOBBY",
    status: 404,
    heading: "No room called “LOBBY”",
  },
  {
    kind: "page",
    when: "a room page named with markup",
    path: "/rooms/%3Cimg%20src%3Dx%3E",
    status: 404,
    heading: "No room has this address",
  },

  // --- HTTP: cursors, counts and epochs --------------------------------------------------------
  {
    kind: "http",
    when: "after=-1 on a history read",
    path: `${MESSAGES}?after=-1`,
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "http",
    when: "after=1.5 on a history read",
    path: `${MESSAGES}?after=1.5`,
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "http",
    when: "after=0x1 on a history read",
    path: `${MESSAGES}?after=0x1`,
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "http",
    when: "after=abc on a history read",
    path: `${MESSAGES}?after=abc`,
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "http",
    when: "after with 17 digits",
    path: `${MESSAGES}?after=${HUGE}`,
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "http",
    when: "after=+1",
    path: `${MESSAGES}?after=%2B1`,
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "http",
    when: "after=Infinity",
    path: `${MESSAGES}?after=Infinity`,
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "http",
    when: "after as a full-width digit",
    path: `${MESSAGES}?after=%EF%BC%91`,
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "http",
    when: "after beyond the head without an epoch",
    path: `${MESSAGES}?after=999999`,
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "http",
    when: "before=0x10",
    path: `${MESSAGES}?before=0x10`,
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "http",
    when: "before=1.5",
    path: `${MESSAGES}?before=1.5`,
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "http",
    when: "before=1e3",
    path: `${MESSAGES}?before=1e3`,
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "http",
    when: "before with 17 digits",
    path: `${MESSAGES}?before=${HUGE}`,
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "http",
    when: "limit=0x10",
    path: `${MESSAGES}?limit=0x10`,
    status: 400,
    code: "invalid_limit",
  },
  {
    kind: "http",
    when: "limit=1e2",
    path: `${MESSAGES}?limit=1e2`,
    status: 400,
    code: "invalid_limit",
  },
  {
    kind: "http",
    when: "limit with 15 digits",
    path: `${MESSAGES}?limit=${LARGE}`,
    status: 400,
    code: "invalid_limit",
  },
  {
    kind: "http",
    when: "limit with 17 digits",
    path: `${MESSAGES}?limit=${HUGE}`,
    status: 400,
    code: "invalid_limit",
  },
  {
    kind: "http",
    when: "a poll limit of 501",
    path: `${MESSAGES}?after=0&limit=501`,
    status: 400,
    code: "invalid_limit",
  },
  {
    kind: "http",
    when: "a poll limit of -1",
    path: `${MESSAGES}?after=0&limit=-1`,
    status: 400,
    code: "invalid_limit",
  },
  {
    kind: "http",
    when: "a directory limit of 0",
    path: "/api/directory?limit=0",
    status: 400,
    code: "invalid_limit",
  },
  {
    kind: "http",
    when: "a directory limit of 1001",
    path: "/api/directory?limit=1001",
    status: 400,
    code: "invalid_limit",
  },
  {
    kind: "http",
    when: "a directory limit of ten",
    path: "/api/directory?limit=ten",
    status: 400,
    code: "invalid_limit",
  },
  {
    kind: "http",
    when: "wait=0x10",
    path: `${MESSAGES}?after=0&wait=0x10`,
    status: 400,
    code: "invalid_wait",
  },
  {
    kind: "http",
    when: "wait=1e1",
    path: `${MESSAGES}?after=0&wait=1e1`,
    status: 400,
    code: "invalid_wait",
  },
  {
    kind: "http",
    when: "wait with 15 digits",
    path: `${MESSAGES}?after=0&wait=${LARGE}`,
    status: 400,
    code: "invalid_wait",
  },
  {
    kind: "http",
    when: "wait=Infinity",
    path: `${MESSAGES}?after=0&wait=Infinity`,
    status: 400,
    code: "invalid_wait",
  },
  {
    kind: "http",
    when: "an epoch with punctuation",
    path: `${MESSAGES}?after=0&epoch=a.b`,
    status: 400,
    code: "invalid_epoch",
  },
  {
    kind: "http",
    when: "an epoch of 37 characters",
    path: `${MESSAGES}?after=0&epoch=${"e".repeat(37)}`,
    status: 400,
    code: "invalid_epoch",
  },
  {
    kind: "http",
    when: "an epoch with markup",
    path: `${MESSAGES}?after=0&epoch=%3Cscript%3E`,
    status: 400,
    code: "invalid_epoch",
  },
  {
    kind: "http",
    when: "an epoch with a NUL",
    path: `${MESSAGES}?after=0&epoch=ab%00`,
    status: 400,
    code: "invalid_epoch",
  },
  {
    kind: "http",
    when: "a bad epoch without a cursor",
    path: `${MESSAGES}?epoch=..%2F..`,
    status: 400,
    code: "invalid_epoch",
  },

  // --- HTTP: extra fields, prototype keys and markup are stored as plain data ------------------
  {
    kind: "http-stored",
    when: "extra fields that name the author and server-set ones",
    body: json({
      author: "admin",
      authorId: "admin-01",
      text: "hi",
      seq: 99,
      room: "other",
      at: 0,
      type: "send",
      admin: true,
    }),
    stored: { author: "ann", text: "hi" },
  },
  {
    kind: "http-stored",
    when: "a __proto__ key",
    body: '{"__proto__":{"polluted":1},"author":"a","text":"t"}',
    stored: { author: "ann", text: "t" },
  },
  {
    kind: "http-stored",
    when: "an author only through __proto__",
    body: '{"__proto__":{"author":"admin"},"text":"t"}',
    stored: { author: "ann", text: "t" },
  },
  {
    kind: "http-stored",
    when: "a constructor.prototype key",
    body: '{"constructor":{"prototype":{"polluted":1}},"text":"t"}',
    stored: { author: "ann", text: "t" },
  },
  {
    kind: "http-stored",
    when: "a prototype key",
    body: '{"prototype":{"polluted":1},"text":"t","id":"proto-1"}',
    stored: { author: "ann", text: "t", id: "proto-1" },
  },
  {
    kind: "http",
    when: "text offered only through __proto__",
    path: MESSAGES,
    body: '{"__proto__":{"text":"from the prototype"}}',
    status: 400,
    code: "invalid_text",
  },
  {
    kind: "room-stored",
    when: "a room with a __proto__ key",
    body: '{"__proto__":{"polluted":1,"epoch":"x"},"id":"fresh","title":"Fresh"}',
    room: { id: "fresh", title: "Fresh" },
  },
  {
    kind: "http-stored",
    when: "markup as name and text",
    name: XSS_AUTHOR,
    body: json({ text: XSS_TEXT }),
    stored: { author: XSS_AUTHOR, text: XSS_TEXT },
  },
  {
    kind: "http-stored",
    when: "attribute-breaking markup as name and text",
    name: XSS_AUTHOR_2,
    body: json({ text: XSS_TEXT_2 }),
    stored: { author: XSS_AUTHOR_2, text: XSS_TEXT_2 },
  },
  {
    kind: "http-stored",
    when: "pre-escaped entities as name and text",
    name: "&lt;b&gt;",
    body: json({ text: "&lt;script&gt;&amp;" }),
    stored: { author: "&lt;b&gt;", text: "&lt;script&gt;&amp;" },
  },

  // --- WebSocket: refused at the upgrade -------------------------------------------------------
  {
    kind: "ws-refused",
    when: "an epoch with punctuation",
    query: { epoch: "!!" },
    close: 4400,
    reason: "invalid_epoch",
  },
  {
    kind: "ws-refused",
    when: "an epoch of 37 characters",
    query: { after: "0", epoch: "e".repeat(37) },
    close: 4400,
    reason: "invalid_epoch",
  },
  {
    kind: "ws-refused",
    when: "after=0x1",
    query: { after: "0x1" },
    close: 4400,
    reason: "invalid_cursor",
  },
  {
    kind: "ws-refused",
    when: "after=1.5",
    query: { after: "1.5" },
    close: 4400,
    reason: "invalid_cursor",
  },
  {
    kind: "ws-refused",
    when: "after=1e2",
    query: { after: "1e2" },
    close: 4400,
    reason: "invalid_cursor",
  },
  {
    kind: "ws-refused",
    when: "after with 17 digits",
    query: { after: HUGE },
    close: 4400,
    reason: "invalid_cursor",
  },
  {
    kind: "ws-refused",
    when: "after beyond the head without an epoch",
    query: { after: "999999" },
    close: 4400,
    reason: "invalid_cursor",
  },
  {
    kind: "ws-refused",
    when: "an uppercase room",
    path: "/api/rooms/LOBBY/ws",
    close: 4404,
    reason: "room_not_found",
  },
  {
    kind: "ws-refused",
    when: "a 49-character room",
    path: `/api/rooms/${"a".repeat(49)}/ws`,
    close: 4404,
    reason: "room_not_found",
  },
  {
    kind: "ws-refused",
    when: "the path ..%2Flobby",
    path: "/api/rooms/..%2Flobby/ws",
    raw: true,
    close: 4404,
    reason: "room_not_found",
  },
  {
    kind: "ws-refused",
    when: "the path %2E%2E",
    path: "/api/rooms/%2E%2E/ws",
    raw: true,
    close: 4404,
    reason: "room_not_found",
  },
  {
    kind: "ws-refused",
    when: "the path lobby%2Fx",
    path: "/api/rooms/lobby%2Fx/ws",
    raw: true,
    close: 4404,
    reason: "room_not_found",
  },
  {
    kind: "ws-handshake",
    when: "Upgrade: h2c",
    headers: [["Upgrade", "h2c"], ["Connection", "Upgrade"]],
    status: 426,
    code: "upgrade_required",
  },
  {
    kind: "ws-handshake",
    when: "no Sec-WebSocket-Key",
    headers: [["Upgrade", "websocket"], ["Connection", "Upgrade"], ["Sec-WebSocket-Version", "13"]],
    status: 400,
    code: "invalid_upgrade",
  },
  {
    kind: "ws-handshake",
    when: "no Connection: Upgrade",
    headers: [["Upgrade", "websocket"], ["Connection", "keep-alive"], [
      "Sec-WebSocket-Key",
      "dGhlIHNhbXBsZSBub25jZQ==",
    ], ["Sec-WebSocket-Version", "13"]],
    status: 400,
    code: "invalid_upgrade",
  },

  // --- WebSocket: who may send -----------------------------------------------------------------
  {
    kind: "ws-error",
    when: "a send on a socket without a session",
    session: false,
    frames: [{ type: "send", id: "s1", text: "hi" }],
    error: "session_required",
    id: "s1",
  },
  {
    kind: "ws-error",
    when: "a send under a ?name= instead of a session",
    session: false,
    query: { name: "mallory" },
    frames: [{ type: "send", id: "s2", text: "hi" }],
    error: "session_required",
    id: "s2",
  },
  {
    kind: "ws-error",
    when: "a send under a forged token",
    session: false,
    query: { token: `v1.${FORGED_PAYLOAD}.forged` },
    frames: [{ type: "send", id: "s3", text: "hi" }],
    error: "session_required",
    id: "s3",
  },
  {
    kind: "ws-error",
    when: "a send under another server's token",
    session: false,
    query: { token: FOREIGN_TOKEN },
    frames: [{ type: "send", id: "s4", text: "hi" }],
    error: "session_required",
    id: "s4",
  },
  {
    kind: "ws-error",
    when: "a send with an author on a read-only socket",
    session: false,
    frames: [{ type: "send", id: "s5", author: "ann", text: "hi" }],
    error: "session_required",
    id: "s5",
  },

  // --- WebSocket: frames -----------------------------------------------------------------------
  { kind: "ws-error", when: "an empty frame", frames: [""], error: "invalid_json" },
  { kind: "ws-error", when: "a JSON null frame", frames: ["null"], error: "invalid_frame" },
  { kind: "ws-error", when: "a JSON number frame", frames: ["42"], error: "invalid_frame" },
  {
    kind: "ws-error",
    when: "an object without a type",
    frames: [{ id: "x1", text: "hi" }],
    error: "invalid_frame",
    id: "x1",
  },
  {
    kind: "ws-error",
    when: "an uppercase SEND type",
    frames: [{ type: "SEND", id: "x2", text: "hi" }],
    error: "invalid_frame",
    id: "x2",
  },
  {
    kind: "ws-error",
    when: "a server frame type sent by the client",
    frames: [{ type: "ack", id: "x3", seq: 1 }],
    error: "invalid_frame",
    id: "x3",
  },
  {
    kind: "ws-error",
    when: "a send without text",
    frames: [{ type: "send", id: "x4" }],
    error: "invalid_text",
    id: "x4",
  },
  {
    kind: "ws-error",
    when: "a send with null text",
    frames: [{ type: "send", id: "x5", text: null }],
    error: "invalid_text",
    id: "x5",
  },
  {
    kind: "ws-error",
    when: "a send with text in an array",
    frames: [{ type: "send", id: "x6", text: ["hi"] }],
    error: "invalid_text",
    id: "x6",
  },
  {
    kind: "ws-error",
    when: "a send with a NUL in the text",
    frames: [{ type: "send", id: "x7", text: "a\u0000b" }],
    error: "invalid_text",
    id: "x7",
  },
  {
    kind: "ws-error",
    when: "a send of 4001 astral characters",
    frames: [{ type: "send", id: "x8", text: ASTRAL.repeat(4001) }],
    error: "text_too_long",
    id: "x8",
  },
  {
    kind: "ws-error",
    when: "a send of only Unicode spaces",
    frames: [{ type: "send", id: "x9", text: "\u00a0\u2028" }],
    error: "empty_text",
    id: "x9",
  },
  {
    kind: "ws-error",
    when: "a send with a 65-character id",
    frames: [{ type: "send", id: "i".repeat(65), text: "hi" }],
    error: "invalid_id",
    id: "i".repeat(65),
  },
  {
    kind: "ws-error",
    when: "a send with a numeric id",
    frames: [{ type: "send", id: 7, text: "hi" }],
    error: "invalid_id",
  },
  {
    kind: "ws-error",
    when: "a send with text only through __proto__",
    frames: ['{"type":"send","id":"x10","__proto__":{"text":"from the prototype"}}'],
    error: "invalid_text",
    id: "x10",
  },
  {
    kind: "ws-dropped",
    when: "a text frame of invalid UTF-8",
    payload: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
  },
  {
    kind: "ws-dropped",
    when: "a text frame with an overlong encoding",
    payload: new Uint8Array([0x22, 0xc0, 0xaf, 0x22]),
  },

  // --- WebSocket: extra fields are ignored, markup is text -------------------------------------
  {
    kind: "ws-stored",
    when: "a send that names another author, seq, room and time",
    frame: {
      type: "send",
      id: "w1",
      text: "hi",
      author: "admin",
      authorId: "admin-01",
      seq: 99,
      room: "other",
      at: 0,
    },
    stored: { author: "ann", text: "hi", id: "w1" },
  },
  {
    kind: "ws-stored",
    when: "a send with a __proto__ key",
    frame: '{"type":"send","id":"w2","text":"t","__proto__":{"polluted":1,"author":"admin"}}',
    stored: { author: "ann", text: "t", id: "w2" },
  },
  {
    kind: "ws-stored",
    when: "a send with a constructor.prototype key",
    frame: '{"type":"send","id":"w3","text":"t","constructor":{"prototype":{"polluted":1}}}',
    stored: { author: "ann", text: "t", id: "w3" },
  },
  {
    kind: "ws-stored",
    when: "markup as name and text",
    session: XSS_AUTHOR,
    frame: { type: "send", id: "w4", text: XSS_TEXT },
    stored: { author: XSS_AUTHOR, text: XSS_TEXT, id: "w4" },
  },

  // --- Server-Sent Events ----------------------------------------------------------------------
  {
    kind: "sse",
    when: "Last-Event-ID abc",
    headers: { "last-event-id": "abc" },
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "sse",
    when: "Last-Event-ID -1",
    headers: { "last-event-id": "-1" },
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "sse",
    when: "Last-Event-ID 1.5",
    headers: { "last-event-id": "1.5" },
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "sse",
    when: "Last-Event-ID 0x0",
    headers: { "last-event-id": "0x0" },
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "sse",
    when: "Last-Event-ID 1e2",
    headers: { "last-event-id": "1e2" },
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "sse",
    when: "a Last-Event-ID of 17 digits",
    headers: { "last-event-id": HUGE },
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "sse",
    when: "a Last-Event-ID beyond the head without an epoch",
    headers: { "last-event-id": "999999" },
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "sse",
    when: "a bad Last-Event-ID with a good after",
    path: `${EVENTS}?after=0`,
    headers: { "last-event-id": "-0" },
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "sse",
    when: "after=0x1",
    path: `${EVENTS}?after=0x1`,
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "sse",
    when: "after with 17 digits",
    path: `${EVENTS}?after=${HUGE}`,
    status: 400,
    code: "invalid_cursor",
  },
  {
    kind: "sse",
    when: "an epoch with punctuation",
    path: `${EVENTS}?epoch=!!`,
    status: 400,
    code: "invalid_epoch",
  },
  {
    kind: "sse",
    when: "an epoch of 37 characters",
    path: `${EVENTS}?after=0&epoch=${"e".repeat(37)}`,
    status: 400,
    code: "invalid_epoch",
  },
  {
    kind: "sse",
    when: "an epoch with markup and a good Last-Event-ID",
    path: `${EVENTS}?epoch=%3Cscript%3E`,
    headers: { "last-event-id": "0" },
    status: 400,
    code: "invalid_epoch",
  },
  {
    kind: "sse",
    when: "an uppercase room",
    path: "/api/rooms/LOBBY/events",
    status: 404,
    code: "room_not_found",
  },
  {
    kind: "sse",
    when: "the path ..%2Flobby",
    path: "/api/rooms/..%2Flobby/events",
    status: 404,
    code: "room_not_found",
  },
  {
    kind: "sse",
    when: "the path %2E%2E",
    path: "/api/rooms/%2E%2E/events",
    raw: true,
    status: 404,
    code: "room_not_found",
  },
  {
    kind: "sse",
    when: "the path lobby%2Fx",
    path: "/api/rooms/lobby%2Fx/events",
    status: 404,
    code: "room_not_found",
  },
  {
    kind: "sse",
    when: "a 5,000-character room",
    path: `/api/rooms/${"a".repeat(5000)}/events`,
    status: 404,
    code: "room_not_found",
  },
];

// ---------------------------------------------------------------------------------------------
// Running a row

/** What a row leaves behind on success: the rooms there are and how many messages it stored. */
function effects(row: Row): { rooms: string[]; stored: number } {
  switch (row.kind) {
    case "room-stored":
      return { rooms: [row.room.id], stored: 0 };
    case "http-stored":
    case "ws-stored":
      return { rooms: [], stored: 1 };
    default:
      return { rooms: [], stored: 0 };
  }
}

const TRANSPORT: Record<Row["kind"], string> = {
  "http": "HTTP",
  "page": "HTTP",
  "http-stored": "HTTP",
  "room-stored": "HTTP",
  "ws-refused": "WS",
  "ws-error": "WS",
  "ws-stored": "WS",
  "ws-dropped": "WS",
  "ws-handshake": "WS",
  "sse": "SSE",
  "sse-head": "SSE",
};

function outcome(row: Row): string {
  switch (row.kind) {
    case "http":
    case "sse":
    case "ws-handshake":
      return `is ${row.status} ${row.code}`;
    case "page":
      return `is the ${row.status} page "${row.heading}"`;
    case "http-stored":
    case "ws-stored":
      return "is stored with only the documented fields";
    case "room-stored":
      return "is created with only the documented fields";
    case "ws-refused":
      return `closes ${row.close} ${row.reason}`;
    case "ws-error":
      return `gets one ${row.error} error frame`;
    case "ws-dropped":
      return "drops the connection and stores nothing";
    case "sse-head":
      return "answers the head and leaves no stream open";
  }
}

interface Context {
  server: TestServer;
  port: number;
  lobby: Room;
}

async function runRow(context: Context, row: Row): Promise<void> {
  switch (row.kind) {
    case "http":
      return assertJsonError(await sendHttp(context, row), row);
    case "sse":
      return assertJsonError(await sendHttp(context, { ...row, path: row.path ?? EVENTS }), row);
    case "page":
      return await runPage(context, row);
    case "http-stored":
      return await runHttpStored(context, row);
    case "room-stored":
      return await runRoomStored(context, row);
    case "ws-refused":
      return await (row.raw ? runRawWsRefused(context, row) : runWsRefused(context, row));
    case "ws-error":
      return await runWsError(context, row);
    case "ws-stored":
      return await runWsStored(context, row);
    case "ws-dropped":
      return await runWsDropped(context, row);
    case "ws-handshake":
      return await runWsHandshake(context, row);
    case "sse-head":
      return await runSseHead(context);
  }
}

interface Reply {
  status: number;
  contentType: string;
  text: string;
}

/** Sends a row's request with `fetch`, or by hand over TCP for a path `fetch` would change. */
async function sendHttp(
  { server, port }: Context,
  row: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    body?: string | Uint8Array<ArrayBuffer>;
    raw?: boolean;
    session?: false;
  },
): Promise<Reply> {
  const method = row.method ?? (row.body === undefined ? "GET" : "POST");
  const path = row.path;
  const headers: Record<string, string> = {
    ...row.headers ?? (row.body === undefined ? {} : { "content-type": "application/json" }),
  };
  if (row.session !== false) headers.authorization ??= `Bearer ${sessionToken(server, "ann")}`;
  if (row.raw) {
    if (row.body instanceof Uint8Array) throw new Error("Raw requests take a text body");
    const response = await rawRequest(port, {
      method,
      path,
      headers: [["Host", `127.0.0.1:${port}`], ...Object.entries(headers), ["Connection", "close"]],
      body: row.body,
    });
    return {
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
      text: response.body ?? "",
    };
  }
  // A stream opened by mistake would never end: give up on it rather than hang.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 5000);
  try {
    const response = await fetch(new URL(path, server.origin), {
      method,
      headers,
      body: row.body,
      signal: controller.signal,
    });
    return {
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
      text: await response.text(),
    };
  } finally {
    clearTimeout(timer);
  }
}

function assertJsonError(reply: Reply, expected: { status: number; code: string }): void {
  assert.equal(reply.status, expected.status, reply.text.slice(0, 300));
  assert.match(reply.contentType, /^application\/json/);
  const body = JSON.parse(reply.text);
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.deepEqual(Object.keys(body.error), ["code", "message"]);
  assert.equal(body.error.code, expected.code);
  assert.equal(typeof body.error.message, "string");
  assert.notEqual(body.error.message, "");
}

async function runPage(context: Context, row: PageRow): Promise<void> {
  const reply = await sendHttp(context, row);
  assert.equal(reply.status, row.status);
  assert.match(reply.contentType, /^text\/html/);
  assert.equal(reply.text.match(/<h1>([\s\S]*?)<\/h1>/)?.[1], row.heading);
  assert.ok(!reply.text.includes("<img"), "markup from the path reached the page");
}

const MESSAGE_FIELDS = ["at", "author", "authorId", "id", "room", "seq", "text"];
const ROOM_FIELDS = ["createdAt", "epoch", "head", "id", "lastAt", "title", "trimmed"];

/** Asserts a value is a plain object with exactly `fields`, none inherited from a polluted key. */
function assertOnlyFields(value: unknown, fields: string[]): asserts value is object {
  assert.equal(typeof value, "object");
  assert.notEqual(value, null);
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.keys(value as object).sort(), fields);
}

function assertNoPollution(): void {
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.hasOwn(Object.prototype, "polluted"), false);
  assert.equal(Object.hasOwn(Object.prototype, "author"), false);
  assert.equal(Object.hasOwn(Object.prototype, "text"), false);
}

/** Asserts `message` is the lobby's newest message, as the API and the KV log both hold it. */
async function assertStoredMessage(
  { server, lobby }: Context,
  message: Message,
  expected: { author: string; text: string; id?: string },
  sent: { token: string; at: number },
): Promise<void> {
  assertOnlyFields(message, MESSAGE_FIELDS);
  assert.equal(message.room, "lobby");
  assert.equal(message.author, expected.author);
  const { sessions } = server.services;
  assert.equal(message.authorId, sessions.authorId(sessions.verify(sent.token)!, "lobby"));
  assert.equal(message.text, expected.text);
  if (expected.id !== undefined) assert.equal(message.id, expected.id);
  else assert.match(message.id, /^srv\./);
  assert.ok(message.at >= sent.at && message.at <= Date.now(), `at ${message.at}`);

  // Fetched back over the API, verbatim.
  const { status, body } = await requestJson(server, `${MESSAGES}?limit=1`);
  assert.equal(status, 200);
  const [fetched] = body.messages as Message[];
  assertOnlyFields(fetched, MESSAGE_FIELDS);
  assert.deepEqual(fetched, message);
  // And in the log itself.
  const [logged] = await server.services.log.readLatest(lobby.id, { limit: 1 });
  assertOnlyFields(logged, MESSAGE_FIELDS);
  assert.deepEqual({ ...logged }, message);
  assertNoPollution();
}

async function runHttpStored(context: Context, row: HttpStoredRow): Promise<void> {
  const at = Date.now();
  const token = sessionToken(context.server, row.name ?? "ann");
  const { status, body } = await requestJson(context.server, MESSAGES, {
    body: row.body,
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(status, 201, JSON.stringify(body));
  assertOnlyFields(body, ["message"]);
  await assertStoredMessage(context, body.message as Message, row.stored, { token, at });
}

async function runRoomStored({ server }: Context, row: RoomStoredRow): Promise<void> {
  const { status, body } = await requestJson(server, "/api/rooms", { body: row.body });
  assert.equal(status, 201, JSON.stringify(body));
  const room = body.room as Room;
  assertOnlyFields(room, ROOM_FIELDS);
  assert.equal(room.id, row.room.id);
  assert.equal(room.title, row.room.title);
  assert.match(room.epoch, /^[0-9a-f]{8}$/);
  const stored = await server.services.log.getRoom(row.room.id);
  assertOnlyFields(stored, ROOM_FIELDS);
  assert.deepEqual({ ...stored }, room);
  assertNoPollution();
}

function wsPath(path: string, query: Query): string {
  const params = new URLSearchParams(Object.entries(query));
  const search = params.size === 0 ? "" : `?${params}`;
  return `${path}${search}`;
}

/** Opens a WebSocket with `query` as given, plus a `token` for the `session` name if any. */
function openSocket(
  { server }: Pick<Context, "server">,
  options: { session?: string | false; query?: Query; path?: string },
): TestSocket {
  const query = { ...options.query };
  if (options.session) query.token = sessionToken(server, options.session);
  const path = wsPath(options.path ?? "/api/rooms/lobby/ws", query);
  return new TestSocket(new URL(path, server.origin.replace("http", "ws")).href);
}

const isType = (type: string) => (frame: Frame) => frame.type === type;
/**
 * The frames that answer a client, without `presence` frames: those report who is online
 * whenever it changes, independently of anything the client sends.
 */
const answersOf = (socket: TestSocket) =>
  socket.frames.filter((frame) => frame.type !== "presence");

async function waitForWelcome(socket: TestSocket): Promise<Frame> {
  await socket.until((s) => s.frames.some(isType("welcome")));
  return socket.frames.find(isType("welcome"))!;
}

async function waitForClose(socket: TestSocket): Promise<CloseEvent> {
  await socket.until((s) => s.socket.readyState === WebSocket.CLOSED);
  return await socket.closed;
}

async function runWsRefused(context: Context, row: WsRefusedRow): Promise<void> {
  const socket = openSocket(context, { query: row.query, path: row.path });
  try {
    const event = await waitForClose(socket);
    assert.equal(event.code, row.close);
    assert.equal(event.reason, row.reason);
    assert.deepEqual(socket.frames, [], "a refused socket got frames");
  } finally {
    await socket.close();
  }
}

async function runRawWsRefused(context: Context, row: WsRefusedRow): Promise<void> {
  const path = wsPath(row.path ?? "/api/rooms/lobby/ws", row.query ?? {});
  const socket = await RawSocket.open(context.port, path);
  try {
    assert.equal(socket.status, 101);
    const first = await socket.readMessage();
    assert.ok(first, "the connection ended without a close frame");
    assert.equal(
      first.opcode,
      OPCODE_CLOSE,
      `expected a close frame first, got ${describe(first)}`,
    );
    assert.deepEqual(closeOf(first), { code: row.close, reason: row.reason });
    await socket.write(maskedFrame(OPCODE_CLOSE, first.payload.slice(0, 2)));
  } finally {
    socket.close();
  }
}

async function runWsError(context: Context, row: WsErrorRow): Promise<void> {
  const socket = openSocket(context, { session: row.session ?? "ann", query: row.query });
  try {
    await waitForWelcome(socket);
    for (const frame of row.frames) {
      if (typeof frame === "string") socket.socket.send(frame);
      else socket.send(frame);
    }
    // A sentinel with a known answer: once it arrives, every answer to the row has too.
    socket.send({ type: "sentinel" });
    await socket.until((s) => s.frames.filter(isType("error")).length >= 2);
    const [welcome, ...answers] = answersOf(socket);
    assert.equal(welcome.type, "welcome");
    assert.equal(answers.length, 2, JSON.stringify(answers));
    const [error, sentinel] = answers;
    assert.equal(error.type, "error");
    assert.equal(error.code, row.error);
    assert.equal(typeof error.message, "string");
    if (row.id === undefined) assert.ok(!("id" in error), `unexpected id in ${json(error)}`);
    else assert.equal(error.id, row.id);
    assert.equal(sentinel.code, "invalid_frame");
    assert.equal(socket.socket.readyState, WebSocket.OPEN);
  } finally {
    await socket.close();
  }
}

async function runWsStored(context: Context, row: WsStoredRow): Promise<void> {
  const token = sessionToken(context.server, row.session ?? "ann");
  const socket = openSocket(context, { query: { token } });
  try {
    const welcome = await waitForWelcome(socket);
    const at = Date.now();
    if (typeof row.frame === "string") socket.socket.send(row.frame);
    else socket.send(row.frame);
    await socket.until((s) => s.frames.some(isType("ack")) && s.messages.length >= 1);
    assert.deepEqual(socket.frames.filter(isType("error")), []);
    const ack = socket.frames.find(isType("ack"))!;
    assert.deepEqual(ack, { type: "ack", id: row.stored.id, seq: (welcome.head as number) + 1 });
    const [delivered] = socket.frames.filter(isType("messages"));
    assertOnlyFields(delivered, ["messages", "type"]);
    const [message] = delivered.messages as Message[];
    assert.equal(message.seq, ack.seq);
    await assertStoredMessage(context, message, row.stored, { token, at });
  } finally {
    await socket.close();
  }
}

async function runWsDropped(context: Context, row: WsDroppedRow): Promise<void> {
  const token = sessionToken(context.server, "ann");
  const socket = await RawSocket.open(context.port, `/api/rooms/lobby/ws?token=${token}`);
  try {
    assert.equal(socket.status, 101);
    const welcome = await socket.readAnswer();
    assert.ok(welcome && welcome.opcode === OPCODE_TEXT, "no welcome");
    assert.equal(JSON.parse(new TextDecoder().decode(welcome.payload)).type, "welcome");
    await socket.write(maskedFrame(OPCODE_TEXT, row.payload));
    // Deno fails the connection at once: no error frame, no close frame (a browser sees 1006).
    const next = await socket.readAnswer();
    assert.equal(next, null, `expected the connection to end, got ${next && describe(next)}`);
  } finally {
    socket.close();
  }
}

async function runWsHandshake({ port }: Context, row: WsHandshakeRow): Promise<void> {
  const response = await rawRequest(port, {
    method: "GET",
    path: "/api/rooms/lobby/ws",
    headers: [["Host", `127.0.0.1:${port}`], ...row.headers],
  });
  assertJsonError({
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    text: response.body ?? "",
  }, row);
}

async function runSseHead({ server }: Context): Promise<void> {
  const response = await fetch(new URL(EVENTS, server.origin), { method: "HEAD" });
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
  assert.equal(await response.text(), "");
  // The generic checks after the row then require that no stream stayed open.
}

// ---------------------------------------------------------------------------------------------
// After a row: the server is intact and serves a normal client

/** {@link waitUntil}, giving up after 3 s. */
function waitFor(what: string, condition: () => boolean, timeoutMs = 3000): Promise<void> {
  return waitUntil(what, condition, timeoutMs);
}

async function assertIntact(
  { server }: Context,
  expected: { rooms: string[]; head: number },
): Promise<void> {
  assertNoPollution();
  const { connections, hub } = server.services;
  await waitFor(
    "every live connection of the row to end",
    () => connections.count("ws") === 0 && connections.count("sse") === 0,
  );
  assert.equal(hub.waitingPolls, 0);

  const { body } = await requestJson(server, "/api/rooms");
  const rooms = body.rooms as Room[];
  assert.deepEqual(rooms.map((room) => room.id).sort(), expected.rooms.toSorted());
  // The list may be a second old; the room's history is current.
  const history = await requestJson(server, "/api/rooms/lobby/messages");
  assert.equal(history.body.head, expected.head, "messages stored");

  const client = openSocket({ server }, { session: "norma" });
  try {
    const welcome = await waitForWelcome(client);
    assert.equal(welcome.head, expected.head);
    const posted = await requestJson(server, MESSAGES, {
      body: { id: `normal-${expected.head + 1}`, author: "norma", text: "still serving" },
    });
    assert.equal(posted.status, 201, JSON.stringify(posted.body));
    const message = posted.body.message as Message;
    assert.equal(message.seq, expected.head + 1);
    await client.until((s) => s.messages.length >= 1);
    assert.deepEqual(answersOf(client).slice(1), [{ type: "messages", messages: [message] }]);
  } finally {
    await client.close();
  }
}

async function withLobby(fn: (context: Context) => Promise<void>): Promise<void> {
  const server = await startServer(LIMITS_OFF);
  try {
    const { status, body } = await requestJson(server, "/api/rooms", {
      body: { id: "lobby", title: "Lobby" },
    });
    assert.equal(status, 201);
    const port = Number(new URL(server.origin).port);
    await fn({ server, port, lobby: body.room as Room });
  } finally {
    await server.close();
  }
}

function testName(row: Row): string {
  return `bad input (${TRANSPORT[row.kind]}) - ${row.when} ${outcome(row)}`;
}

for (const row of ROWS) {
  Deno.test({
    name: testName(row),
    ignore: row.ignore,
    async fn() {
      await withLobby(async (context) => {
        await runRow(context, row);
        const { rooms, stored } = effects(row);
        await assertIntact(context, { rooms: ["lobby", ...rooms], head: stored });
      });
    },
  });
}

Deno.test("bad input - the table has 30 rows or more per transport, each named once", () => {
  const count = (transport: string) =>
    ROWS.filter((row) => TRANSPORT[row.kind] === transport).length;
  assert.ok(count("HTTP") >= 30, `HTTP rows: ${count("HTTP")}`);
  assert.ok(count("WS") >= 30, `WS rows: ${count("WS")}`);
  assert.ok(count("SSE") >= 20, `SSE rows: ${count("SSE")}`);
  assert.equal(new Set(ROWS.map(testName)).size, ROWS.length, "two rows share a name");
});

Deno.test("bad input - one server takes every row in turn and still serves a normal client", async () => {
  await withLobby(async (context) => {
    const rooms = ["lobby"];
    let head = 0;
    for (const row of ROWS.filter((row) => !row.ignore)) {
      try {
        await runRow(context, row);
        const after = effects(row);
        rooms.push(...after.rooms);
        head += after.stored;
        await assertIntact(context, { rooms, head });
        head += 1; // The normal client's message.
      } catch (error) {
        throw new Error(`Row "${testName(row)}" failed`, { cause: error });
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// What the hand-written WebSocket client (`tests/raw_socket.ts`) read

function describe(message: ServerMessage): string {
  const text = new TextDecoder().decode(message.payload.slice(0, 200));
  return `opcode ${message.opcode}: ${JSON.stringify(text)}`;
}

function closeOf(message: ServerMessage): { code: number; reason: string } {
  const { payload } = message;
  return {
    code: (payload[0] << 8) | payload[1],
    reason: new TextDecoder().decode(payload.subarray(2)),
  };
}
