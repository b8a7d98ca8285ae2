import type { Context } from "hono";
import { readJsonBody } from "../../lib/body.ts";
import { type AppEnv, bodyOptions } from "../../lib/services.ts";
import { type Session, sessionCookie } from "../../lib/session.ts";
import { parseAuthor } from "../../lib/validation.ts";

/** Whether the page was reached over https, directly or through a trusted proxy. */
function isSecure(c: Context<AppEnv>): boolean {
  if (new URL(c.req.url).protocol === "https:") return true;
  return c.var.services.config.trustProxy && c.req.header("x-forwarded-proto") === "https";
}

function describe(session: Session | null) {
  return session && { name: session.name };
}

/**
 * `GET /api/session` tells who you are; `POST` `{"name"}` picks or changes your display name
 * (keeping your session) and sets the signed `HttpOnly` cookie, also returning the token for
 * non-browser clients; `DELETE` forgets the session.
 */
export const handler = {
  GET(c: Context<AppEnv>): Response {
    return c.json({ session: describe(c.var.services.sessions.fromRequest(c.req.raw)) });
  },

  async POST(c: Context<AppEnv>): Promise<Response> {
    const { sessions } = c.var.services;
    const body = await readJsonBody(c.req.raw, bodyOptions(c.var.services));
    const name = parseAuthor(body.name);
    const current = sessions.fromRequest(c.req.raw);
    const { session, token } = sessions.issue(name, current?.sid);
    c.header("set-cookie", sessionCookie(token, { secure: isSecure(c) }));
    c.header("cache-control", "no-store");
    return c.json({ session: describe(session), token }, current ? 200 : 201);
  },

  DELETE(c: Context<AppEnv>): Response {
    c.header("set-cookie", sessionCookie("", { secure: isSecure(c) }));
    return c.json({ session: null });
  },
};
