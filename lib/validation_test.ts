import assert from "node:assert/strict";
import { ParleyError } from "./errors.ts";
import {
  expectObject,
  MAX_AUTHOR_LENGTH,
  MAX_TEXT_LENGTH,
  MAX_TITLE_LENGTH,
  parseAuthor,
  parseClientId,
  parseCount,
  parseCursor,
  parseRoomId,
  parseText,
  parseTitle,
  suggestRoomId,
} from "./validation.ts";

/** A case that must parse to `expected`. */
interface Accepts<T> {
  name: string;
  input: unknown;
  expected: T;
}

/** A case that must fail with a 400 and `code`. */
interface Refuses {
  name: string;
  input: unknown;
  code: string;
}

function assertRefused(fn: () => unknown, code: string, label: string): ParleyError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ParleyError, `${label}: expected a ParleyError, got ${caught}`);
  assert.equal(caught.status, 400, label);
  assert.equal(caught.code, code, label);
  assert.ok(caught.message.length > 0, `${label}: empty message`);
  return caught;
}

function runTable<T>(
  parse: (value: unknown) => T,
  accepts: Accepts<T>[],
  refuses: Refuses[],
): void {
  for (const { name, input, expected } of accepts) {
    let actual: T;
    try {
      actual = parse(input);
    } catch (error) {
      throw new Error(`${name}: expected ${JSON.stringify(expected)}, got ${error}`);
    }
    assert.equal(actual, expected, name);
  }
  for (const { name, input, code } of refuses) {
    assertRefused(() => parse(input), code, name);
  }
}

const emoji = "\u{1F600}"; // 😀: one character, two UTF-16 code units

Deno.test("parseRoomId - accepts lowercase slugs up to 48 characters", () => {
  const id48 = "a" + "b".repeat(47);
  assert.equal(id48.length, 48);
  runTable(
    parseRoomId,
    [
      { name: "one letter", input: "a", expected: "a" },
      { name: "one digit", input: "7", expected: "7" },
      { name: "word", input: "general", expected: "general" },
      { name: "dash and underscore", input: "team-1_chat", expected: "team-1_chat" },
      { name: "leading digit", input: "0day", expected: "0day" },
      { name: "48 characters", input: id48, expected: id48 },
    ],
    [
      { name: "empty", input: "", code: "invalid_room_id" },
      { name: "uppercase", input: "General", code: "invalid_room_id" },
      { name: "all uppercase", input: "LOBBY", code: "invalid_room_id" },
      { name: "leading dash", input: "-lobby", code: "invalid_room_id" },
      { name: "leading underscore", input: "_lobby", code: "invalid_room_id" },
      { name: "49 characters", input: id48 + "c", code: "invalid_room_id" },
      { name: "dot dot", input: "..", code: "invalid_room_id" },
      { name: "dot inside", input: "a.b", code: "invalid_room_id" },
      { name: "encoded slash", input: "%2F", code: "invalid_room_id" },
      { name: "slash", input: "a/b", code: "invalid_room_id" },
      { name: "space", input: "a b", code: "invalid_room_id" },
      { name: "leading space", input: " lobby", code: "invalid_room_id" },
      { name: "trailing newline", input: "lobby\n", code: "invalid_room_id" },
      { name: "accented letter", input: "caf\u00e9", code: "invalid_room_id" },
      { name: "number", input: 42, code: "invalid_room_id" },
      { name: "null", input: null, code: "invalid_room_id" },
      { name: "undefined", input: undefined, code: "invalid_room_id" },
      { name: "array", input: ["lobby"], code: "invalid_room_id" },
    ],
  );
});

