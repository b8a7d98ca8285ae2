/**
 * Splits message text into plain text and http(s) links, so links can be rendered as elements
 * while everything else stays text. No other markup is recognised.
 *
 * @module
 */

/** A run of message text: plain text, or a link with the text as typed and a safe href. */
export type TextToken =
  | { kind: "text"; text: string }
  | { kind: "link"; text: string; href: string };

// A candidate starts at http:// or https:// and runs to whitespace or a character that cannot
// appear unescaped in a URL a person types in chat, or to full-width punctuation, which Chinese
// and Japanese put no space after.
const CANDIDATE = /https?:\/\/[^\s<>"`{}|\\^。、，！？：；「」『』（）]+/giu;
// Punctuation that usually ends the sentence around a link rather than the link itself: also
// guillemets and an ellipsis.
const TRAILING = /[.,;:!?'’”*»›…]$/u;
const PAIRS: Record<string, string> = { ")": "(", "]": "[" };
const WORD_CHARACTER = /[\p{L}\p{N}_]/u;

/** Trims punctuation that ends the sentence, and closing brackets the URL did not open. */
function trimCandidate(candidate: string): string {
  let url = candidate;
  for (;;) {
    const last = url.at(-1) ?? "";
    if (TRAILING.test(last)) {
      url = url.slice(0, -1);
      continue;
    }
    const open = PAIRS[last];
    if (open !== undefined && count(url, open) < count(url, last)) {
      url = url.slice(0, -1);
      continue;
    }
    return url;
  }
}

function count(text: string, character: string): number {
  return text.split(character).length - 1;
}

/** The normalised href of an http(s) URL with a host, or null for anything else. */
export function safeHref(candidate: string): string | null {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  if (url.hostname === "") return null;
  return url.href;
}

/**
 * Splits `text` into tokens. Only `http://` and `https://` URLs with a host become links;
 * `javascript:`, `data:` and every other scheme stay text. Concatenating the tokens' `text`
 * always gives back `text` unchanged.
 */
export function tokenize(text: string): TextToken[] {
  const tokens: TextToken[] = [];
  let plain = "";
  let position = 0;
  for (const match of text.matchAll(CANDIDATE)) {
    const start = match.index;
    // "xhttp://" is part of a word, not a link.
    if (start > 0 && WORD_CHARACTER.test(text[start - 1])) continue;
    const url = trimCandidate(match[0]);
    const href = safeHref(url);
    if (href === null) continue;
    plain += text.slice(position, start);
    if (plain) tokens.push({ kind: "text", text: plain });
    plain = "";
    tokens.push({ kind: "link", text: url, href });
    position = start + url.length;
  }
  plain += text.slice(position);
  if (plain) tokens.push({ kind: "text", text: plain });
  return tokens;
}
