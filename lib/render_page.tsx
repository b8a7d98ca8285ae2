import type { ComponentChildren } from "preact";
import { renderToString } from "preact-render-to-string";
import { assetUrl } from "./assets.ts";
import { IslandCollector, type IslandRecord, serializeIslands } from "./island.tsx";

/** What a page is made of. */
export interface PageOptions {
  title: string;
  body: ComponentChildren;
  status?: number;
}

/**
 * How pages may be cached: by the visitor's browser only, asking again each time. A room page
 * carries the visitor's name and author id, and a shared cache must not hand it to another.
 */
export const PAGE_CACHING = "private, no-cache";

/**
 * Renders a full HTML page. Islands rendered in the body have their props written once, as
 * escaped JSON, followed by the bundle that hydrates them; pages without islands ship no script.
 */
export function renderPage({ title, body, status = 200 }: PageOptions): Response {
  const islands: IslandRecord[] = [];
  const html = renderToString(
    <IslandCollector.Provider value={islands}>{body}</IslandCollector.Provider>,
  );
  const head = renderToString(
    <head>
      <meta charset="utf-8" />
      {/* A phone's keyboard shrinks the page, so the message box stays above it (Chrome 108+). */}
      <meta
        name="viewport"
        content="width=device-width, initial-scale=1, interactive-widget=resizes-content"
      />
      <meta name="color-scheme" content="light dark" />
      <title>{title}</title>
      <link rel="stylesheet" href={assetUrl("styles.css")} />
      <link rel="icon" href={assetUrl("favicon.svg")} type="image/svg+xml" />
      {islands.length > 0 && (
        <noscript>
          <link rel="stylesheet" href={assetUrl("noscript.css")} />
        </noscript>
      )}
    </head>,
  );
  const scripts = islands.length === 0 ? "" : [
    `<script type="application/json" id="parley-islands">${serializeIslands(islands)}</script>`,
    `<script type="module" src="${assetUrl("build/islands.js")}"></script>`,
  ].join("");
  return new Response(
    `<!DOCTYPE html><html lang="en">${head}<body>${html}${scripts}</body></html>`,
    {
      status,
      headers: { "content-type": "text/html; charset=utf-8", "cache-control": PAGE_CACHING },
    },
  );
}