for (
  const [parse, field, max] of [
    [parseTitle, "title", MAX_TITLE_LENGTH],
    [parseAuthor, "author", MAX_AUTHOR_LENGTH],
  ] as const
) {
  const code = `invalid_${field}`;
  Deno.test(`${parse.name} - trims and checks a one-line ${field} of 1 to ${max} characters`, () => {
    assert.equal(max, field === "title" ? 80 : 32);
    const longest = "x".repeat(max);
    runTable(
      parse,
      [
        { name: "plain", input: "Ada Lovelace", expected: "Ada Lovelace" },
        { name: "trimmed", input: "  Ada  ", expected: "Ada" },
        { name: "trimmed tab and newline", input: "\tAda\r\n", expected: "Ada" },
        { name: "a run of spaces made one", input: "a  b", expected: "a b" },
        { name: "no-break spaces made ordinary", input: "a\u00a0b\u202fc", expected: "a b c" },
        {
          name: "a narrow no-break space before a Mongolian suffix kept",
          input: "\u182e\u1823\u1829\u202f\u1824\u1828",
          expected: "\u182e\u1823\u1829\u202f\u1824\u1828",
        },
        {
          name: "an iPhone's extra emoji selector dropped",
          input: "Leo \u26bd\ufe0f",
          expected: "Leo \u26bd",
        },
        {
          name: "an ideographic space kept",
          input: "\u5c71\u7530\u3000\u592a",
          expected: "\u5c71\u7530\u3000\u592a",
        },
        { name: "one character", input: "a", expected: "a" },
        { name: `${max} characters`, input: longest, expected: longest },
        { name: `${max} characters once trimmed`, input: `  ${longest}  `, expected: longest },
        { name: `${max} emoji`, input: emoji.repeat(max), expected: emoji.repeat(max) },
        { name: "non-Latin", input: "\u0417\u043e\u044f", expected: "\u0417\u043e\u044f" },
        {
          name: "right-to-left",
          input: "\u05e9\u05dc\u05d5\u05dd",
          expected: "\u05e9\u05dc\u05d5\u05dd",
        },
        {
          name: "emoji joined by ZWJ",
          input: "\u{1f469}\u200d\u{1f4bb}",
          expected: "\u{1f469}\u200d\u{1f4bb}",
        },
        { name: "emoji and variation selector", input: "\u2764\ufe0f", expected: "\u2764\ufe0f" },
        {
          name: "Persian with a zero-width non-joiner",
          input: "\u06af\u0641\u062a\u200c\u0648\u06af\u0648",
          expected: "\u06af\u0641\u062a\u200c\u0648\u06af\u0648",
        },
      ],
      [
        { name: "empty", input: "", code },
        { name: "only spaces", input: "   ", code },
        { name: "only whitespace", input: " \t\n ", code },
        { name: `${max + 1} characters`, input: "x".repeat(max + 1), code },
        { name: `${max + 1} emoji`, input: emoji.repeat(max + 1), code },
        { name: "inner tab", input: "a\tb", code },
        { name: "inner newline", input: "a\nb", code },
        { name: "inner carriage return", input: "a\rb", code },
        { name: "NUL", input: "a\u0000b", code },
        { name: "escape", input: "a\u001b[31mb", code },
        { name: "DEL", input: "a\u007f", code },
        { name: "C1 control", input: "a\u0085b", code },
        { name: "only a zero-width space", input: "\u200b", code },
        { name: "a zero-width space after a name", input: "ann\u200b", code },
        { name: "a soft hyphen", input: "\u00adann", code },
        { name: "only a Hangul filler", input: "\u3164", code },
        { name: "only a halfwidth Hangul filler", input: "\uffa0", code },
        { name: "only a blank braille pattern", input: "\u2800", code },
        { name: "only a variation selector", input: "\ufe0f", code },
        { name: "a variation selector after a name", input: "ann\ufe0f", code },
        { name: "a zero-width joiner inside a name", input: "an\u200dn", code },
        { name: "only format characters and spaces", input: "\u200b \u2060\u00a0", code },
        { name: "right-to-left override", input: "\u202eevil", code },
        { name: "left-to-right isolate", input: "ann\u2066x", code },
        { name: "number", input: 7, code },
        { name: "null", input: null, code },
        { name: "undefined", input: undefined, code },
        { name: "object", input: { name: "Ada" }, code },
      ],
    );
  });
}

Deno.test("parseText - counts characters as code points, up to 4000", () => {
  assert.equal(MAX_TEXT_LENGTH, 4000);
  const emoji4000 = emoji.repeat(4000);
  assert.equal(emoji4000.length, 8000);
  // 1999 lines of "a" plus "ab": 4000 characters once CRLF becomes LF, 5999 before.
  const crlf = "a\r\n".repeat(1999) + "ab";
  runTable(
    parseText,
    [
      { name: "4000 characters", input: "x".repeat(4000), expected: "x".repeat(4000) },
      { name: "4000 emoji", input: emoji4000, expected: emoji4000 },
      {
        name: "3999 characters and an emoji",
        input: "x".repeat(3999) + emoji,
        expected: "x".repeat(3999) + emoji,
      },
      {
        name: "4000 characters once trimmed",
        input: `  ${"x".repeat(4000)}\n\n`,
        expected: "x".repeat(4000),
      },
      {
        name: "4000 characters once CRLF is normalised",
        input: crlf,
        expected: crlf.replace(/\r/g, ""),
      },
    ],
    [
      { name: "4001 characters", input: "x".repeat(4001), code: "text_too_long" },
      { name: "4001 emoji", input: emoji.repeat(4001), code: "text_too_long" },
      {
        name: "4000 characters and an emoji",
        input: "x".repeat(4000) + emoji,
        code: "text_too_long",
      },
    ],
  );
  const error = assertRefused(() => parseText("x".repeat(4001)), "text_too_long", "message");
  assert.match(error.message, /4001/);
});

