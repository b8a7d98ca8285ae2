import type { ComponentChildren } from "preact";

/** The frame around every page: the site header and the page's main content. */
export function Layout({ children, wide }: { children: ComponentChildren; wide?: boolean }) {
  return (
    <>
      <header class="site-header">
        <a class="brand" href="/">Parley</a>
      </header>
      <main class={wide ? "page page-wide" : "page"}>{children}</main>
    </>
  );
}
