import assert from "node:assert/strict";
import { safeHref, type TextToken, tokenize } from "./linkify.ts";

function links(text: string): string[] {
  return tokenize(text).flatMap((token) => token.kind === "link" ? [token.href] : []);
}

function joined(tokens: TextToken[]): string {
  return tokens.map((token) => token.text).join("");
}

Deno.test("tokenize - plain text is one text token", () => {
  assert.deepEqual(tokenize("hello there"), [{ kind: "text", text: "hello there" }]);
  assert.deepEqual(tokenize(""), []);
});

Deno.test("tokenize - an http(s) URL becomes a link between text", () => {
  assert.deepEqual(tokenize("see https://example.com/a?b=1#c now"), [
    { kind: "text", text: "see " },
    { kind: "link", text: "https://example.com/a?b=1#c", href: "https://example.com/a?b=1#c" },
    { kind: "text", text: " now" },
  ]);
  assert.deepEqual(links("http://example.org"), ["http://example.org/"]);
  assert.deepEqual(links("HTTPS://EXAMPLE.COM/X"), ["https://example.com/X"]);
});

Deno.test("tokenize - javascript:, data: and other schemes stay text", () => {
  for (
    const text of [
      "javascript:alert(1)",
      "JavaScript:alert(document.cookie)",
      "data:text/html,<script>alert(1)</script>",
      "vbscript:msgbox",
      "ftp://example.com/file",
      "mailto:ann@example.com",
      "file:///etc/passwd",
    ]
  ) {
    assert.deepEqual(tokenize(text), [{ kind: "text", text }], text);
  }
});

Deno.test("tokenize - a link inside javascript: text links only the http part", () => {
  const tokens = tokenize("javascript:https://example.com");
  assert.deepEqual(tokens, [
    { kind: "text", text: "javascript:" },
    { kind: "link", text: "https://example.com", href: "https://example.com/" },
  ]);
});

Deno.test("tokenize - sentence punctuation after a URL is not part of it", () => {
  assert.deepEqual(links("Read https://example.com/docs."), ["https://example.com/docs"]);
  assert.deepEqual(links("(see https://example.com/x), then"), ["https://example.com/x"]);
  assert.deepEqual(links("is it https://example.com/?"), ["https://example.com/"]);
  assert.deepEqual(links("“https://example.com/q”"), ["https://example.com/q"]);
  assert.deepEqual(links("«https://example.com/x»"), ["https://example.com/x"]);
  assert.deepEqual(links("see https://example.com/path…"), ["https://example.com/path"]);
  assert.deepEqual(links("見て https://example.com/ja。次"), ["https://example.com/ja"]);
  assert.deepEqual(links("https://example.com/a、https://example.com/b"), [
    "https://example.com/a",
    "https://example.com/b",
  ]);
});

Deno.test("tokenize - balanced brackets inside a URL are kept", () => {
  assert.deepEqual(links("https://en.wikipedia.org/wiki/Parley_(film)"), [
    "https://en.wikipedia.org/wiki/Parley_(film)",
  ]);
  assert.deepEqual(links("(https://en.wikipedia.org/wiki/Parley_(film))"), [
    "https://en.wikipedia.org/wiki/Parley_(film)",
  ]);
});

Deno.test("tokenize - markup characters end a URL and stay text", () => {
  const text = `https://example.com/"><img src=x onerror=alert(1)>`;
  const tokens = tokenize(text);
  assert.equal(joined(tokens), text);
  assert.deepEqual(links(text), ["https://example.com/"]);
});

Deno.test("tokenize - a scheme glued to a word is not a link", () => {
  assert.deepEqual(links("xhttps://example.com"), []);
  assert.deepEqual(links("https://"), []);
  assert.deepEqual(links("http://."), []);
});

Deno.test("tokenize - several links and newlines round-trip to the same text", () => {
  const text = "a https://a.example\nb http://b.example/path,\nc https://c.example:8080/x y";
  const tokens = tokenize(text);
  assert.equal(joined(tokens), text);
  assert.deepEqual(links(text), [
    "https://a.example/",
    "http://b.example/path",
    "https://c.example:8080/x",
  ]);
});

Deno.test("safeHref - only http and https URLs with a host pass", () => {
  assert.equal(safeHref("https://example.com/a b"), "https://example.com/a%20b");
  assert.equal(safeHref("javascript:alert(1)"), null);
  assert.equal(safeHref("http://"), null);
  assert.equal(safeHref("not a url"), null);
});

Deno.test("tokenize - a URL of thousands of closing brackets takes linear time", () => {
  // Trimming once counted the brackets again for each one it took off: 85 ms for one message
  // of 4,000, seconds for a room page of 50, on the server and in every reader's browser.
  for (const bracket of [")", "]"]) {
    const text = `https://example.com/${bracket.repeat(20_000)}`;
    const start = performance.now();
    const tokens = tokenize(text);
    const ms = performance.now() - start;
    assert.deepEqual(links(text), ["https://example.com/"]);
    assert.equal(joined(tokens), text);
    // Not a speed target: the quadratic trim took 21 s here, a linear one takes milliseconds.
    assert.ok(ms < 5_000, `tokenize took ${ms.toFixed(0)} ms for 20,000 "${bracket}"`);
  }
  assert.deepEqual(links("https://example.com/a_(b)c)"), ["https://example.com/a_(b)c"]);
  assert.deepEqual(links("https://example.com/[a]])."), ["https://example.com/[a]"]);
});