Deno.test("parseText - normalises line endings, keeps tabs and newlines, refuses other controls", () => {
  runTable(
    parseText,
    [
      { name: "plain", input: "hello", expected: "hello" },
      { name: "trimmed", input: "  hello \n", expected: "hello" },
      { name: "CRLF", input: "a\r\nb\r\nc", expected: "a\nb\nc" },
      { name: "lone CR", input: "a\rb", expected: "a\nb" },
      { name: "CR CR LF", input: "a\r\r\nb", expected: "a\n\nb" },
      {
        name: "tabs and newlines",
        input: "col1\tcol2\nrow2\t\tx",
        expected: "col1\tcol2\nrow2\t\tx",
      },
      { name: "blank lines inside", input: "a\n\n\nb", expected: "a\n\n\nb" },
      { name: "inner spaces kept", input: "a   b", expected: "a   b" },
      { name: "markup is text", input: "<b>&amp;</b>", expected: "<b>&amp;</b>" },
      { name: "emoji", input: `hi ${emoji}`, expected: `hi ${emoji}` },
      {
        name: "an isolate around right-to-left words",
        input: "she said \u2067\u05e9\u05dc\u05d5\u05dd\u2069 twice",
        expected: "she said \u2067\u05e9\u05dc\u05d5\u05dd\u2069 twice",
      },
    ],
    [
      { name: "empty", input: "", code: "empty_text" },
      { name: "only spaces", input: "    ", code: "empty_text" },
      { name: "only newlines", input: "\r\n\r\n\n", code: "empty_text" },
      { name: "only tabs", input: "\t\t", code: "empty_text" },
      { name: "only zero-width spaces", input: "\u200b\u200b", code: "empty_text" },
      {
        name: "a right-to-left override faking a link",
        input: "get it: \u202ehttps://evil.example/?exe.putes/moc.tfosorcim//:sptth",
        code: "invalid_text",
      },
      { name: "a left-to-right embedding", input: "a \u202ab\u202c", code: "invalid_text" },
      { name: "only Hangul fillers and a newline", input: "\u3164\n\u3164", code: "empty_text" },
      { name: "only blank braille patterns", input: "\u2800 \u2800", code: "empty_text" },
      { name: "NUL", input: "a\u0000b", code: "invalid_text" },
      { name: "bell", input: "a\u0007b", code: "invalid_text" },
      { name: "backspace", input: "a\bb", code: "invalid_text" },
      { name: "escape", input: "a\u001b[2Jb", code: "invalid_text" },
      { name: "DEL", input: "a\u007fb", code: "invalid_text" },
      { name: "C1 control", input: "a\u0085b", code: "invalid_text" },
      { name: "control at the end", input: "hello\u0001", code: "invalid_text" },
      { name: "number", input: 1, code: "invalid_text" },
      { name: "null", input: null, code: "invalid_text" },
      { name: "undefined", input: undefined, code: "invalid_text" },
      { name: "array", input: ["hi"], code: "invalid_text" },
    ],
  );
});

