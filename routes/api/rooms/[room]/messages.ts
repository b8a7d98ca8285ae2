import type { Context } from "hono";
import { ParleyError } from "../../../../lib/errors.ts";
import { readJsonBody } from "../../../../lib/body.ts";
import { requireRoom } from "../../../../lib/room_param.ts";
import type { AppEnv } from "../../../../lib/services.ts";
import { parseAuthor, parseClientId, parseCount, parseText } from "../../../../lib/validation.ts";

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;

function parseLimit(value: string | undefined): number {
  const limit = parseCount(value, "limit", "invalid_limit") ?? DEFAULT_LIMIT;
  if (limit < 1 || limit > MAX_LIMIT) {
    throw new ParleyError(
      400,
      "invalid_limit",
      `The limit must be between 1 and ${MAX_LIMIT}, got ${limit}`,
    );
  }
  return limit;
}

/** `GET` pages back through a room's history; `POST` appends a message. */
export const handler = {
  async GET(c: Context<AppEnv>): Promise<Response> {
    const { log } = c.var.services;
    const room = await requireRoom(log, c.req.param("room") ?? "");
    const limit = parseLimit(c.req.query("limit"));
    const before = parseCount(c.req.query("before"), "before cursor", "invalid_cursor");
    const messages = await log.readLatest(room.id, { limit, before });
    return c.json({ room: room.id, head: room.head, messages });
  },

  async POST(c: Context<AppEnv>): Promise<Response> {
    const { log } = c.var.services;
    const room = await requireRoom(log, c.req.param("room") ?? "");
    const body = await readJsonBody(c.req.raw);
    const input = {
      id: parseClientId(body.id),
      author: parseAuthor(body.author),
      text: parseText(body.text),
    };
    const { message, created } = await log.append(room.id, input);
    return c.json({ message }, created ? 201 : 200);
  },
};
