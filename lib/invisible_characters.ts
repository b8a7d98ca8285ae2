// Characters that show nothing on their own: Unicode's default ignorables (a zero-width space, a
// soft hyphen, a Hangul filler, joiners and selectors) and the blank braille pattern. A name
// holding one where it does nothing can pass for another name.
const SHOWS_NOTHING = /[\p{Default_Ignorable_Code_Point}\u2800]/u;

const ZWNJ = "\u200c";
const ZWJ = "\u200d";
const KEYCAP = "\u20e3";
const BLACK_FLAG = "\u{1f3f4}";
const CANCEL_TAG = 0xe007f;
const MONGOLIAN_VOWEL_SEPARATOR = "\u180e";

/** Regular expressions matching a character of each of `scripts`. */
function scriptPatterns(scripts: readonly string[]): RegExp[] {
  return scripts.map((script) => new RegExp(`\\p{scx=${script}}`, "u"));
}

// Cursive scripts, whose letters join: a zero-width (non-)joiner between two of their letters
// changes how the word is drawn. Persian and Urdu need ZWNJ in everyday words (گفت‌وگو). (Brahmic
// scripts use joiners next to a virama instead; see VIRAMA.)
const CURSIVE_SCRIPTS = scriptPatterns([
  "Arabic",
  "Syriac",
  "Nko",
  "Mandaic",
  "Adlam",
  "Hanifi_Rohingya",
  "Mongolian",
]);
const LETTER_OR_MARK = /[\p{L}\p{M}]/u;
// The viramas (and Myanmar's asat, Khmer's coeng) of Brahmic scripts: a joiner next to one
// chooses a half form or a ligature, and ZWJ after one a chillu at the end of a Malayalam word
// (അരുണ്‍).
const VIRAMA =
  /[\u094d\u09cd\u0a4d\u0acd\u0b4d\u0bcd\u0c4d\u0ccd\u0d3b\u0d3c\u0d4d\u0dca\u0f84\u1039\u103a\u17d2\u1a60\u1b44\u1baa\u1bab\ua9c0]/u;
