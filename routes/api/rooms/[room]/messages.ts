import type { Context } from "hono";
import { withinAnswerBudget } from "../../../../lib/answer_budget.ts";
import { readJsonBody } from "../../../../lib/body.ts";
import { clientIp } from "../../../../lib/client_ip.ts";
import { wasHead } from "../../../../lib/head_as_get.ts";
import { rateLimited, tooManyConnections } from "../../../../lib/limits.ts";
import { HistoryTrimmedError } from "../../../../lib/room_reader.ts";
import { checkResume, readResyncMessages } from "../../../../lib/resume.ts";
import { requireRoom, requireRoomId } from "../../../../lib/room_param.ts";
import type { Hub } from "../../../../lib/hub.ts";
import { presenceVersion } from "../../../../lib/presence.ts";
import { type AppEnv, bodyOptions, endTypingSpell } from "../../../../lib/services.ts";
import type { Message, Room } from "../../../../lib/types.ts";
import { parseBoundedCount, parseCursor, parseSend } from "../../../../lib/validation.ts";

const HISTORY_LIMIT = { fallback: 50, max: 200 };
const POLL_LIMIT = { fallback: 100, max: 500 };
const MAX_WAIT_SECONDS = 60;

/**
 * The answer: the room, `messages` and `extra`. Its head is the room's, or the seq of the last
 * message carried when a message stored after the room was read made that higher.
 */
function answer(room: Room, messages: Message[], extra: Record<string, unknown> = {}): Response {
  const head = Math.max(room.head, messages.at(-1)?.seq ?? 0);
  return Response.json({ room: room.id, epoch: room.epoch, head, ...extra, messages });
}

/** What a long-poll answer says about presence: who is online and typing, and its version. */
function presenceFields(hub: Hub, room: string): Record<string, unknown> {
  const presence = hub.presenceOf(room);
  return { ...presence, presence: presenceVersion(presence) };
}

/**
 * `GET` pages back through history (`before`), or long-polls for messages after a cursor
 * (`after`, `epoch`, `wait`), answering a cursor that cannot resume with `resync: true` and
 * the latest messages; `POST` appends a message.
 */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    const { log, hub, sessions } = c.var.services;
    const id = c.req.param("room") ?? "";
    const session = sessions.fromRequest(c.req.raw);
    // The session's author id in the room, in every answer: a poller knows its own messages.
    const you = session ? { authorId: sessions.authorId(session, id) } : {};
    const page = (room: Room, messages: Message[], extra: Record<string, unknown> = {}) =>
      answer(room, messages, { ...you, ...extra });
    // A long-poll client that re-polls from the head this worker has reached (the usual case)
    // is answered from the hub's feed: no KV read before it waits.
    const live = hub.liveRoom(id);
    const cursor = {
      after: c.req.query("after"),
      epoch: c.req.query("epoch"),
      last: c.req.query("last"),
    };
    // A poll naming its last message (an opening one) has it checked, which reads the log.
    const atLiveHead = live !== undefined && cursor.after === String(live.head) && !cursor.last;
    const room = atLiveHead ? live : await requireRoom(log, id);
    const resume = await checkResume(log, room, cursor);
    if (resume.resync) {
      return page(room, await readResyncMessages(log, room.id, room.head), { resync: true });
    }
    const after = resume.after;
    if (after === undefined) {
      const limit = parseBoundedCount(c.req.query("limit"), "limit", { ...HISTORY_LIMIT, min: 1 });
      const before = parseCursor(c.req.query("before"), "before", Number.MAX_SAFE_INTEGER);
      const latest = await log.readLatest(room.id, { limit, before });
      return page(room, withinAnswerBudget(latest, "newest"));
    }
    const limit = parseBoundedCount(c.req.query("limit"), "limit", { ...POLL_LIMIT, min: 1 });
    const wait = parseBoundedCount(c.req.query("wait"), "wait", {
      fallback: 0,
      min: 0,
      max: MAX_WAIT_SECONDS,
    });
    const { limits, config, metrics, presence } = c.var.services;
    const ip = clientIp(c, config.trustProxy);
    // A HEAD says what the poll would answer now: it neither waits nor counts as someone present.
    const head = wasHead(c.req.raw);
    if (session && !head && limits.showsPresent(ip, session.sid)) presence.touch(room.id, session);
    // Empty means absent, as for every other parameter: not a version that never matches.
    const seenPresence = c.req.query("presence") || undefined;
    let ready: Message[];
    try {
      ready = atLiveHead ? [] : await log.readAfter(room.id, after, limit);
    } catch (error) {
      // Retention passed the cursor since the check above.
      if (!(error instanceof HistoryTrimmedError)) throw error;
      const current = await requireRoom(log, room.id);
      return page(current, await readResyncMessages(log, room.id, current.head), { resync: true });
    }
    ready = withinAnswerBudget(ready, "oldest");
    if (ready.length > 0 || wait === 0 || head) {
      metrics.deliveries.inc("poll", ready.length);
      return page(room, ready, presenceFields(hub, room.id));
    }
    const release = limits.openConnection(ip);
    if (release === null) throw tooManyConnections();
    try {
      const { head, messages: woken } = await hub.poll(room.id, after, {
        limit,
        waitMs: wait * 1000,
        signal: c.req.raw.signal,
        seenPresence,
      });
      const messages = withinAnswerBudget(woken, "oldest");
      metrics.deliveries.inc("poll", messages.length);
      const fields = presenceFields(hub, room.id);
      return page({ ...room, head: Math.max(room.head, head) }, messages, fields);
    } finally {
      release();
    }
  },

  async POST(c: Context<AppEnv>): Promise<Response> {
    const { log, limits, config, sessions } = c.var.services;
    const room = await requireRoomId(log, c.req.param("room") ?? "");
    const session = sessions.requireSession(c.req.raw);
    // The author is the session's; an `author` field in the body is ignored.
    const body = await readJsonBody(c.req.raw, bodyOptions(c.var.services));
    const input = parseSend(body, sessions.speaker(session, room));
    // The sender's spell of typing ends with its message (see `Presence.stoppedTyping`), whether
    // it is taken now or after a wait.
    endTypingSpell(c.var.services, room, session);
    const wait = limits.message(clientIp(c, config.trustProxy));
    if (wait > 0) throw rateLimited("messages", wait);
    const { message, created } = await log.append(room, input);
    return c.json({ message }, created ? 201 : 200);
  },
};
