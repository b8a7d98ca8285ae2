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

/**
 * Trims punctuation that ends the sentence, and closing brackets the URL did not open. Each
 * bracket is counted once, so trimming a candidate of thousands of brackets stays linear: a
 * message of 4,000 ")" must not take every reader's page (and the server rendering it) seconds.
 */
function trimCandidate(candidate: string): string {
  // Every character that ends a trim, and every bracket counted, is one UTF-16 code unit.
  const counts: Record<string, number> = { "(": 0, ")": 0, "[": 0, "]": 0 };
  for (const character of candidate) if (character in counts) counts[character]++;
  let end = candidate.length;
  while (end > 0) {
    const last = candidate[end - 1];
    if (TRAILING.test(last)) {
      end--;
      continue;
    }
    const open = PAIRS[last];
    if (open !== undefined && counts[open] < counts[last]) {
      counts[last]--;
      end--;
      continue;
    }
    break;
  }
  return candidate.slice(0, end);
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