const KHMER_SHIFTER = /[\u17c9\u17ca]/u;
const PICTOGRAPH = /\p{Extended_Pictographic}/u;
const SKIN_TONE = /\p{Emoji_Modifier}/u;
const EMOJI = /\p{Emoji}/u;
const EMOJI_PRESENTATION = /\p{Emoji_Presentation}/u;
const KEYCAP_BASE = /[0-9#*]/;
// Bases with standardised variants chosen by VS1–VS14: maths symbols beyond ASCII and a few
// scripts. (Emoji take VS15 and VS16; ideographs take the ideographic selectors.)
const VARIANT_BASE = /[\p{scx=Myanmar}\p{scx=Phags_Pa}\p{scx=Manichaean}]|(?![\0-\x7f])\p{Sm}/u;
const IDEOGRAPH = /\p{Ideographic}/u;
const MONGOLIAN_LETTER = /(?=\p{L})\p{scx=Mongolian}/u;

function isTag(codePoint: number): boolean {
  return codePoint >= 0xe0020 && codePoint <= CANCEL_TAG;
}

// The subdivision flags emoji fonts draw (England, Scotland, Wales); other tag runs after the
// black flag show as the black flag alone.
const FLAG_SUBDIVISIONS = new Set(["gbeng", "gbsct", "gbwls"]);

/** Whether `char` and `other` are both letters or marks of one of `scripts`. */
function sameScript(char: string, other: string, scripts: readonly RegExp[]): boolean {
  if (!LETTER_OR_MARK.test(char) || !LETTER_OR_MARK.test(other)) return false;
  return scripts.some((script) => script.test(char) && script.test(other));
}

/**
 * Whether the tag at `index` belongs to a subdivision flag: the black flag, tags spelling one
 * of {@link FLAG_SUBDIVISIONS}, and the cancel tag (🏴 + "gbeng" + cancel tag is England's).
 */
function inFlagSequence(codePoints: readonly number[], chars: readonly string[], index: number) {
  let start = index;
  while (start > 0 && isTag(codePoints[start - 1])) start--;
  let end = index;
  while (end + 1 < codePoints.length && isTag(codePoints[end + 1])) end++;
  const spelling = String.fromCharCode(...codePoints.slice(start, end).map((tag) => tag - 0xe0000));
  return chars[start - 1] === BLACK_FLAG && codePoints[end] === CANCEL_TAG &&
    FLAG_SUBDIVISIONS.has(spelling);
}

/** Whether the invisible character at `index` does its job there, so it may stay. */
function doesSomething(chars: readonly string[], codePoints: readonly number[], index: number) {
  const char = chars[index];
  const codePoint = codePoints[index];
  const before = chars[index - 1] ?? "";
  const after = chars[index + 1] ?? "";
  if (char === ZWNJ || char === ZWJ) {
    // After a virama, ZWNJ keeps the virama visible before the next letter; at a word's end
    // there is nothing to keep apart.
    if (VIRAMA.test(before)) return char === ZWJ || LETTER_OR_MARK.test(after);
    if (VIRAMA.test(after) || sameScript(before, after, CURSIVE_SCRIPTS)) return true;
    // Khmer: ZWNJ keeps a register shifter above its letter when a vowel sign follows (ប៊‌ី).
    if (char === ZWNJ && KHMER_SHIFTER.test(before) && LETTER_OR_MARK.test(after)) return true;
    // An emoji ZWJ sequence: 👩‍💻, 🏳️‍🌈, 👩🏽‍🚀.
    return char === ZWJ && PICTOGRAPH.test(after) &&
      (PICTOGRAPH.test(before) || SKIN_TONE.test(before) || before === "\ufe0f");
  }
  // VS15 and VS16 ask for text or emoji presentation (VS16 does nothing after a character that
  // is drawn as emoji anyway); a keycap is a digit, VS16 and U+20E3.
  if (codePoint === 0xfe0e || codePoint === 0xfe0f) {
    if (KEYCAP_BASE.test(before)) return codePoint === 0xfe0f && after === KEYCAP;
    return EMOJI.test(before) && (codePoint === 0xfe0e || !EMOJI_PRESENTATION.test(before));
  }
  if (codePoint >= 0xfe00 && codePoint <= 0xfe0d) return VARIANT_BASE.test(before);
  if (codePoint >= 0xe0100 && codePoint <= 0xe01ef) return IDEOGRAPH.test(before);
  if (char === MONGOLIAN_VOWEL_SEPARATOR) {
    return MONGOLIAN_LETTER.test(before) && MONGOLIAN_LETTER.test(after);
  }
  // The free variation selectors choose a Mongolian letter's form.
  if (codePoint >= 0x180b && codePoint <= 0x180f) return MONGOLIAN_LETTER.test(before);
  if (isTag(codePoint)) return inFlagSequence(codePoints, chars, index);
  return false;
}

// Invisible characters keyboards and editors put where they change nothing: a zero-width space
// marking a word break in scripts written without spaces (Thai, Khmer, Lao, Myanmar); VS16 after
// an emoji drawn as emoji anyway (iPhones add one to ⚽ and ☕); ZWNJ after a virama that ends a
// word.
const UNSPACED_LETTER = /[\p{scx=Thai}\p{scx=Khmer}\p{scx=Lao}\p{scx=Myanmar}]/u.source;
const NO_OPS = new RegExp(
  [
    `(?<=${UNSPACED_LETTER})\u200b(?=${UNSPACED_LETTER})`,
    `(?<=\\p{Emoji_Presentation})\ufe0f`,
    `(?<=${VIRAMA.source})\u200c(?![\\p{L}\\p{M}])`,
  ].join("|"),
  "gu",
);

/**
 * `text` without the invisible characters keyboards put where they change nothing (see
 * NO_OPS), so that names typed on them are taken, and are the same name as without them.
 */
export function dropNoOps(text: string): string {
  return text.replace(NO_OPS, "");
}

/**
 * The first character of `text` that shows nothing where it stands, such as a zero-width space
 * after a name or a joiner between two Latin letters; undefined when there is none. Joiners
 * inside emoji, after a virama and between letters of one joining script, selectors after a base
 * they vary, and the tags of a subdivision flag do something and are not reported.
 */
export function findInvisibleCharacter(text: string): string | undefined {
  const chars = Array.from(text);
  const codePoints = chars.map((char) => char.codePointAt(0)!);
  return chars.find((char, index) =>
    SHOWS_NOTHING.test(char) && !doesSomething(chars, codePoints, index)
  );
}
