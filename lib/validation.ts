import { ParleyError } from "./errors.ts";
import { dropNoOps, findInvisibleCharacter } from "./invisible_characters.ts";
import type { Speaker } from "./session.ts";
import type { NewMessage } from "./types.ts";

/** Room ids are short lowercase slugs usable in URLs and KV keys. */
export const ROOM_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,47}$/;
/** Client message ids: letters, digits, `-` and `_`, at most 64 of them. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** The longest message text, in characters after trimming. */
export const MAX_TEXT_LENGTH = 4000;
/** The longest display name, in characters after trimming. */
export const MAX_AUTHOR_LENGTH = 32;
/** The longest room title, in characters after trimming. */
export const MAX_TITLE_LENGTH = 80;

// Control characters except tab and newline, which a multi-line message may hold.
const CONTROL_IN_TEXT = /[^\P{Cc}\t\n]/u;
const CONTROL_IN_LINE = /\p{Cc}/u;
// Bidi embeddings, overrides and isolates reorder what follows them: a name or title holding one
// can pass for another. Checked before invisible characters, which they are too, for the clearer message.
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/;
// In message text, the embeddings and overrides: an override draws what follows it reversed, so
// a link can read as another address. (Isolates, which reverse nothing, stay for mixed-direction
// text.)
const BIDI_OVERRIDE = /[\u202A-\u202E]/;
// Spaces that look like an ordinary space (no-break and fixed-width ones; the ideographic space
// is wider, and stays; so does the narrow one before a Mongolian suffix, which shapes it), and
// runs of spaces, which pages show as one.
const SPACE_LOOKALIKES = /[\u00a0\u2000-\u200a\u205f]|\u202f(?!\p{scx=Mongolian})/gu;
const SPACE_RUNS = / {2,}/g;
// Text made only of spaces, line breaks and characters that show nothing (see
// invisible_characters.ts).
const NOTHING_VISIBLE = /^[\p{Default_Ignorable_Code_Point}\p{Z}\u2800\t\n]*$/u;

function invalid(code: string, message: string): ParleyError {
  return new ParleyError(400, code, message);
}

