/**
 * Presence as a transport receives it, and who is online and who is typing in it, each name with
 * its session's author id where the server says.
 *
 * @module
 */
import type { RoomPresence } from "../presence.ts";

/** The author id lists of presence, which servers older than them leave out. */
type AuthorIdLists = "onlineAuthorIds" | "typingAuthorIds";

/** Presence as a server sends it: one older than author ids in presence leaves them out. */
export type PresenceUpdate =
  & Omit<RoomPresence, AuthorIdLists>
  & Partial<Pick<RoomPresence, AuthorIdLists>>;

/**
 * A session online (or typing): its display name, and its author id in the room when the server
 * said.
 */
export interface OnlinePerson {
  name: string;
  authorId?: string;
}

/**
 * The sessions named `names`, in their order, each with the author id at its place in `ids`.
 * Ids that do not line up with the names (left out, or a list of another length) are dropped
 * rather than given to the wrong people.
 */
function people(names: readonly string[], ids: readonly unknown[] | undefined): OnlinePerson[] {
  const aligned = Array.isArray(ids) && ids.length === names.length;
  return names.map((name, i) => {
    const authorId = aligned ? ids[i] : undefined;
    return typeof authorId === "string" && authorId !== "" ? { name, authorId } : { name };
  });
}

/** The sessions online in `presence`, in its order, each with the author id beside its name. */
export function onlinePeople(presence: PresenceUpdate): OnlinePerson[] {
  return people(presence.online, presence.onlineAuthorIds);
}

/** The sessions typing in `presence`, in its order, each with the author id beside its name. */
export function typingPeople(presence: PresenceUpdate): OnlinePerson[] {
  return people(presence.typing, presence.typingAuthorIds);
}
