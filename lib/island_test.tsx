import assert from "node:assert/strict";
import { renderToString } from "preact-render-to-string";
import { Island, type IslandRecord, serializeIslands } from "./island.tsx";
import { renderPage } from "./render_page.tsx";

const HOSTILE = [
  "</script><script>alert(1)</script>",
  "</SCRIPT >",
  "<!-- comment -->",
  "<!--<script>",
  "a & b > c < d",
  "&amp;&lt;&gt;",
  "]]>",
  "\u2028line\u2029paragraph",
  "back\\slash \\u003c and \\<",
  "quote \" and ' apostrophe",
  "emoji \u{1F600} and \u0000 NUL",
];

const ISLANDS: IslandRecord[] = [
  { name: "ChatRoom", props: { room: "lobby", title: HOSTILE[0], messages: HOSTILE } },
  {
    name: "Composer",
    props: {
      nested: { deep: [{ text: "</script>" }, { text: "<!--" }], n: 3, ok: true, none: null },
      "<key>&": "value in a key",
    },
  },
  { name: "</script>", props: "<!--" },
];

function assertSafe(serialized: string): void {
  for (const forbidden of ["</script>", "</SCRIPT", "<!--", "<", ">", "&", "\u2028", "\u2029"]) {
    assert.ok(!serialized.includes(forbidden), `the output contains ${JSON.stringify(forbidden)}`);
  }
}

Deno.test("serializeIslands - escapes every character that could end the script element", () => {
  const serialized = serializeIslands(ISLANDS);
  assertSafe(serialized);
  // The raw output still names the escapes it used.
  assert.ok(serialized.includes("\\u003c/script\\u003e"));
  assert.ok(serialized.includes("\\u0026"));
});

Deno.test("serializeIslands - JSON.parse round-trips to the original islands", () => {
  assert.deepEqual(JSON.parse(serializeIslands(ISLANDS)), ISLANDS);
  for (const text of HOSTILE) {
    const islands: IslandRecord[] = [{ name: "One", props: { text } }];
    const serialized = serializeIslands(islands);
    assertSafe(serialized);
    assert.deepEqual(JSON.parse(serialized), islands, `round trip of ${JSON.stringify(text)}`);
  }
  assert.deepEqual(JSON.parse(serializeIslands([])), []);
});

function Echo({ text }: { text: string }) {
  return <p class="echo">{text}</p>;
}

Deno.test("renderPage - writes island props once as safe JSON after the body", async () => {
  const props = { text: "</script><!-- & <b>" };
  const response = renderPage({
    title: "Test",
    body: (
      <main>
        <Island name="Echo" component={Echo} props={props} />
        <Island name="Echo" component={Echo} props={{ text: "second" }} />
      </main>
    ),
  });
  assert.equal(response.status, 200);
  const html = await response.text();

  const open = '<script type="application/json" id="parley-islands">';
  const start = html.indexOf(open);
  assert.ok(start >= 0, "no islands script");
  const end = html.indexOf("</script>", start);
  const json = html.slice(start + open.length, end);
  assertSafe(json);
  assert.deepEqual(JSON.parse(json), [
    { name: "Echo", props },
    { name: "Echo", props: { text: "second" } },
  ]);

  // The island renders server-side inside its marker, with its text escaped as HTML.
  assert.ok(html.includes('<div data-island="Echo" data-island-index="0">'));
  assert.ok(html.includes('<div data-island="Echo" data-island-index="1">'));
  assert.ok(!html.includes(props.text), "the props text appears unescaped");
  assert.ok(html.includes("&lt;/script"));
  assert.ok(html.includes("&amp;"));
  // Only our two script elements end in the page: the JSON one and the bundle.
  assert.equal(html.split("</script>").length - 1, 2);
});

Deno.test("renderPage - ships no script when the page has no islands", async () => {
  const html = await renderPage({ title: "Plain", body: <p>hello</p> }).text();
  assert.ok(html.includes("<p>hello</p>"));
  assert.ok(!html.includes("<script"));
});

Deno.test("Island - refuses to render outside renderPage", () => {
  assert.throws(
    () => renderToString(<Island name="Echo" component={Echo} props={{ text: "x" }} />),
    /outside renderPage/,
  );
});
