/**
 * Author ids as a server signing with a fixed secret gives them, for tests that make their own
 * `Presence`.
 *
 * @module
 */
import type { AuthorIdOf } from "../lib/presence.ts";
import { Sessions } from "../lib/session.ts";

/** The sessions that sign {@link authorIdOf}'s ids. */
export const TEST_SESSIONS = new Sessions("a test secret of at least 32 characters");

/** A session's author id in a room, as {@link TEST_SESSIONS} gives it. */
export const authorIdOf: AuthorIdOf = (sid, room) => TEST_SESSIONS.authorId({ sid }, room);