Deno.test("parseClientId - accepts 1 to 64 letters, digits, '-' and '_', or nothing", () => {
  const id64 = "A".repeat(32) + "z9_-".repeat(8);
  assert.equal(id64.length, 64);
  runTable(
    parseClientId,
    [
      { name: "undefined", input: undefined, expected: undefined },
      { name: "null", input: null, expected: undefined },
      { name: "one character", input: "a", expected: "a" },
      { name: "mixed case", input: "Msg-01_x", expected: "Msg-01_x" },
      {
        name: "uuid",
        input: "0b4e7a9c-3f2d-4c6b-9e1a-5d8f7c6b5a49",
        expected: "0b4e7a9c-3f2d-4c6b-9e1a-5d8f7c6b5a49",
      },
      { name: "64 characters", input: id64, expected: id64 },
    ],
    [
      { name: "empty", input: "", code: "invalid_id" },
      { name: "65 characters", input: id64 + "x", code: "invalid_id" },
      { name: "dot (server-made ids use one)", input: "srv.abc", code: "invalid_id" },
      { name: "space", input: "a b", code: "invalid_id" },
      { name: "slash", input: "a/b", code: "invalid_id" },
      { name: "trailing newline", input: "abc\n", code: "invalid_id" },
      { name: "accented letter", input: "caf\u00e9", code: "invalid_id" },
      { name: "number", input: 5, code: "invalid_id" },
      { name: "boolean", input: true, code: "invalid_id" },
      { name: "object", input: {}, code: "invalid_id" },
    ],
  );
});

Deno.test("expectObject - accepts plain objects only", () => {
  const body = { text: "hi" };
  assert.equal(expectObject(body), body);
  assert.deepEqual(expectObject({}), {});
  const refuses: Refuses[] = [
    { name: "null", input: null, code: "invalid_body" },
    { name: "array", input: [{ text: "hi" }], code: "invalid_body" },
    { name: "string", input: "hi", code: "invalid_body" },
    { name: "number", input: 3, code: "invalid_body" },
    { name: "boolean", input: false, code: "invalid_body" },
    { name: "undefined", input: undefined, code: "invalid_body" },
  ];
  for (const { name, input, code } of refuses) assertRefused(() => expectObject(input), code, name);
});

Deno.test("parseCount - parses optional non-negative integers of up to 15 digits", () => {
  const accepts: [string | undefined, number | undefined][] = [
    [undefined, undefined],
    ["", undefined],
    ["0", 0],
    ["7", 7],
    ["42", 42],
    ["007", 7],
    ["999999999999999", 999_999_999_999_999],
  ];
  for (const [input, expected] of accepts) {
    assert.equal(parseCount(input, "limit", "invalid_limit"), expected, `input ${input}`);
  }
  const refuses = [
    "-1",
    "1.5",
    "1e3",
    "0x10",
    "+1",
    " 1",
    "1 ",
    "abc",
    "1,000",
    "1000000000000000",
    "Infinity",
    "NaN",
    "\u0661", // Arabic-Indic digit one
  ];
  for (const input of refuses) {
    const error = assertRefused(
      () => parseCount(input, "limit", "invalid_limit"),
      "invalid_limit",
      `input ${JSON.stringify(input)}`,
    );
    assert.match(error.message, /limit/);
  }
  // The code is the caller's.
  assertRefused(() => parseCount("x", "after", "invalid_after"), "invalid_after", "custom code");
});

Deno.test("parseCursor - parses an optional seq from 0 up to the head", () => {
  const accepts: [string | undefined | null, number | undefined][] = [
    [undefined, undefined],
    [null, undefined],
    ["", undefined],
    ["0", 0],
    ["5", 5],
    ["10", 10],
  ];
  for (const [input, expected] of accepts) {
    assert.equal(parseCursor(input, "after", 10), expected, `input ${input}`);
  }
  for (const input of ["11", "1000", "-1", "1.0", "abc", " 3"]) {
    const error = assertRefused(
      () => parseCursor(input, "after", 10),
      "invalid_cursor",
      `input ${JSON.stringify(input)}`,
    );
    assert.match(error.message, /after/);
  }
  assert.equal(parseCursor("0", "before", 0), 0);
  assertRefused(() => parseCursor("1", "before", 0), "invalid_cursor", "beyond an empty room");
});

Deno.test("parseAuthor - a bidi override is refused for changing the direction of text", () => {
  assert.throws(() => parseAuthor("\u202eevil"), {
    message: "The display name must not contain characters that change the direction of text",
  });
  assert.throws(() => parseAuthor("ann\u200b"), {
    message: "The display name must not contain invisible characters such as U+200B",
  });
});

Deno.test("suggestRoomId - makes a room id of what was typed, or nothing", () => {
  assert.equal(suggestRoomId("My Room!"), "my-room");
  assert.equal(suggestRoomId("Café crème"), "cafe-creme");
  assert.equal(suggestRoomId("  --Release train Q3--  "), "release-train-q3");
  assert.equal(suggestRoomId("a".repeat(60)), "a".repeat(48));
  assert.equal(suggestRoomId("日本語"), undefined);
  assert.equal(suggestRoomId("!!!"), undefined);
});