function codePointName(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

function characters(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * Trims and checks one line of text, with spaces that look alike made one ordinary space and
 * invisible characters that change nothing dropped (so a name cannot pass for another by them,
 * and one typed on a phone is taken); errors have the code `invalid_<field>` and name `label`.
 */
function parseLine(
  value: unknown,
  field: string,
  maxLength: number,
  label = field,
): string {
  if (typeof value !== "string") {
    throw invalid(`invalid_${field}`, `The ${label} must be a string`);
  }
  const trimmed = dropNoOps(value.trim().replace(SPACE_LOOKALIKES, " ").replace(SPACE_RUNS, " "));
  const length = characters(trimmed);
  if (length === 0 || NOTHING_VISIBLE.test(trimmed)) {
    throw invalid(`invalid_${field}`, `The ${label} must not be empty`);
  }
  if (length > maxLength) {
    throw invalid(
      `invalid_${field}`,
      `The ${label} is ${length} characters, the limit is ${maxLength}`,
    );
  }
  if (CONTROL_IN_LINE.test(trimmed) || !trimmed.isWellFormed()) {
    throw invalid(
      `invalid_${field}`,
      `The ${label} must not contain control characters`,
    );
  }
  if (BIDI_CONTROL.test(trimmed)) {
    throw invalid(
      `invalid_${field}`,
      `The ${label} must not contain characters that change the direction of text`,
    );
  }
  const hidden = findInvisibleCharacter(trimmed);
  if (hidden !== undefined) {
    throw invalid(
      `invalid_${field}`,
      `The ${label} must not contain invisible characters such as ${codePointName(hidden)}`,
    );
  }
  return trimmed;
}

/** What {@link ROOM_ID_PATTERN} allows, in words. */
export const ROOM_ID_RULE =
  "A room id is 1 to 48 lowercase letters, digits, '-' or '_', starting with a letter or digit";

/**
 * A room id made from what someone typed for one ("My Room!" → "my-room", "Café" → "cafe"), or
 * undefined when nothing of it would do.
 */
export function suggestRoomId(text: string): string | undefined {
  const slug = text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .slice(0, 48)
    .replace(/-+$/, "");
  return ROOM_ID_PATTERN.test(slug) ? slug : undefined;
}

/** Checks a room id against {@link ROOM_ID_PATTERN}. */
export function parseRoomId(value: unknown): string {
  if (typeof value !== "string" || !ROOM_ID_PATTERN.test(value)) {
    throw invalid("invalid_room_id", ROOM_ID_RULE);
  }
  return value;
}

/** Trims and checks a room title (1 to 80 characters, no control characters). */
export function parseTitle(value: unknown): string {
  return parseLine(value, "title", MAX_TITLE_LENGTH);
}

/** Trims and checks a display name (1 to 32 characters, no control characters). */
export function parseAuthor(value: unknown): string {
  return parseLine(value, "author", MAX_AUTHOR_LENGTH, "display name");
}

/** Trims and checks message text (1 to 4000 characters; tabs and newlines allowed). */
export function parseText(value: unknown): string {
  if (typeof value !== "string") {
    throw invalid("invalid_text", "The text must be a string");
  }
  const trimmed = value.replace(/\r\n?/g, "\n").trim();
  const length = characters(trimmed);
  // Text of only characters that show nothing would be an empty row.
  if (length === 0 || NOTHING_VISIBLE.test(trimmed)) {
    throw invalid("empty_text", "The text must not be empty");
  }
  if (length > MAX_TEXT_LENGTH) {
    throw invalid(
      "text_too_long",
      `The text is ${length} characters, the limit is ${MAX_TEXT_LENGTH}`,
    );
  }
  if (CONTROL_IN_TEXT.test(trimmed) || !trimmed.isWellFormed()) {
    throw invalid(
      "invalid_text",
      "The text must not contain control characters other than tab and newline",
    );
  }
  if (BIDI_OVERRIDE.test(trimmed)) {
    throw invalid(
      "invalid_text",
      "The text must not contain bidi embeddings or overrides (U+202A to U+202E)",
    );
  }
  return trimmed;
}

/** Checks an optional client message id; undefined when absent. */
export function parseClientId(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || !CLIENT_ID_PATTERN.test(value)) {
    throw invalid(
      "invalid_id",
      "A message id is 1 to 64 letters, digits, '-' or '_'",
    );
  }
  return value;
}

/**
 * The message a send asks to append, from its `id` and `text`: under the speaker's name and
 * author id, whatever else the send says.
 */
export function parseSend(
  fields: Record<string, unknown>,
  speaker: Speaker,
): NewMessage {
  const id = parseClientId(fields.id);
  return { id, author: speaker.name, authorId: speaker.authorId, text: parseText(fields.text) };
}

/** Ensures a parsed JSON body is a plain object, not an array, string or null. */
export function expectObject(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid("invalid_body", "The body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/** Parses an optional non-negative integer query parameter (a seq or a count). */
export function parseCount(
  value: string | undefined,
  name: string,
  code: string,
): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^\d{1,15}$/.test(value)) {
    throw invalid(
      code,
      `The ${name} must be a non-negative integer, got "${value}"`,
    );
  }
  return Number(value);
}

/**
 * Parses an optional count query parameter (`limit`, `wait`) within `bounds`, `fallback` when
 * absent; else 400 `invalid_<name>`.
 */
export function parseBoundedCount(
  value: string | undefined,
  name: string,
  bounds: { fallback: number; min: number; max: number },
): number {
  const parsed = parseCount(value, name, `invalid_${name}`) ?? bounds.fallback;
  if (parsed < bounds.min || parsed > bounds.max) {
    throw invalid(
      `invalid_${name}`,
      `The ${name} must be between ${bounds.min} and ${bounds.max}, got ${parsed}`,
    );
  }
  return parsed;
}

/**
 * Parses an optional seq cursor (`after`, `before`, `Last-Event-ID`): an integer from 0 to
 * `max`, else 400 `invalid_cursor`.
 */
export function parseCursor(
  value: string | undefined | null,
  name: string,
  max: number,
): number | undefined {
  const cursor = parseCount(value ?? undefined, `${name} cursor`, "invalid_cursor");
  if (cursor !== undefined && cursor > max) {
    throw invalid(
      "invalid_cursor",
      `The ${name} cursor ${cursor} is beyond the newest message (${max})`,
    );
  }
  return cursor;
}
