// Characters that show nothing on their own: Unicode's default ignorables (a zero-width space, a
// soft hyphen, a Hangul filler, joiners and selectors) and the blank braille pattern. A name
// holding one where it does nothing can pass for another name.
const SHOWS_NOTHING = /[\p{Default_Ignorable_Code_Point}\u2800]/u;

const ZWNJ = "\u200c";
const ZWJ = "\u200d";
const KEYCAP = "\u20e3";
const CANCEL_TAG = 0xe007f;

// Scripts whose letters join or form conjuncts, where a zero-width (non-)joiner between letters
// changes how the word is drawn: Persian and Urdu need ZWNJ in everyday words (گفت‌وگو).
const JOINING_SCRIPT =
  /[\p{scx=Arabic}\p{scx=Syriac}\p{scx=Nko}\p{scx=Mongolian}\p{scx=Mandaic}\p{scx=Adlam}\p{scx=Hanifi_Rohingya}\p{scx=Devanagari}\p{scx=Bengali}\p{scx=Gurmukhi}\p{scx=Gujarati}\p{scx=Oriya}\p{scx=Tamil}\p{scx=Telugu}\p{scx=Kannada}\p{scx=Malayalam}\p{scx=Sinhala}\p{scx=Tibetan}\p{scx=Myanmar}\p{scx=Khmer}\p{scx=Balinese}\p{scx=Javanese}\p{scx=Sundanese}]/u;
const LETTER_OR_MARK = /[\p{L}\p{M}]/u;
const PICTOGRAPH = /\p{Extended_Pictographic}/u;
const SKIN_TONE = /\p{Emoji_Modifier}/u;
// Bases with standardised variants chosen by VS1–VS16: emoji, CJK ideographs, maths symbols and a
// few scripts.
const VARIANT_BASE =
  /[\p{Extended_Pictographic}\p{Ideographic}\p{Sm}\p{scx=Myanmar}\p{scx=Phags_Pa}\p{scx=Manichaean}]/u;
const IDEOGRAPH = /\p{Ideographic}/u;
const MONGOLIAN = /\p{scx=Mongolian}/u;

function isTag(codePoint: number): boolean {
  return codePoint >= 0xe0020 && codePoint <= CANCEL_TAG;
}

function isVariationSelector(codePoint: number): boolean {
  return codePoint >= 0xfe00 && codePoint <= 0xfe0f;
}

function isIdeographicVariationSelector(codePoint: number): boolean {
  return codePoint >= 0xe0100 && codePoint <= 0xe01ef;
}

function isMongolianSelector(codePoint: number): boolean {
  return codePoint >= 0x180b && codePoint <= 0x180f;
}

/** Whether the invisible `char` at `index` of `chars` does its job there, so it may stay. */
function doesSomething(chars: readonly string[], index: number): boolean {
  const char = chars[index];
  const codePoint = char.codePointAt(0)!;
  const before = chars[index - 1] ?? "";
  const after = chars[index + 1] ?? "";
  if (char === ZWNJ || char === ZWJ) {
    if (JOINING_SCRIPT.test(before) && LETTER_OR_MARK.test(after)) return true;
    // An emoji ZWJ sequence: 👩‍💻, 🏳️‍🌈, 👩🏽‍🚀.
    return char === ZWJ && PICTOGRAPH.test(after) &&
      (PICTOGRAPH.test(before) || SKIN_TONE.test(before) || before === "\ufe0f");
  }
  if (isVariationSelector(codePoint)) {
    return VARIANT_BASE.test(before) || (codePoint === 0xfe0f && after === KEYCAP);
  }
  if (isIdeographicVariationSelector(codePoint)) return IDEOGRAPH.test(before);
  if (isMongolianSelector(codePoint)) return MONGOLIAN.test(before);
  // Tags spell out a subdivision flag after the black flag: 🏴 + "gbeng" + cancel tag.
  if (isTag(codePoint)) {
    const previous = before.codePointAt(0) ?? 0;
    return codePoint === CANCEL_TAG
      ? isTag(previous) && previous !== CANCEL_TAG
      : before === "\u{1f3f4}" || (isTag(previous) && previous !== CANCEL_TAG);
  }
  return false;
}

/**
 * The first character of `text` that shows nothing where it stands, such as a zero-width space
 * after a name or a joiner between two Latin letters; undefined when there is none. Joiners
 * inside emoji and between letters of joining scripts, and selectors after a base they vary,
 * do something and are not reported.
 */
export function findInvisibleCharacter(text: string): string | undefined {
  const chars = Array.from(text);
  return chars.find((char, index) => SHOWS_NOTHING.test(char) && !doesSomething(chars, index));
}
