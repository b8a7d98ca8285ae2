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

// Scripts whose letters join or form conjuncts, where a zero-width (non-)joiner between two of
// their letters changes how the word is drawn: Persian and Urdu need ZWNJ in everyday words
// (گفت‌وگو), Indic scripts use both to choose conjunct forms.
const JOINING_SCRIPTS = [
  "Arabic",
  "Syriac",
  "Nko",
  "Mandaic",
  "Adlam",
  "Hanifi_Rohingya",
  "Devanagari",
  "Bengali",
  "Gurmukhi",
  "Gujarati",
  "Oriya",
  "Tamil",
  "Telugu",
  "Kannada",
  "Malayalam",
  "Sinhala",
  "Tibetan",
  "Myanmar",
  "Khmer",
  "Balinese",
  "Javanese",
  "Sundanese",
].map((script) => new RegExp(`\\p{scx=${script}}`, "u"));
const LETTER_OR_MARK = /[\p{L}\p{M}]/u;
// The viramas (and Myanmar's asat) of Brahmic scripts: a joiner right after one chooses a half
// form, or a chillu at the end of a Malayalam word (അരുണ്‍), whatever follows.
const VIRAMA =
  /[\u094d\u09cd\u0a4d\u0acd\u0b4d\u0bcd\u0c4d\u0ccd\u0d3b\u0d3c\u0d4d\u0dca\u0f84\u1039\u103a\u17d2\u1a60\u1b44\u1baa\u1bab\ua9c0]/u;
const PICTOGRAPH = /\p{Extended_Pictographic}/u;
const SKIN_TONE = /\p{Emoji_Modifier}/u;
const EMOJI = /\p{Emoji}/u;
const KEYCAP_BASE = /[0-9#*]/;
// Bases with standardised variants chosen by VS1–VS14: maths symbols beyond ASCII and a few
// scripts. (Emoji take VS15 and VS16; ideographs take the ideographic selectors.)
const VARIANT_BASE = /[\p{scx=Myanmar}\p{scx=Phags_Pa}\p{scx=Manichaean}]|(?![\0-\x7f])\p{Sm}/u;
const IDEOGRAPH = /\p{Ideographic}/u;
const MONGOLIAN_LETTER = /(?=\p{L})\p{scx=Mongolian}/u;

function isTag(codePoint: number): boolean {
  return codePoint >= 0xe0020 && codePoint <= CANCEL_TAG;
}

/** Tags spelling a subdivision: lowercase letters and digits. */
function isSpellingTag(codePoint: number): boolean {
  return (codePoint >= 0xe0030 && codePoint <= 0xe0039) ||
    (codePoint >= 0xe0061 && codePoint <= 0xe007a);
}

/** Whether `char` is a letter or mark of one script that `other` is a letter or mark of too. */
function sameJoiningScript(char: string, other: string): boolean {
  if (!LETTER_OR_MARK.test(char) || !LETTER_OR_MARK.test(other)) return false;
  return JOINING_SCRIPTS.some((script) => script.test(char) && script.test(other));
}

/**
 * Whether the tag at `index` belongs to a subdivision flag: the black flag, 2 to 7 tags spelling
 * the subdivision, and the cancel tag (🏴 + "gbeng" + cancel tag is England's flag).
 */
function inFlagSequence(codePoints: readonly number[], chars: readonly string[], index: number) {
  let start = index;
  while (start > 0 && isTag(codePoints[start - 1])) start--;
  let end = index;
  while (end + 1 < codePoints.length && isTag(codePoints[end + 1])) end++;
  const spelling = codePoints.slice(start, end);
  return chars[start - 1] === BLACK_FLAG && codePoints[end] === CANCEL_TAG &&
    spelling.length >= 2 && spelling.length <= 7 && spelling.every(isSpellingTag);
}

/** Whether the invisible character at `index` does its job there, so it may stay. */
function doesSomething(chars: readonly string[], codePoints: readonly number[], index: number) {
  const char = chars[index];
  const codePoint = codePoints[index];
  const before = chars[index - 1] ?? "";
  const after = chars[index + 1] ?? "";
  if (char === ZWNJ || char === ZWJ) {
    if (VIRAMA.test(before) || sameJoiningScript(before, after)) return true;
    // An emoji ZWJ sequence: 👩‍💻, 🏳️‍🌈, 👩🏽‍🚀.
    return char === ZWJ && PICTOGRAPH.test(after) &&
      (PICTOGRAPH.test(before) || SKIN_TONE.test(before) || before === "\ufe0f");
  }
  // VS15 and VS16 ask for text or emoji presentation; a keycap is a digit, VS16 and U+20E3.
  if (codePoint === 0xfe0e || codePoint === 0xfe0f) {
    if (KEYCAP_BASE.test(before)) return codePoint === 0xfe0f && after === KEYCAP;
    return EMOJI.test(before);
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
