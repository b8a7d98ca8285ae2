/**
 * Names that look alike: "Sam", "sam", "Ѕаm" (with a Cyrillic Ѕ and а) and "5am" are different
 * names, but a reader takes one for another. The page tags such names as it tags one name two
 * people use.
 *
 * @module
 */

/** A table from space-separated pairs of characters: "аa еe" maps а to a and е to e. */
function pairs(...lines: string[]): Record<string, string> {
  return Object.fromEntries(lines.flatMap((line) => line.split(" ").map((pair) => [...pair])));
}

/**
 * Letters and digits that are drawn like a Latin letter, with that letter: the pairs of Unicode's
 * confusables list that matter for display names. A capital I is drawn like a small l in most
 * fonts, so it and the letters drawn like it map to l.
 */
const DRAWN_LIKE = pairs(
  // Cyrillic capitals, then small letters.
  "АA ВB ЕE ЅS Іl ЈJ КK МM НH ОO РP СC ТT УY ХX ҮY ԚQ ԜW Ӏl",
  "аa еe ѕs іi јj оo рp сc уy хx һh ԁd ԛq ԝw ӏl үy",
  // Greek capitals, then small letters.
  "ΑA ΒB ΕE ΖZ ΗH Ιl ΚK ΜM ΝN ΟO ΡP ΤT ΥY ΧX",
  "αa ιi νv οo ρp υu",
  // Latin and digits.
  "Il 1l |l 0o 5s",
);

/** Pairs of small letters drawn like one letter. */
const DRAWN_AS_ONE: [RegExp, string][] = [[/rn/g, "m"], [/vv/g, "w"]];

/**
 * The form a name is read as: its compatibility form (so full-width and styled letters are
 * plain), with letters drawn like a Latin letter as that letter, in small letters and without
 * spaces. Two names with one form look alike.
 */
export function lookAlike(name: string): string {
  let form = "";
  for (const character of name.normalize("NFKC")) form += DRAWN_LIKE[character] ?? character;
  form = form.toLowerCase().replace(/\s+/g, "");
  for (const [pair, letter] of DRAWN_AS_ONE) form = form.replace(pair, letter);
  return form;
}
