/**
 * The stylesheet's text colours against its backgrounds, light and dark: small text (times,
 * hints, placeholders) must meet WCAG AA's 4.5:1, and so must the avatars' initials. The edges
 * of text fields, all that shows where a field is, must meet 3:1 (WCAG 1.4.11).
 *
 * @module
 */
import assert from "node:assert/strict";

const CSS = await Deno.readTextFile(new URL("../static/styles.css", import.meta.url));
const DARK = CSS.indexOf("@media (prefers-color-scheme: dark)");

/** The `--name: #rrggbb` custom properties of the first `:root` block from `from`. */
function palette(from: number): Map<string, string> {
  const block = CSS.slice(
    CSS.indexOf(":root {", from),
    CSS.indexOf("}", CSS.indexOf(":root {", from)),
  );
  return new Map(
    [...block.matchAll(/--([a-z0-9-]+):\s*(#[0-9a-f]{6});/g)].map((m) => [m[1], m[2]]),
  );
}

/** The `.hue-N` avatar backgrounds in the order the stylesheet gives them: light, then dark. */
function hues(): string[] {
  return [...CSS.matchAll(/\.hue-\d \{\s*background: (#[0-9a-f]{6});/g)].map((m) => m[1]);
}

/** The custom properties the borders of the rule for exactly `selector` take their colours from. */
function borderColours(selector: string): string[] {
  const start = CSS.indexOf(`\n${selector} {`);
  assert.ok(start >= 0, `no rule for ${selector}`);
  const block = CSS.slice(start, CSS.indexOf("}", start));
  return [...block.matchAll(/\bborder(?:-color)?:[^;]*var\(--([a-z0-9-]+)\)/g)].map((m) => m[1]);
}

function luminance(hex: string): number {
  const channel = (offset: number) => {
    const value = parseInt(hex.slice(offset, offset + 2), 16) / 255;
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

function contrast(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

for (const [scheme, colours] of [["light", palette(0)], ["dark", palette(DARK)]] as const) {
  Deno.test(`styles (${scheme}) - text colours meet 4.5:1 on every background`, () => {
    const backgrounds = ["bg", "surface", "surface-2", "hover"];
    const pairs: Array<[string, string]> = [
      ...["text", "muted", "faint"].flatMap((text) =>
        backgrounds.map((background): [string, string] => [text, background])
      ),
      // Status text (the online badge, the banner, errors, links) on its own tint and on cards.
      ...["ok", "warn", "danger", "accent"].flatMap((tone): Array<[string, string]> => [
        [tone, `${tone}-soft`],
        [tone, "surface"],
      ]),
      ["accent-text", "accent"],
    ];
    for (const [text, background] of pairs) {
      const ratio = contrast(colours.get(text)!, colours.get(background)!);
      assert.ok(ratio >= 4.5, `--${text} on --${background}: ${ratio.toFixed(2)}:1`);
    }
  });
}

for (const [scheme, colours] of [["light", palette(0)], ["dark", palette(DARK)]] as const) {
  Deno.test(`styles (${scheme}) - text field edges meet 3:1 on the page and on cards`, () => {
    // Every field, the message box's frame, and a field marked invalid.
    const edges = ["input,\ntextarea", ".composer-box", 'input[aria-invalid="true"]']
      .flatMap(borderColours);
    assert.equal(edges.length, 3);
    for (const edge of edges) {
      // Fields are white (--surface) and sit on cards (--surface) or on the page (--bg).
      for (const background of ["surface", "bg"]) {
        const ratio = contrast(colours.get(edge)!, colours.get(background)!);
        assert.ok(ratio >= 3, `--${edge} on --${background}: ${ratio.toFixed(2)}:1`);
      }
    }
  });
}

Deno.test("styles - avatar initials meet 4.5:1 on every hue, light and dark", () => {
  const all = hues();
  assert.equal(all.length, 16);
  // The initials' colour: the first `.avatar` rule's, then the dark scheme's.
  const initials = [...CSS.matchAll(/\.avatar \{[^}]*?\bcolor: (#[0-9a-f]{3,6});/g)]
    .map((m) => m[1].length === 4 ? `#${[...m[1].slice(1)].map((c) => c + c).join("")}` : m[1]);
  assert.equal(initials.length, 2);
  for (const [index, hues] of [all.slice(0, 8), all.slice(8)].entries()) {
    for (const hue of hues) {
      const ratio = contrast(initials[index], hue);
      assert.ok(ratio >= 4.5, `${initials[index]} on ${hue}: ${ratio.toFixed(2)}:1`);
    }
  }
});
