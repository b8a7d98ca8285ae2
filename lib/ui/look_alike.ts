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

/** Cherokee capitals drawn like Latin capitals. */
const CHEROKEE = "ᎠD ᎡR ᎢT ᎩY ᎪA ᎫJ ᎬE ᎳW ᎷM ᎻH ᏀG ᏃZ ᏒR ᏚS ᏞL ᏟC ᏢP ᏦK ᏴB ᏙV";

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
  // Other scripts' letters drawn like Latin small ones: Armenian and others, Latin small capitals.
  "ıi ɑa ϲc κk օo սu հh ոn ցg ɡg ƅb",
  "ᴀa ʙb ᴄc ᴅd ᴇe ɢg ʜh ɪi ᴊj ᴋk ʟl ᴍm ɴn ᴏo ᴘp ʀr ꜱs ᴛt ᴜu ᴠv ᴡw ʏy ᴢz",
  // Cherokee and Lisu letters drawn like Latin capitals; Cherokee's small letters, drawn as small
  // capitals, like the Latin small ones (a lowered form of "ᎪᏞICE" is made of them).
  CHEROKEE,
  CHEROKEE.toLowerCase(),
  "ꓐB ꓑP ꓓD ꓔT ꓖG ꓗK ꓙJ ꓚC ꓜZ ꓝF ꓟM ꓠN ꓡL ꓢS ꓣR ꓦV ꓧH ꓪW ꓫX ꓬY ꓮA ꓰE ꓲl ꓳO ꓴU",
  // Latin and digits.
  "Il 1l |l 0o 5s",
);

/** Joiners, which change how letters join (in Arabic, say) but are themselves not seen. */
const JOINERS = /[\u200c\u200d]/g;

/** Pairs of small letters drawn like one letter. */
const DRAWN_AS_ONE: [RegExp, string][] = [[/rn/g, "m"], [/vv/g, "w"]];

/** `text` as read: letters drawn like a Latin letter as that letter, small, spaces as one. */
function readAs(text: string): string {
  let form = "";
  for (const character of text) form += DRAWN_LIKE[character] ?? character;
  form = form.toLowerCase().replace(/\s+/g, " ");
  for (const [pair, letter] of DRAWN_AS_ONE) form = form.replace(pair, letter);
  return form;
}

/**
 * The forms a name is read as, from its compatibility form (so full-width and styled letters are
 * plain): one with its letters matched before case is lowered ("BiII" reads as "Bill"), one after
 * ("ivan" as "Ivan", "вера" as "Вера"). Two names look alike when they share a form; one form
 * could not say both without reading every "i" as "l" ("Kai" as "Kal").
 */
export function lookAlikeForms(name: string): string[] {
  const plain = name.normalize("NFKC").replace(JOINERS, "");
  // Marked by kind, so that callers may keep both kinds in one map.
  return [`A${readAs(plain)}`, `a${readAs(plain.toLowerCase())}`];
}
