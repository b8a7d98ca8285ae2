import assert from "node:assert/strict";
import { dropNoOps, findInvisibleCharacter } from "./invisible_characters.ts";

const kept: [string, string][] = [
  ["Persian with a zero-width non-joiner", "\u06af\u0641\u062a\u200c\u0648\u06af\u0648"],
  ["Urdu with a zero-width non-joiner", "\u0645\u06cc\u06ba\u200c\u0646\u06d2"],
  ["Hindi half form with a zero-width joiner", "\u0915\u094d\u200d\u0937"],
  ["Malayalam visible virama with a zero-width non-joiner", "\u0d28\u0d4d\u200c\u0d28"],
  ["Malayalam chillu written with a zero-width joiner", "\u0d05\u0d30\u0d41\u0d23\u0d4d\u200d"],
  [
    "Malayalam name of two words ending in a chillu",
    "\u0d15\u0d3f\u0d30\u0d23\u0d4d\u200d \u0d15\u0d41",
  ],
  ["Bengali khanda ta written with a zero-width joiner", "\u09ad\u0997\u09ac\u09a4\u09cd\u200d"],
  ["Mongolian with a free variation selector", "\u182d\u180b\u1820"],
  ["Mongolian with a zero-width joiner", "\u182d\u200d\u1820"],
  ["Sinhala Sri with a zero-width joiner", "\u0dc1\u0dca\u200d\u0dbb\u0dd3"],
  ["Bengali ya-phala with a zero-width joiner before the virama", "\u09b0\u200d\u09cd\u09af"],
  ["Khmer ZWNJ keeping a register shifter up", "\u1794\u17ca\u200c\u17b8"],
  ["emoji joined by ZWJ", "\u{1f469}\u200d\u{1f4bb}"],
  ["emoji with a skin tone joined by ZWJ", "\u{1f469}\u{1f3fd}\u200d\u{1f680}"],
  ["rainbow flag", "\u{1f3f3}\ufe0f\u200d\u{1f308}"],
  ["emoji presentation selector", "\u2764\ufe0f"],
  ["text presentation selector", "\u263a\ufe0e"],
  ["keycap", "1\ufe0f\u20e3"],
  ["England flag", "\u{1f3f4}\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}"],
  ["ideographic variation selector", "\u845b\u{e0100}"],
  ["plain Latin", "Ada Lovelace"],
];

for (const [name, text] of kept) {
  Deno.test(`findInvisibleCharacter - keeps ${name}`, () => {
    assert.equal(findInvisibleCharacter(text), undefined);
  });
}

const found: [string, string, string][] = [
  ["a zero-width space after a name", "ann\u200b", "\u200b"],
  ["a zero-width joiner between Latin letters", "an\u200dn", "\u200d"],
  ["a zero-width non-joiner between Latin letters", "an\u200cn", "\u200c"],
  ["a zero-width non-joiner at the end of Persian", "\u0639\u0644\u06cc\u200c", "\u200c"],
  ["a variation selector after a Latin letter", "ann\ufe0f", "\ufe0f"],
  ["a keycap selector without its keycap", "ann1\ufe0f", "\ufe0f"],
  ["a tag after a Latin letter", "ann\u{e0061}", "\u{e0061}"],
  ["a cancel tag alone", "ann\u{e007f}", "\u{e007f}"],
  ["a ZWJ after an emoji with nothing to join", "\u{1f600}\u200d", "\u200d"],
  ["an ideographic variation selector after a Latin letter", "a\u{e0100}", "\u{e0100}"],
  ["a Mongolian selector after a Latin letter", "an\u180bn", "\u180b"],
  ["a soft hyphen", "\u00adann", "\u00ad"],
  ["a Hangul filler inside a name", "a\u3164b", "\u3164"],
  ["a blank braille pattern", "ann\u2800", "\u2800"],
  ["a second Mongolian selector", "\u1820\u180b\u180b\u1820", "\u180b"],
  ["a Mongolian selector after a narrow no-break space", "ann\u202f\u180bbob", "\u180b"],
  ["a joiner after a narrow no-break space", "ann\u202f\u200cbob", "\u200c"],
  ["a joiner between Arabic and Latin letters", "\u0628\u200cann", "\u200c"],
  ["a joiner after a danda", "ann\u0964\u200cbob", "\u200c"],
  ["an emoji selector inside a Chinese name", "\u674e\ufe0f\u660e", "\ufe0f"],
  ["a variation selector after an ASCII symbol", "a+\ufe00b", "\ufe00"],
  ["an emoji selector after an ASCII symbol", "ann|\ufe0f", "\ufe0f"],
  ["a standardised-variant selector after an emoji", "\u{1f600}\ufe00", "\ufe00"],
  ["a keycap selector after a letter", "a\ufe0f\u20e3", "\ufe0f"],
  ["a tag after a black flag without a cancel tag", "ann\u{1f3f4}\u{e0061}", "\u{e0061}"],
  ["a space tag in a flag sequence", "ann\u{1f3f4}\u{e0020}\u{e007f}", "\u{e0020}"],
  ["tags spelling no flag", "\u{1f3f4}\u{e007a}\u{e007a}\u{e007f}", "\u{e007a}"],
  ["a zero-width non-joiner between Devanagari letters", "\u0928\u200c\u092e\u0928", "\u200c"],
  ["a zero-width joiner after a Devanagari vowel sign", "\u0930\u093e\u200d\u092e", "\u200d"],
  ["a zero-width non-joiner after a final virama", "\u0913\u092e\u094d\u200c", "\u200c"],
  ["an emoji selector after an emoji drawn as emoji anyway", "\u{1f600}\ufe0f", "\ufe0f"],
  ["an emoji selector after a skin tone", "\u{1f44d}\u{1f3fd}\ufe0f", "\ufe0f"],
  ["a zero-width space between Latin words", "ann\u200bbob", "\u200b"],
];

for (const [name, text, hidden] of found) {
  Deno.test(`findInvisibleCharacter - finds ${name}`, () => {
    assert.equal(findInvisibleCharacter(text), hidden);
  });
}

const noOps: [string, string, string][] = [
  ["an iPhone's VS16 after an emoji drawn as emoji anyway", "Leo \u26bd\ufe0f", "Leo \u26bd"],
  [
    "a word break in Thai",
    "\u0e2a\u0e21\u200b\u0e0a\u0e32\u0e22",
    "\u0e2a\u0e21\u0e0a\u0e32\u0e22",
  ],
  [
    "a word break in Khmer",
    "\u179f\u17bb\u1781\u200b\u179f\u17b6",
    "\u179f\u17bb\u1781\u179f\u17b6",
  ],
  [
    "ZWNJ after a virama ending a word",
    "\u0d05\u0d30\u0d41\u0d23\u0d4d\u200c \u0d15",
    "\u0d05\u0d30\u0d41\u0d23\u0d4d \u0d15",
  ],
];

for (const [name, text, expected] of noOps) {
  Deno.test(`dropNoOps - drops ${name}`, () => {
    assert.equal(dropNoOps(text), expected);
  });
}

Deno.test("dropNoOps - keeps what does something, and what hides in Latin text", () => {
  for (
    const text of ["\u2764\ufe0f Lu", "#\ufe0f\u20e3", "\u0915\u094d\u200c\u0937", "ann\u200bbob"]
  ) {
    assert.equal(dropNoOps(text), text);
  }
});
